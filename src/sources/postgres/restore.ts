/**
 * Restores a PostgreSQL source of a committed backup into a PostgreSQL server (its kind's
 * `restore`): checksums first (nothing is touched if any object is bad), then target checks (a non-empty database is refused unless --clean or --force),
 * then globals and databases in order, each through psql (ON_ERROR_STOP) or pg_restore.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { referencedRoles, type ArtifactRecord } from '../../catalog/manifest.js';
import {
  decodeToFile,
  streamIntoClient,
  type ClientCommand,
  type ExpectedBytes,
} from '../../catalog/artifact-stream.js';
import { decodingChain, type CodecChain } from '../../codecs/chain.js';
import type { SourceRestoreOptions, SourceRestoreResult } from '../kind.js';
import type { PostgresBackup } from './record.js';
import { findPgTool } from './binaries.js';
import {
  createDatabase,
  createMissingRoles,
  databaseExists,
  missingRoles,
  dropDatabase,
  isDatabaseEmpty,
  userDatabases,
} from './target.js';
import {
  databaseOf,
  describe,
  serverVersion,
  toolConnection,
  withClient,
  withDatabase,
} from './connection.js';
import type { Storage } from '../../storages/storage.js';
import { startChild } from '../../util/child.js';
import { LifeboatError } from '../../util/errors.js';

/** What fails psql or pg_restore even when it exits 0 (psql without ON_ERROR_STOP, say). */
const CLIENT_FATAL = /^psql:.*(ERROR|FATAL):|^pg_restore: error:|^FATAL:/;

interface Step {
  artifact: ArtifactRecord;
  /** Database psql/pg_restore connects to. */
  database: string;
}

/** Decides, before touching anything, which database each artifact goes to and what must be dropped or created. */
async function prepareTarget(manifest: PostgresBackup, opts: SourceRestoreOptions, maintenanceDb: string) {
  const targetDb = databaseOf(opts.to);
  const steps: Step[] = [];
  const mustExist: string[] = [];
  if (manifest.source.mode === 'database') {
    if (!targetDb) {
      throw new LifeboatError(
        'usage',
        `restore ${manifest.id}: --to must name the target database (postgres://host/dbname)`,
      );
    }
    steps.push({ artifact: manifest.artifacts[0]!, database: targetDb });
    mustExist.push(targetDb);
  } else {
    for (const artifact of manifest.artifacts) {
      if (artifact.role === 'database') {
        steps.push({ artifact, database: artifact.database! });
        mustExist.push(artifact.database!);
      } else {
        steps.push({ artifact, database: maintenanceDb });
      }
    }
  }
  const plan = { drop: [] as string[], create: [] as string[], roles: [] as string[], steps };
  await withClient(withDatabase(opts.to, maintenanceDb), async (c) => {
    // A single-database dump names roles it does not create (the globals hold those).
    if (manifest.source.mode === 'database') {
      const missing = await missingRoles(c, referencedRoles(manifest));
      if (missing.length && !opts.createRoles) {
        throw new LifeboatError(
          'failed',
          `restore ${manifest.id}: the target lacks role${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that the backup's objects are owned by or granted to`,
          { hint: 'add --create-roles to create them (NOLOGIN), or create them first' },
        );
      }
      plan.roles = missing;
    }
    if (manifest.source.mode === 'dumpall') {
      // pg_dumpall's script runs CREATE DATABASE for every database but postgres, which it only
      // fills: an existing one makes it stop — after it has already changed roles and filled
      // postgres — so every conflict is found here, before anything is touched.
      const present = (await userDatabases(c)).filter((d) => manifest.source.databases.includes(d));
      const postgresBusy =
        manifest.source.databases.includes('postgres') &&
        (await databaseExists(c, 'postgres')) &&
        !(await withClient(withDatabase(opts.to, 'postgres'), isDatabaseEmpty));
      const held = [...present, ...(postgresBusy ? ['postgres'] : [])].join(', ');
      if (present.length && !opts.clean) {
        throw new LifeboatError(
          'failed',
          `restore ${manifest.id}: target already holds ${held}${opts.force ? '; a dumpall backup creates its databases itself, so --force cannot restore over them' : ''}`,
          { hint: 'add --clean to drop them first, or restore into a server that does not have them' },
        );
      }
      if (postgresBusy && !opts.clean && !opts.force) {
        throw new LifeboatError('failed', `restore ${manifest.id}: target already holds ${held}`, {
          hint: 'add --clean to drop and recreate it, or --force to restore over it',
        });
      }
      if (opts.clean) {
        plan.drop.push(...present);
        if (postgresBusy) {
          plan.drop.push('postgres');
          plan.create.push('postgres');
        }
        // The script starts in a database that is still there then.
        if (present.includes(maintenanceDb)) steps[0]!.database = 'postgres';
      }
      return;
    }
    for (const db of mustExist) {
      if (!(await databaseExists(c, db))) {
        if (!opts.create) {
          throw new LifeboatError(
            'failed',
            `restore ${manifest.id}: database "${db}" does not exist on the target`,
            {
              hint: 'add --create to create it',
            },
          );
        }
        plan.create.push(db);
        continue;
      }
      const empty = await withClient(withDatabase(opts.to, db), isDatabaseEmpty);
      if (empty) continue;
      if (opts.clean) {
        plan.drop.push(db);
        plan.create.push(db);
      } else if (!opts.force) {
        throw new LifeboatError(
          'failed',
          `restore ${manifest.id}: database "${db}" on the target is not empty`,
          {
            hint: 'add --clean to drop and recreate it, or --force to restore over it',
          },
        );
      }
    }
  });
  return plan;
}

