/**
 * The composition root: turns validated config (or command-line URLs) into storages, sources and
 * backup jobs. The only place that knows which implementation backs which `type`.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_LAYOUT, validateTemplate } from '../catalog/layout.js';
import { DEFAULT_SOURCE } from '../catalog/manifest.js';
import type { CodecKeys } from '../codecs/chain.js';
import { LifeboatError } from '../util/errors.js';
import type { Redactor } from '../util/redact.js';
import { createPostgresSource } from '../sources/postgres/postgres-source.js';
import { sourceKind } from '../sources/registry.js';
import type { Source } from '../sources/source.js';
import { createLocalStorage } from '../storages/local.js';
import { createLazyS3Storage } from '../storages/s3/lazy.js';
import { s3OptionsFromUrl } from '../storages/s3/url.js';
import type { Storage } from '../storages/storage.js';
import type { Config, JobConfig, PostgresSourceConfig, SourceConfig, StorageConfig } from './schema.js';
import { resolvedSource } from './unresolved.js';

export function buildStorage(name: string, cfg: StorageConfig): Storage {
  switch (cfg.type) {
    case 'local':
      return createLocalStorage({ name, path: cfg.path });
    case 's3': {
      if (Boolean(cfg.accessKeyId) !== Boolean(cfg.secretAccessKey)) {
        throw new LifeboatError(
          'config',
          `storages.${name}: set both accessKeyId and secretAccessKey, or neither`,
          {
            hint: 'with neither, credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role',
          },
        );
      }
      const { partSizeMiB, type: _type, ...s3 } = cfg;
      return createLazyS3Storage({ name, ...s3, partSize: partSizeMiB && partSizeMiB * 1024 * 1024 });
    }
  }
}

/** Where a job's source sits in the config: `jobs.app.source` (the one, `main`) or `jobs.app.sources.db`. */
export function sourcePath(job: string, cfg: JobConfig, source: string): string {
  const names = Object.keys(cfg.sources);
  return names.length === 1 && source === DEFAULT_SOURCE
    ? `jobs.${job}.source`
    : `jobs.${job}.sources.${source}`;
}

/** The source of a config block, by its kind (sources/registry.ts); `where` names it in errors. */
export function buildSource(where: string, cfg: SourceConfig): Source {
  resolvedSource(cfg);
  const kind = sourceKind(cfg.type);
  if (!kind)
    throw new LifeboatError(
      'config',
      `${where}.type: ${cfg.type} sources are not available in this version yet`,
    );
  kind.validate?.(cfg, where);
  return kind.create(cfg);
}

/**
 * The job as a backup run takes it (core/backup.ts's BackupJob, matched by shape: config sits
 * below core and names none of its types).
 */
export function buildJob(name: string, job: JobConfig, storages: Record<string, Storage>) {
  if (job.layout !== undefined) validateTemplate(job.layout, `jobs.${name}.layout`);
  if (job.name !== undefined) validateTemplate(job.name, `jobs.${name}.name`, 'name');
  const plaintext = plaintextPolicy(name, job);
  if (plaintext?.refused) throw new LifeboatError('config', plaintext.line, { hint: plaintext.hint });
  return {
    name,
    sources: Object.entries(job.sources).map(([source, cfg]) => ({
      name: source,
      source: buildSource(sourcePath(name, job, source), cfg),
    })),
    storages: job.storages.map((s) => storages[s]!),
    compression: job.compression,
    ...(job.encryption
      ? {
          encryption: { type: 'age' as const, recipients: job.encryption.recipients },
          keys: {
            identityFile: job.encryption.identityFile,
            setting: `jobs.${name}.encryption.identityFile`,
          },
        }
      : {}),
    ...(plaintext ? { warnings: [plaintext.line] } : {}),
    layout: job.layout ?? DEFAULT_LAYOUT,
    nameTemplate: job.name,
  };
}

/**
 * A source that holds secrets (marked `sensitive: true`, or by its kind: a kubernetes source
 * listing `Secret`) must not be stored in plaintext: a job without encryption is refused, unless
 * every such source says allowPlaintext, which every run then warns about. undefined when the job
 * is encrypted or no source holds secrets.
 */
export function plaintextPolicy(
  name: string,
  job: JobConfig,
): { refused: boolean; line: string; hint?: string } | undefined {
  if (job.encryption) return undefined;
  const secretive = Object.entries(job.sources).flatMap(([source, cfg]) => {
    const s = cfg as { sensitive?: boolean; allowPlaintext?: boolean };
    const kind = sourceKind(cfg.type)?.holdsSecrets?.(cfg);
    const [why, short] = s.sensitive ? ['is marked sensitive: true', 'is sensitive'] : [kind, kind];
    return why ? [{ source, why, short, allowed: s.allowPlaintext === true }] : [];
  });
  if (secretive.length === 0) return undefined;
  const several = Object.keys(job.sources).length > 1;
  const what = (list: typeof secretive, field: 'why' | 'short') =>
    list.map((s) => `the source${several ? ` ${s.source}` : ''} ${s[field]}`).join(', ');
  const refused = secretive.filter((s) => !s.allowed);
  if (refused.length === 0)
    return {
      refused: false,
      line: `jobs.${name}: ${what(secretive, 'short')} and its backups are NOT encrypted (allowPlaintext: true)`,
    };
  return {
    refused: true,
    line: `jobs.${name}.encryption: ${what(refused, 'why')}, so its backups must be encrypted`,
    hint: 'add encryption: { type: age, recipients: [age1…] }, or allowPlaintext: true on the source to store it unencrypted',
  };
}

