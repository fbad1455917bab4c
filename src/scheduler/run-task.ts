/**
 * The scheduler's `run` for `lifeboat serve`: one attempt of a backup or drill through the
 * JobRunner, recorded in the run history (start, end, result, sizes, the redacted error line).
 * A failed drill (ok: false) becomes a thrown, non-retryable error, so the scheduler and the alert
 * rules see backups and drills fail the same way. A broken history file never stops a backup.
 */
import { LifeboatError, oneLine } from '../util/errors.js';
import type { Clock } from '../util/clock.js';
import type { JobRunner } from './runner.js';
import type { RunFinish, RunHistory, RunRecord, RunTrigger } from '../history/types.js';
import { abortCause, type ScheduledTask } from './types.js';

export interface RecordedRunDeps {
  runner: JobRunner;
  history: RunHistory;
  clock: Clock;
  /** Makes an error line safe to store and show (Redactor.redact). */
  redact?: (text: string) => string;
  /** Each finished run as recorded, e.g. for metrics and a catalog refresh. */
  onRecorded?: (record: RunRecord) => void;
  /** Where history write failures are reported. */
  log?: (line: string) => void;
}

export function recordedRun(deps: RecordedRunDeps) {
  const { runner, history, clock } = deps;
  const redact = deps.redact ?? ((text: string) => text);
  const log = deps.log ?? (() => {});

  return async (task: ScheduledTask, trigger: RunTrigger, signal: AbortSignal): Promise<void> => {
    const started = clock.now();
    const base = { job: task.job, kind: task.kind, trigger, startedAt: started.toISOString() };
    let id: number | undefined;
    try {
      id = history.start(base);
    } catch (err) {
      log(`run history: cannot record the start of ${task.kind} ${task.job}: ${redact(oneLine(err))}`);
    }

    const finish = (outcome: Omit<RunFinish, 'finishedAt'>) => {
      const finishedAt = clock.now().toISOString();
      const full: RunFinish = { ...outcome, finishedAt };
      if (id !== undefined) {
        try {
          history.finish(id, full);
        } catch (err) {
          log(`run history: cannot record the end of ${task.kind} ${task.job}: ${redact(oneLine(err))}`);
        }
      }
      try {
        deps.onRecorded?.({ id: id ?? -1, ...base, ...full });
      } catch (err) {
        log(`after ${task.kind} ${task.job}: ${redact(oneLine(err))}`);
      }
    };
    const elapsed = () => clock.now().getTime() - started.getTime();

    let drill;
    try {
      if (task.kind === 'backup') {
        const out = await runner.backup(task.job, signal);
        return finish({
          result: 'success',
          backupId: out.backupId,
          bytes: out.bytes,
          durationMs: out.durationMs,
        });
      }
      drill = await runner.drill(task.job, signal);
    } catch (err) {
      const cause = abortCause(signal);
      // A deadline is the run's failure; only the service stopping is a plain "aborted".
      const line = cause ? (signal.reason as Error).message : oneLine(err);
      finish({
        result: cause === 'stop' ? 'aborted' : 'failure',
        error: redact(line),
        durationMs: elapsed(),
      });
      throw err;
    }

    const report = drill.report;
    const ok = drill.error === undefined && report.ok;
    const details = {
      reportKey: drill.key,
      restoreMs: report.timings.restoreMs,
      checks: report.checks.length,
      ok,
      backupAgeSeconds: report.rpoSeconds,
    };
    const common = { backupId: report.backupId, bytes: report.bytesRestored, durationMs: elapsed(), details };
    if (ok) return finish({ result: 'success', ...common });
    // The report's own line (the failed stage or check), else what stopped the drill.
    const line =
      report.failure?.message ?? (drill.error === undefined ? 'drill failed' : oneLine(drill.error));
    const error = redact(oneLine(line));
    finish({ result: 'failure', error, ...common });
    // A check that failed fails again on the same backup: not retryable.
    throw new LifeboatError('failed', error);
  };
}