export async function restorePostgres(
  storage: Storage,
  manifest: PostgresBackup,
  opts: SourceRestoreOptions,
): Promise<SourceRestoreResult> {
  const started = Date.now();
  const signal = opts.signal ?? new AbortController().signal;
  // A missing identity is a config error, reported before the target is even looked at.
  const codecs = decodingChain(manifest, opts.keys);
  // Lifeboat's own statements run in the URL's database unless that is one being replaced.
  const named = databaseOf(opts.to);
  const maintenanceDb = manifest.source.mode === 'database' || !named ? 'postgres' : named;
  const inspectTarget = async () => {
    const plan = await prepareTarget(manifest, opts, maintenanceDb);
    const server = await withClient(withDatabase(opts.to, maintenanceDb), serverVersion);
    const psql = await findPgTool('psql', { binDir: opts.binDir });
    const pgRestore =
      manifest.source.dumpFormat === 'custom'
        ? await findPgTool('pg_restore', {
            binDir: opts.binDir,
            minMajor: Math.max(server.major, Number.parseInt(manifest.source.tool.version, 10)),
          })
        : undefined;
    return { plan, psql, pgRestore };
  };
  // Reading every byte for the checksums overlaps the target checks, which only read; nothing on
  // the target changes until both have passed, and a bad checksum is the error reported first.
  const [verified, inspected] = await Promise.allSettled([opts.verify?.(), inspectTarget()]);
  if (verified.status === 'rejected') throw verified.reason;
  if (inspected.status === 'rejected') throw inspected.reason;
  const { plan, psql, pgRestore } = inspected.value;
  const createdRoles: string[] = [];

  try {
    if (plan.roles.length) {
      await withClient(withDatabase(opts.to, maintenanceDb), async (c) => {
        const created = await createMissingRoles(c, plan.roles);
        createdRoles.push(...created);
        for (const role of created) opts.log?.(`create role ${role} NOLOGIN (--create-roles)`);
      });
    }
    for (const db of new Set([...plan.drop, ...plan.create])) {
      // A database cannot be dropped over its own connection: replace the maintenance one from template1.
      const via = db === maintenanceDb || plan.drop.includes(maintenanceDb) ? 'template1' : maintenanceDb;
      await withClient(withDatabase(opts.to, via), async (c) => {
        if (plan.drop.includes(db)) {
          opts.log?.(`drop database ${db} (--clean)`);
          await dropDatabase(c, db);
        }
        if (plan.create.includes(db)) await createDatabase(c, db);
      });
    }
    let bytes = 0;
    for (const step of plan.steps) {
      const { conninfo, env } = toolConnection(withDatabase(opts.to, step.database));
      const what = step.artifact.database ? `database ${step.artifact.database}` : step.artifact.role;
      opts.log?.(
        `restore ${what} from ${step.artifact.key} into ${describe(withDatabase(opts.to, step.database)).text}`,
      );
      const onBytes = opts.onBytes && ((n: number) => opts.onBytes!(step.artifact.key, n));
      // A signed manifest vouches for these bytes: the ones streamed are checked against it too.
      const expected = opts.signed ? step.artifact : undefined;
      if (pgRestore && step.artifact.role === 'database') {
        const client = {
          path: pgRestore.path,
          args: ['--exit-on-error', '--dbname', conninfo],
          env,
          label: `pg_restore ${what}`,
          fatal: CLIENT_FATAL,
        };
        const jobs = opts.jobs ?? 1;
        if (jobs > 1) {
          await restoreParallel(
            storage,
            codecs,
            step.artifact,
            { ...client, args: [...client.args, `--jobs=${jobs}`] },
            signal,
            expected,
          );
        } else {
          await streamIntoClient(storage, step.artifact.key, codecs, client, {
            signal,
            onBytes,
            expected,
          });
        }
      } else {
        const client = {
          path: psql.path,
          args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname', conninfo],
          env,
          label: `psql ${what}`,
          fatal: CLIENT_FATAL,
        };
        await streamIntoClient(storage, step.artifact.key, codecs, client, {
          signal,
          onBytes,
          expected,
        });
      }
      bytes += step.artifact.size;
    }
    opts.log?.('restore OK');
    const databases = manifest.source.mode === 'database' ? [named!] : manifest.source.databases;
    return { databases, createdRoles, durationMs: Date.now() - started, bytes };
  } catch (err) {
    opts.log?.('restore FAILED');
    throw err;
  }
}

/** pg_restore --jobs needs a seekable file: decode into a temp file first, then restore from it. */
async function restoreParallel(
  storage: Storage,
  codecs: CodecChain,
  artifact: ArtifactRecord,
  client: ClientCommand,
  signal: AbortSignal,
  expected: ExpectedBytes | undefined,
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-restore-'));
  try {
    const file = path.join(dir, 'archive.dump');
    await decodeToFile(storage, codecs, artifact.key, file, signal, expected);
    await startChild(client.path, [...client.args, file], {
      label: client.label,
      env: client.env,
      stdout: 'ignore',
      signal,
      fatal: client.fatal,
      ownGroup: true, // its --jobs workers go down with it
    }).done;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