/** What restores and drills of a job's backups decrypt with (an identity file from the config, or the environment). */
export function codecKeysOf(config: Config | undefined, job: string): CodecKeys {
  return {
    identityFile: config?.jobs[job]?.encryption?.identityFile,
    setting: `jobs.${job}.encryption.identityFile`,
  };
}

export function buildStorages(config: Config): Record<string, Storage> {
  return Object.fromEntries(
    Object.entries(config.storages).map(([name, cfg]) => [name, buildStorage(name, cfg)]),
  );
}

/**
 * A storage named on the command line: a configured storage's name, a directory, or an
 * s3://bucket/prefix URL (credentials and endpoint from the standard AWS_* variables).
 */
export function storageFromArg(arg: string, config: Config | undefined): Storage {
  if (config?.storages[arg]) return buildStorage(arg, config.storages[arg]);
  if (/^s3:\/\//.test(arg)) return createLazyS3Storage(s3OptionsFromUrl(arg, process.env));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
    throw new LifeboatError(
      'usage',
      `open ${arg}: expected a directory, s3://bucket/prefix, or a storage name from the config`,
    );
  }
  return createLocalStorage({ name: path.resolve(arg), path: arg });
}

/**
 * A storage to read backups from (list, verify, restore, drill --from). Unlike a backup target,
 * a directory that does not exist is a mistyped path, not an empty storage: a usage error.
 */
export async function readableStorageFromArg(arg: string, config: Config | undefined): Promise<Storage> {
  const storage = storageFromArg(arg, config);
  if (config?.storages[arg] || /^s3:\/\//.test(arg)) return storage;
  const info = await stat(arg).catch((err: NodeJS.ErrnoException) => err.code ?? 'unreadable');
  if (typeof info === 'string' || !info.isDirectory()) {
    const why = info === 'ENOENT' ? 'no such directory' : typeof info === 'string' ? info : 'not a directory';
    throw new LifeboatError('usage', `open ${arg}: ${why}`, {
      hint: `--from takes a directory, s3://bucket/prefix, or a storage name from the config${config ? ` (${Object.keys(config.storages).join(', ') || 'none'})` : ''}`,
    });
  }
  return storage;
}

/** A one-off job from --source URL --to DEST. */
export function oneOffJob(
  opts: {
    source: string;
    to: string;
    job?: string;
    format?: string;
    compression?: string;
    databases?: string;
    dumpall?: boolean;
  },
  redactor: Redactor,
) {
  redactor.addUrl(opts.source);
  if (!/^postgres(ql)?:\/\//.test(opts.source)) {
    throw new LifeboatError('usage', `--source: expected a postgres:// URL`, {
      hint: 'e.g. --source postgres://user@host:5432/app',
    });
  }
  // Checked by hand rather than by the config schema, so a one-off backup starts without loading it.
  const format = opts.format ?? 'plain';
  const databases =
    opts.databases === undefined || opts.databases === 'all'
      ? opts.databases
      : opts.databases.split(',').map((d) => d.trim());
  if (!['plain', 'custom'].includes(format) || (Array.isArray(databases) && databases.some((d) => !d)))
    throw new LifeboatError('usage', `--format/--databases: expected plain or custom, and database names`);
  const source: PostgresSourceConfig = {
    type: 'postgres',
    url: opts.source,
    format: format as PostgresSourceConfig['format'],
    ...(databases ? { databases } : {}),
    exclude: [],
    dumpall: Boolean(opts.dumpall),
  };
  if (source.dumpall && source.format === 'custom')
    throw new LifeboatError('usage', `--dumpall writes plain SQL only; drop --format custom`);
  const compression = opts.compression ?? 'zstd';
  if (!['zstd', 'gzip', 'none'].includes(compression))
    throw new LifeboatError('usage', `--compression: expected zstd, gzip or none`);
  const name = opts.job ?? 'postgres';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw new LifeboatError('usage', `--job: expected letters, digits, "_", "." or "-"`);
  return {
    name,
    sources: [{ name: DEFAULT_SOURCE, source: createPostgresSource(source) }],
    storages: [storageFromArg(opts.to, undefined)],
    compression: { type: compression as 'zstd' | 'gzip' | 'none' },
    layout: DEFAULT_LAYOUT,
  };
}

/**
 * A job's retention policy (core/retention.ts's RetentionPolicy, by shape) and the time zone its
 * calendar buckets follow (retention's, else the schedule's).
 */
export function policyOf(job: JobConfig) {
  const { timezone, ...policy } = job.retention ?? { minKeep: 1 };
  return { policy, timeZone: timezone ?? job.schedule?.timezone ?? 'UTC' };
}

/**
 * What a drill needs of each of a job's sources: its URL (so a scratch server that is a source is
 * refused) and binDir. A source whose variables are missing fails here, as before a drill starts.
 */
export function drillSettingsOf(job: JobConfig): Record<string, { url?: string; binDir?: string }> {
  return Object.fromEntries(
    Object.entries(job.sources).map(([name, cfg]) => {
      const source = resolvedSource(cfg);
      return [name, sourceKind(source.type)?.drillSettings?.(source) ?? {}];
    }),
  );
}
