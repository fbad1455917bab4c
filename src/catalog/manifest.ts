/**
 * The backup manifest: versioned, self-describing JSON stored at `.lifeboat/{job}/{id}.json`
 * (SPEC §3). Writing it is the commit point of a backup; reading it is how every command learns
 * what a backup holds. Never holds a secret: no passwords, no keys.
 *
 * Version 2 records a job's named sources (SPEC §5): per source its kind and identity, per
 * artifact the source it belongs to. A version-1 manifest (one PostgreSQL source, its identity at
 * `source`, `tool` and `dumpFormat` beside it) is read as version 2 with that one source named
 * `main` (DEFAULT_SOURCE), the name a job's `source:` shorthand gets too.
 */
import { LifeboatError } from '../util/errors.js';
import { isRelativeKey } from '../storages/storage.js';

export const MANIFEST_FORMAT = 'lifeboat-manifest';
export const MANIFEST_VERSION = 2;

/** The name of a job's one `source:`, and of the one source of a version-1 manifest. */
export const DEFAULT_SOURCE = 'main';

/** 'file': an SQLite database or a files source's tar; 'index': a files source's per-file index; 'namespace': a kubernetes source's YAML stream of one namespace. */
export type ArtifactRole = 'full' | 'globals' | 'database' | 'file' | 'index' | 'namespace';

export interface TableCount {
  schema: string;
  table: string;
  rows: number;
  /** true when counted with count(*) in the dump's snapshot, false when the planner's estimate. */
  exact: boolean;
}

export interface ArtifactRecord {
  key: string;
  /** The name of the source (a key of Manifest.sources) whose dump this is. */
  source: string;
  role: ArtifactRole;
  /** The database this artifact holds (role 'database'). */
  database?: string;
  /** Stored bytes: what sha256sum -c checks. */
  size: number;
  sha256: string;
  /** The dump's bytes before compression/encryption, when Lifeboat saw them (see README). */
  raw?: { size: number; sha256: string };
  tables?: TableCount[];
  /**
   * Roles a database dump names without creating them (owners and grantees; names only, never a
   * password). Absent in backups made before Lifeboat recorded them.
   */
  roles?: string[];
}

/** A database the run planned to dump but found dropped when its turn came. */
export interface MissingDatabase {
  /** The source it belongs to (absent in version 1: the one source). */
  source?: string;
  database: string;
  /** Why its dump failed, one line. */
  error: string;
}

/**
 * One source of a backup: its kind and identity (what the kind records: for PostgreSQL host,
 * port, mode, databases, server version, dump format), and the client tool that dumped it. The
 * fields beyond `kind` and `tool` belong to the kind (sources/<kind>/record.ts).
 */
export interface SourceRecord {
  kind: string;
  tool: { name: string; version: string };
  /** The databases (or other units) it holds, when the kind has such; list and status show them. */
  databases?: string[];
  [field: string]: unknown;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  /** The version it was written with (1 or 2); the object is always in version 2's shape. */
  version: number;
  id: string;
  job: string;
  /** Every source the backup holds, by name (at least one). */
  sources: Record<string, SourceRecord>;
  compression: { type: 'zstd' | 'gzip' | 'none'; level?: number };
  /** Public recipients only: never an identity. */
  encryption: { type: 'age'; recipients: string[] } | null;
  artifacts: ArtifactRecord[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  lifeboatVersion: string;
  /** Set by a run that backed up some databases but not all: not a good backup for retention. */
  partial?: boolean;
  /** The databases a partial run could not back up, and why. */
  missing?: MissingDatabase[];
}

export function parseManifest(text: string, key: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new LifeboatError('integrity', `read manifest ${key}: not valid JSON`);
  }
  const m = data as Partial<Manifest>;
  if (
    m?.format !== MANIFEST_FORMAT ||
    typeof m.version !== 'number' ||
    !Array.isArray(m.artifacts) ||
    !m.id ||
    !m.job
  ) {
    throw new LifeboatError('integrity', `read manifest ${key}: not a Lifeboat manifest`);
  }
  if (m.version > MANIFEST_VERSION) {
    throw new LifeboatError(
      'usage',
      `read manifest ${key}: written by a newer Lifeboat (manifest version ${m.version})`,
      {
        hint: 'upgrade Lifeboat to read this backup',
      },
    );
  }
  const upgraded = m.version < 2 ? fromVersion1(m as unknown as ManifestV1) : (m as Manifest);
  const problem = manifestProblem(upgraded);
  if (problem) throw new LifeboatError('integrity', `read manifest ${key}: ${problem}`);
  return upgraded;
}

/** What version 1 wrote: one source at `source`, its tool and dump format beside it. */
interface ManifestV1 extends Omit<Manifest, 'sources' | 'artifacts'> {
  source?: { kind: string; databases?: string[] } & Record<string, unknown>;
  tool?: SourceRecord['tool'];
  dumpFormat?: string;
  artifacts: Array<Omit<ArtifactRecord, 'source'>>;
}

