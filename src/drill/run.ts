/**
 * One restore drill, start to finish: verify the backup's checksums, start (or borrow) a scratch
 * server, restore into it, run the checks, remove the scratch server (always, also on failure or abort),
 * and store the report beside the backup. Prints the SPEC's markers through `log`: `sha256 OK`,
 * `restore OK`, `smoke OK`, or `sha256 mismatch: <object>`, `restore FAILED`, `smoke FAILED: <check>`.
 * Never throws for a failed drill: the outcome carries the report and what stopped it.
 */
import { storeDrillReport } from '../catalog/catalog.js';
import { referencedRoles, totalSize, type Manifest } from '../catalog/manifest.js';
import type { DrillConfig } from '../config/schema.js';
import { isLifeboatError, LifeboatError, oneLine } from '../util/errors.js';
import { restoreBackup, verifyBeforeRestore } from '../core/restore.js';
import { LIFEBOAT_VERSION } from '../util/version.js';
import type { Storage } from '../storages/storage.js';
import { runChecks } from './checks.js';
import { createMissingRoles } from '../sources/postgres/target.js';
import { withScratchClient } from './query.js';
import {
  DRILL_REPORT_FORMAT,
  DRILL_REPORT_VERSION,
  drillTimestamp,
  type CheckResult,
  type DrillReport,
  type DrillStage,
} from '../catalog/drill-report.js';
import { openScratch, type Scratch } from './scratch.js';

export interface DrillOptions {
  storage: Storage;
  manifest: Manifest;
  drill?: DrillConfig;
  /** The job's source URL: only to refuse a scratch URL that points at it. Never connected to. */
  sourceUrl?: string;
  /** The caller has checked the checksums (choosing among copies): not read twice. */
  verified?: boolean;
  /** The job's source binDir, searched first for server and client programs. */
  binDir?: string;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Problems that do not fail the drill (scratch cleanup); default: log. */
  warn?: (line: string) => void;
  onBytes?: (key: string, read: number) => void;
  now?: () => Date;
}

export interface DrillOutcome {
  /** The report as stored (or as it would have been, when storing failed). */
  report: DrillReport;
  /** Where the report was stored; undefined when storing it failed. */
  key?: string;
  /** What stopped the drill (its code gives the exit code); undefined when it ran all its checks. */
  error?: unknown;
}

/** Databases a backup puts on the server it is restored into. */
export function restoredDatabases(manifest: Manifest): string[] {
  return manifest.source.mode === 'database' ? [manifest.source.databases[0]!] : manifest.source.databases;
}

/** A single-database dump names roles it does not create; say how to give the scratch server them. */
function roleHint(manifest: Manifest, err: unknown): string | undefined {
  const role = /role "((?:[^"]|"")+)" does not exist/.exec(oneLine(err))?.[1];
  if (!role || manifest.source.mode !== 'database') return undefined;
  return (
    `a single-database backup carries no roles: add "${role}" to jobs.${manifest.job}.drill.scratch.roles, ` +
    `or back up with a databases: list (even [${manifest.source.databases[0]}]) so the globals (roles) come along`
  );
}

/**
 * A single-database backup carries no roles: the scratch server gets the ones the backup recorded
 * (owners, grantees) and any listed in drill.scratch.roles, NOLOGIN, before the restore.
 */
