/**
 * One restore drill of a backup, start to finish: verify the backup's checksums, then drill each
 * of its sources in turn by its kind's `drill` (sources/registry.ts; PostgreSQL's restores into a
 * scratch server and runs its checks), and store one report beside the backup. Prints the SPEC's
 * markers through `log`: `sha256 OK`, `restore OK`, `smoke OK`, or `sha256 mismatch: <object>`, `restore FAILED`,
 * `smoke FAILED: <check>`. Never throws for a failed drill: the outcome carries the report and
 * what stopped it. In a backup of several sources each check's name starts with its source's.
 */
import type { CodecKeys } from '../codecs/chain.js';
import { storeDrillReport } from '../catalog/catalog.js';
import {
  backupDatabases,
  firstSourceField,
  sourceBackup,
  sourceSummaries,
  totalSize,
  type Manifest,
  type SourceBackup,
} from '../catalog/manifest.js';
import type { DrillConfig } from '../config/schema.js';
import { isLifeboatError, LifeboatError, oneLine } from '../util/errors.js';
import { verifyBeforeRestore } from '../core/verify.js';
import { LIFEBOAT_VERSION } from '../util/version.js';
import type { PostgresBackup } from '../sources/postgres/record.js';
import type { Storage } from '../storages/storage.js';
import type { PublicKey } from '../util/minisign.js';
import { checkSigned } from '../core/intact-copy.js';
import { runHttpCheck } from './http-check.js';
import { sourceKind } from '../sources/registry.js';
import type { SourceDrillContext } from '../sources/kind.js';
import { DEFAULT_ROW_COUNT_TOLERANCE, judgeRowCount } from './row-counts.js';
import { openScratch } from './scratch.js';
import { checkExpectation, describeExpectation, parseExpectation } from '../config/expectation.js';
import {
  DRILL_REPORT_FORMAT,
  DRILL_REPORT_VERSION,
  drillTimestamp,
  type CheckResult,
  type DrillReport,
  type DrillStage,
} from '../catalog/drill-report.js';

/** Per source of the job, what its drill needs from the config. */
export interface DrillSourceSettings {
  /** The source's URL: only to refuse a scratch URL that points at it. Never connected to. */
  url?: string;
  /** The source's binDir, searched first for server and client programs. */
  binDir?: string;
  /** What else the source's kind reads (sources/kind.ts DrillSettings). */
  [field: string]: unknown;
}