/** A version-1 manifest in version 2's shape: its one source is named `main`. */
function fromVersion1(m: ManifestV1): Manifest {
  const { source, tool, dumpFormat, ...rest } = m;
  // Version 1 knew PostgreSQL only; it never checked `source`, so neither does its reading.
  const record = typeof source === 'object' && source !== null ? source : { kind: 'postgres' };
  return {
    ...rest,
    sources: { [DEFAULT_SOURCE]: { ...record, tool: tool!, dumpFormat } },
    artifacts: m.artifacts.map((a) => ({ ...a, source: DEFAULT_SOURCE })),
    ...(Array.isArray(m.missing)
      ? { missing: m.missing.map((x) => ({ ...x, source: DEFAULT_SOURCE })) }
      : {}),
  };
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Why a manifest that parsed cannot describe a backup, or undefined. Every command relies on these
 * fields (restore reads the artifacts, retention the start time, prune deletes the keys), so a
 * manifest failing here is invalid: listed as such and never restored, counted or pruned.
 */
function manifestProblem(m: Manifest): string | undefined {
  if (typeof m.id !== 'string' || typeof m.job !== 'string') return 'id and job must be strings';
  const sources = m.sources as unknown;
  if (typeof sources !== 'object' || sources === null || Object.keys(sources).length === 0)
    return 'it names no source';
  for (const [name, record] of Object.entries(sources)) {
    if (typeof (record as Partial<SourceRecord> | null)?.kind !== 'string')
      return `source ${JSON.stringify(name)}: kind must be a string`;
  }
  // No artifacts: nothing to restore, so not a backup (it must never fill a retention slot).
  if (m.artifacts.length === 0) return 'it lists no artifacts, so it is not a backup';
  for (const a of m.artifacts as unknown[]) {
    const r = a as Partial<ArtifactRecord> | null;
    const where = `artifact ${JSON.stringify(typeof r?.key === 'string' ? r.key : a)}`;
    if (typeof r?.key !== 'string' || !isArtifactKey(r.key)) return `${where}: not a valid object key`;
    if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0)
      return `${where}: size must be a whole number`;
    if (typeof r.sha256 !== 'string' || !SHA256.test(r.sha256))
      return `${where}: sha256 must be 64 hex digits`;
    if (typeof r.source !== 'string' || !Object.hasOwn(sources, r.source))
      return `${where}: source must name one of the manifest's sources`;
  }
  if (typeof m.startedAt !== 'string' || Number.isNaN(Date.parse(m.startedAt)))
    return `startedAt ${JSON.stringify(m.startedAt)} is not a time`;
  if (m.partial !== undefined && typeof m.partial !== 'boolean') return 'partial must be true or false';
  return undefined;
}

/**
 * A relative key outside the catalog: a manifest must never make prune delete another manifest.
 * An empty key, a leading or trailing `/` and `//` all leave an empty segment, refused below.
 */
function isArtifactKey(key: string): boolean {
  return !key.startsWith('.lifeboat/') && isRelativeKey(key);
}

/**
 * One source's part of a backup: what the restore and drill of its kind read. `source` is the
 * kind's record, `artifacts` only this source's.
 */
export interface SourceBackup<R extends SourceRecord = SourceRecord> extends Pick<
  Manifest,
  'id' | 'job' | 'compression' | 'encryption' | 'startedAt' | 'finishedAt'
> {
  /** The source's name in the job. */
  name: string;
  source: R;
  artifacts: ArtifactRecord[];
}

/** The part of `m` that source `name` backed up; undefined when it has no such source. */
export function sourceBackup(m: Manifest, name: string): SourceBackup | undefined {
  const source = Object.hasOwn(m.sources, name) ? m.sources[name] : undefined;
  if (!source) return undefined;
  const { id, job, compression, encryption, startedAt, finishedAt } = m;
  const artifacts = m.artifacts.filter((a) => a.source === name);
  return { id, job, compression, encryption, startedAt, finishedAt, name, source, artifacts };
}

/**
 * The source a restore reads: the one named, else the backup's only one. A backup of several
 * sources needs the name (a usage error lists them).
 */
export function chooseSource(m: Manifest, name: string | undefined): SourceBackup {
  const names = Object.keys(m.sources);
  if (name === undefined && names.length === 1) return sourceBackup(m, names[0]!)!;
  const part = name === undefined ? undefined : sourceBackup(m, name);
  if (part) return part;
  throw new LifeboatError(
    'usage',
    name === undefined
      ? `restore ${m.job} ${m.id}: the backup holds ${names.length} sources (${names.join(', ')}); name one with --source`
      : `restore ${m.job} ${m.id}: no source named "${name}" (the backup holds ${names.join(', ')})`,
  );
}

/** Every database the backup's sources hold, in order (sources that record none add nothing). */
export function backupDatabases(m: Pick<Manifest, 'sources'>): string[] {
  return Object.values(m.sources).flatMap((s) => (Array.isArray(s.databases) ? s.databases : []));
}

/** A string field of the backup's first source (e.g. a PostgreSQL source's mode), when it has one. */
export function firstSourceField(m: Pick<Manifest, 'sources'>, field: string): string | undefined {
  const value = Object.values(m.sources)[0]?.[field];
  return typeof value === 'string' ? value : undefined;
}

/** Per source, what list, status and drill reports show: its kind and databases. */
export function sourceSummaries(
  m: Pick<Manifest, 'sources'>,
): Record<string, { kind: string; databases?: string[] }> {
  return Object.fromEntries(
    Object.entries(m.sources).map(([name, r]) => [
      name,
      { kind: r.kind, ...(Array.isArray(r.databases) ? { databases: r.databases } : {}) },
    ]),
  );
}

/** Every role the backup's dumps name; tolerant of manifests without the field or with a malformed one. */
export function referencedRoles(m: Pick<Manifest, 'artifacts'>): string[] {
  const names = new Set<string>();
  for (const a of m.artifacts) {
    if (!Array.isArray(a.roles)) continue;
    for (const r of a.roles) if (typeof r === 'string' && r) names.add(r);
  }
  return [...names].sort();
}

/** A backup some planned database is missing from. Absent fields (older manifests) mean complete. */
export function isPartial(m: Pick<Manifest, 'partial' | 'missing'>): boolean {
  return m.partial === true || (Array.isArray(m.missing) && m.missing.length > 0);
}

export function totalSize(m: Pick<Manifest, 'artifacts'>): number {
  return m.artifacts.reduce((sum, a) => sum + a.size, 0);
}