async function createRoles(scratch: Scratch, manifest: Manifest, opts: DrillOptions): Promise<string[]> {
  const recorded = referencedRoles(manifest);
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

export async function runDrill(opts: DrillOptions): Promise<DrillOutcome> {
  const { storage, manifest, signal, log } = opts;
  const started = (opts.now ?? (() => new Date()))();
  const t0 = Date.now();
  const timings = { scratchMs: 0, verifyMs: 0, restoreMs: 0, checksMs: 0, totalMs: 0 };
  const timed = async <T>(key: keyof typeof timings, fn: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await fn();
    } finally {
      timings[key] = Date.now() - start;
    }
  };
  const databases = restoredDatabases(manifest);
  let stage: DrillStage = 'verify';
  let scratch: Scratch | undefined;
  let checks: CheckResult[] = [];
  let bytes = 0;
  let restored = false;
  let failure: DrillReport['failure'];
  let error: unknown;
  let cleanup: string[] = [];

  try {
    // Checksums first: a backup with a bad object provisions nothing and restores nothing.
    if (!opts.verified)
      await timed('verifyMs', () =>
        verifyBeforeRestore(storage, manifest, { signal, log, onBytes: opts.onBytes }),
      );
    stage = 'scratch';
    signal.throwIfAborted();
    scratch = await timed('scratchMs', () =>
      openScratch({
        manifest,
        scratch: opts.drill?.scratch,
        sourceUrl: opts.sourceUrl,
        binDir: opts.binDir,
        log,
      }),
    );
    const ready = scratch;
    await ready.prepare(databases);
    if (manifest.source.mode === 'database') await createRoles(ready, manifest, opts);

    stage = 'restore';
    let marked = false;
    const result = await timed('restoreMs', () =>
      restoreBackup(storage, manifest, {
        to: ready.url(manifest.source.mode === 'database' ? databases[0]! : 'postgres'),
        create: true,
        verified: true,
        binDir: opts.binDir,
        signal,
        log: (line) => {
          if (line === 'restore FAILED') marked = true;
          log(line);
        },
      }).catch((err: unknown) => {
        // restoreBackup marks failures of the restore proper, not of its preparations.
        if (!marked) log('restore FAILED');
        throw err;
      }),
    );
    bytes = result.bytes;
    restored = true;

    stage = 'checks';
    signal.throwIfAborted();
    checks = await timed('checksMs', () =>
      runChecks({ scratch: ready, manifest, restored: databases, drill: opts.drill, signal }),
    );
    const bad = checks.filter((c) => !c.ok);
    if (bad.length === 0) log('smoke OK');
    for (const c of bad) log(`smoke FAILED: ${c.name}`);
    if (bad.length) {
      failure = {
        stage,
        code: 'failed',
        message: `${bad.length} of ${checks.length} checks failed: ${bad.map((c) => c.name).join(', ')}`,
      };
    }
  } catch (err) {
    error = err;
    const hint = roleHint(manifest, err) ?? (err instanceof LifeboatError ? err.hint : undefined);
    failure = {
      stage,
      code: isLifeboatError(err) ? err.code : 'failed',
      message: oneLine(err),
      ...(hint ? { hint } : {}),
    };
  } finally {
    if (scratch) {
      cleanup = await scratch.dispose();
      for (const problem of cleanup) (opts.warn ?? log)(`scratch cleanup: ${problem}`);
    }
  }

  timings.totalMs = Date.now() - t0;
  const finished = new Date(started.getTime() + timings.totalMs);
  const report: DrillReport = {
    format: DRILL_REPORT_FORMAT,
    version: DRILL_REPORT_VERSION,
    job: manifest.job,
    backupId: manifest.id,
    timestamp: drillTimestamp(started),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    backup: {
      startedAt: manifest.startedAt,
      finishedAt: manifest.finishedAt,
      mode: manifest.source.mode,
      databases: manifest.source.databases,
      serverVersion: manifest.source.serverVersion,
      size: totalSize(manifest),
    },
    rpoSeconds: Math.round((started.getTime() - Date.parse(manifest.startedAt)) / 1000),
    rtoSeconds: restored ? (timings.verifyMs + timings.restoreMs) / 1000 : null,
    bytesRestored: bytes,
    scratch: scratch
      ? { kind: scratch.kind, where: scratch.where, serverVersion: scratch.serverVersion }
      : null,
    timings,
    checks,
    ok: !failure,
    result: failure ? 'failed' : 'passed',
    ...(failure ? { failure } : {}),
    ...(cleanup.length ? { cleanup } : {}),
    lifeboatVersion: LIFEBOAT_VERSION,
  };

  // Stored without the signal: a drill stopped by SIGTERM still leaves a record that it did not finish.
  try {
    const stored = await storeDrillReport(storage, report);
    return { report: stored.report, key: stored.key, error };
  } catch (err) {
    (opts.warn ?? log)(`store drill report of ${manifest.job} ${manifest.id}: ${oneLine(err)}`);
    return { report, error: error ?? err };
  }
}