export interface DrillOptions {
  storage: Storage;
  manifest: Manifest;
  drill?: DrillConfig;
  /** By source name: the job's source settings. */
  sources?: Record<string, DrillSourceSettings>;
  /** A one-source job's URL (as sources[name].url), for callers that know only one. */
  sourceUrl?: string;
  /** A one-source job's binDir (as sources[name].binDir). */
  binDir?: string;
  /** The caller has checked the checksums (choosing among copies): not read twice. */
  verified?: boolean;
  /** The key the manifest must be signed with (signing configured); checked before the checksums. */
  signedBy?: PublicKey;
  /** What decrypting an encrypted backup needs (the age identity file). */
  keys?: CodecKeys;
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

/** A user check's value held to its `expect`, for kinds that run user checks. */
function judge(expect: string, value: string | null) {
  const expectation = parseExpectation(expect);
  const verdict = checkExpectation(expectation, value);
  return {
    ok: verdict.ok,
    expected: describeExpectation(expectation),
    ...(verdict.detail ? { detail: verdict.detail } : {}),
  };
}

/** The drill settings for one source: the checks that name it (or, with one source, all). */
function drillFor(drill: DrillConfig | undefined, name: string, several: boolean): DrillConfig | undefined {
  if (!drill) return drill;
  const checks = drill.checks.filter((c) => (c.source === undefined ? !several : c.source === name));
  // The expected databases are the one source's; with several, each checks its own.
  return { ...drill, checks, ...(several ? { expect: undefined } : {}) };
}

/**
 * What a kind's drill of one source gets: its settings, the drill's judges (expectations, row
 * counts within the job's tolerance) and a scratch server opened as drill.scratch says.
 */
function sourceContext(
  opts: DrillOptions,
  part: SourceBackup,
  several: boolean,
  warn: (line: string) => void,
): SourceDrillContext {
  const { storage, signal, log } = opts;
  const settings = opts.sources?.[part.name] ?? { url: opts.sourceUrl, binDir: opts.binDir };
  const drill = drillFor(opts.drill, part.name, several);
  const tolerance = { ...DEFAULT_ROW_COUNT_TOLERANCE, ...drill?.rowCountTolerance };
  return {
    storage,
    part,
    drill,
    sourceUrl: settings.url,
    binDir: settings.binDir,
    settings,
    keys: opts.keys,
    judge,
    judgeRows: (recorded, actual) => judgeRowCount(recorded, actual, tolerance),
    openScratch: (scratchFor) =>
      openScratch({
        // The only kind that asks for a scratch server is PostgreSQL's.
        manifest: scratchFor as PostgresBackup,
        scratch: drill?.scratch,
        sourceUrl: settings.url,
        binDir: settings.binDir,
        log,
      }),
    signal,
    log,
    warn,
  };
}

export async function runDrill(opts: DrillOptions): Promise<DrillOutcome> {
  const { storage, manifest, signal, log } = opts;
  const warn = opts.warn ?? log;
  const started = (opts.now ?? (() => new Date()))();
  const t0 = Date.now();
  const timings = { scratchMs: 0, verifyMs: 0, restoreMs: 0, checksMs: 0, totalMs: 0 };
  const names = Object.keys(manifest.sources);
  const several = names.length > 1;
  let stage: DrillStage = 'verify';
  let scratch: DrillReport['scratch'] = null;
  const checks: CheckResult[] = [];
  let bytes = 0;
  let restored = false;
  let failure: DrillReport['failure'];
  let error: unknown;
  const cleanup: string[] = [];
  let kindHint: string | undefined;

  try {
    // Checksums first: a backup with a bad object provisions nothing and restores nothing.
    if (!opts.verified) {
      const start = Date.now();
      try {
        if (opts.signedBy) await checkSigned(storage, manifest, opts.signedBy, { signal, log });
        await verifyBeforeRestore(storage, manifest, {
          signal,
          log,
          onBytes: opts.onBytes,
          keys: opts.keys,
          signed: Boolean(opts.signedBy),
        });
      } finally {
        timings.verifyMs = Date.now() - start;
      }
    }
    stage = 'scratch';
    for (const name of names) {
      const part = sourceBackup(manifest, name)!;
      const drillPart = sourceKind(part.source.kind)?.drill;
      if (!drillPart) {
        throw new LifeboatError(
          'failed',
          `drill ${manifest.job} ${manifest.id}: source ${name} is a ${part.source.kind} source, which this version of Lifeboat cannot drill`,
          { hint: 'upgrade Lifeboat' },
        );
      }
      if (several) log(`drill source ${name}`);
      const result = await drillPart(sourceContext(opts, part, several, warn));
      stage = result.stage;
      scratch ??= result.scratch;
      bytes += result.bytes;
      // Restored only when every source was.
      restored = result.restored && (restored || name === names[0]);
      timings.scratchMs += result.timings.scratchMs;
      timings.restoreMs += result.timings.restoreMs;
      timings.checksMs += result.timings.checksMs;
      cleanup.push(...result.cleanup);
      checks.push(...result.checks.map((c) => (several ? { ...c, name: `${name}: ${c.name}` } : c)));
      kindHint = result.hint;
      if (result.error !== undefined) throw result.error;
    }
    // The job's http checks (an application's health endpoint), once every source is restored.
    const httpStart = Date.now();
    for (const check of opts.drill?.httpChecks ?? [])
      checks.push(await runHttpCheck(check, check.name, { signal }));
    timings.checksMs += Date.now() - httpStart;
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
    const hint = kindHint ?? (err instanceof LifeboatError ? err.hint : undefined);
    failure = {
      stage,
      code: isLifeboatError(err) ? err.code : 'failed',
      message: oneLine(err),
      ...(hint ? { hint } : {}),
    };
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
      // The first source's, as before backups had several; `sources` has them all.
      mode: (firstSourceField(manifest, 'mode') ?? 'databases') as DrillReport['backup']['mode'],
      databases: backupDatabases(manifest),
      serverVersion: firstSourceField(manifest, 'serverVersion') ?? '',
      size: totalSize(manifest),
      sources: sourceSummaries(manifest),
    },
    rpoSeconds: Math.round((started.getTime() - Date.parse(manifest.startedAt)) / 1000),
    rtoSeconds: restored ? (timings.verifyMs + timings.restoreMs) / 1000 : null,
    bytesRestored: bytes,
    scratch,
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
    warn(`store drill report of ${manifest.job} ${manifest.id}: ${oneLine(err)}`);
    return { report, error: error ?? err };
  }
}
