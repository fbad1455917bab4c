/**
 * The drill of one PostgreSQL source of a backup (its kind's `drill`): open a scratch server (the
 * context's), restore the source into it, run the checks, and remove the scratch server (always,
 * also on failure or abort). Checksums were verified by the caller (drill/run.ts) for the whole
 * backup. Never throws for a failed drill: the result says where it stopped and why.
 */
import { referencedRoles } from '../../catalog/manifest.js';
import { oneLine } from '../../util/errors.js';
import type { Scratch } from '../drill-scratch.js';
import type { SourceDrillContext, SourceDrillResult } from '../kind.js';
import { runChecks } from './drill-checks.js';
import type { PostgresBackup } from './record.js';
import { restorePostgres } from './restore.js';
import { withScratchClient } from './scratch-query.js';
import { createMissingRoles } from './target.js';

type DrillOptions = SourceDrillContext & { part: PostgresBackup };

/** Databases a backup puts on the server it is restored into. */
export function restoredDatabases(part: PostgresBackup): string[] {
  return part.source.mode === 'database' ? [part.source.databases[0]!] : part.source.databases;
}

/** A single-database dump names roles it does not create; say how to give the scratch server them. */
function roleHint(part: PostgresBackup, err: unknown): string | undefined {
  const role = /role "((?:[^"]|"")+)" does not exist/.exec(oneLine(err))?.[1];
  if (!role || part.source.mode !== 'database') return undefined;
  return (
    `a single-database backup carries no roles: add "${role}" to jobs.${part.job}.drill.scratch.roles, ` +
    `or back up with a databases: list (even [${part.source.databases[0]}]) so the globals (roles) come along`
  );
}

/**
 * A single-database backup carries no roles: the scratch server gets the ones the backup recorded
 * (owners, grantees) and any listed in drill.scratch.roles, NOLOGIN, before the restore.
 */
async function createRoles(scratch: Scratch, opts: DrillOptions): Promise<string[]> {
  const recorded = referencedRoles(opts.part);
  const extra = (opts.drill?.scratch?.roles ?? []).filter((r) => !recorded.includes(r));
  if (!recorded.length && !extra.length) return [];
  return withScratchClient(scratch.url('postgres'), opts.signal, async (c) => {
    const created = await createMissingRoles(c, [...recorded, ...extra]);
    for (const role of created)
      opts.log(
        `scratch: create role ${role} NOLOGIN (${recorded.includes(role) ? 'named by the backup' : 'drill.scratch.roles'})`,
      );
    return created;
  });
}

export async function drillPostgres(opts: DrillOptions): Promise<SourceDrillResult> {
  const { storage, part, signal, log } = opts;
  const timings = { scratchMs: 0, restoreMs: 0, checksMs: 0 };
  const timed = async <T>(key: keyof typeof timings, fn: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await fn();
    } finally {
      timings[key] = Date.now() - start;
    }
  };
  const databases = restoredDatabases(part);
  const result: SourceDrillResult = {
    stage: 'scratch',
    scratch: null,
    checks: [],
    bytes: 0,
    restored: false,
    cleanup: [],
    timings,
  };
  let scratch: Scratch | undefined;
  try {
    signal.throwIfAborted();
    scratch = await timed('scratchMs', () => opts.openScratch(part));
    const ready = scratch;
    result.scratch = { kind: ready.kind, where: ready.where, serverVersion: ready.serverVersion };
    await ready.prepare(databases);
    if (part.source.mode === 'database') await createRoles(ready, opts);

    result.stage = 'restore';
    let marked = false;
    const restored = await timed('restoreMs', () =>
      restorePostgres(storage, part, {
        to: ready.url(part.source.mode === 'database' ? databases[0]! : 'postgres'),
        create: true,
        verified: true,
        keys: opts.keys,
        binDir: opts.binDir,
        signal,
        log: (line) => {
          if (line === 'restore FAILED') marked = true;
          log(line);
        },
      }).catch((err: unknown) => {
        // restorePostgres marks failures of the restore proper, not of its preparations.
        if (!marked) log('restore FAILED');
        throw err;
      }),
    );
    result.bytes = restored.bytes;
    result.restored = true;

    result.stage = 'checks';
    signal.throwIfAborted();
    result.checks = await timed('checksMs', () =>
      runChecks({
        scratch: ready,
        manifest: part,
        restored: databases,
        drill: opts.drill,
        judge: opts.judge,
        judgeRows: opts.judgeRows,
        signal,
      }),
    );
  } catch (err) {
    result.error = err;
    result.hint = roleHint(part, err);
  } finally {
    if (scratch) {
      result.cleanup = await scratch.dispose();
      for (const problem of result.cleanup) opts.warn(`scratch cleanup: ${problem}`);
    }
  }
  return result;
}
