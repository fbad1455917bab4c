/**
 * The service's JobRunner: a backup is the same run as `lifeboat backup JOB`, a drill the same as
 * `lifeboat drill JOB` (both from jobs/), against the job's configured storages. Here only what
 * the scheduler needs differs: a failed or partial backup throws, and outcomes are summarised.
 */
import { totalSize } from '../catalog/manifest.js';
import { buildJob } from '../config/compose.js';
import type { Config } from '../config/schema.js';
import { signingKey, verifyingKey } from '../config/signing.js';
import type { Redactor } from '../util/redact.js';
import { foreignLine } from '../core/prune.js';
import { LifeboatError } from '../util/errors.js';
import { jobBackupError, runJobBackup } from '../jobs/backup.js';
import { runJobDrill } from '../jobs/drill.js';
import type { Storage } from '../storages/storage.js';
import type { DrillOutcome } from '../drill/run.js';
import type { BackupOutcome, JobRunner } from '../scheduler/runner.js';

export function createJobRunner(
  config: Config,
  storages: Record<string, Storage>,
  serviceLog: (line: string) => void,
  redactor: Redactor,
  /** Also hears each run's lines, by job and kind (the ping's body). */
  record: (job: string, kind: 'backup' | 'drill', line: string) => void = () => {},
): JobRunner {
  const logFor = (job: string, kind: 'backup' | 'drill') => (line: string) => {
    serviceLog(line);
    record(job, kind, redactor.redact(line));
  };
  const jobConfig = (name: string) => {
    const job = config.jobs[name];
    if (!job) throw new LifeboatError('usage', `run ${name}: no such job`);
    return job;
  };
  return {
    async backup(name, signal): Promise<BackupOutcome> {
      const cfg = jobConfig(name);
      const log = logFor(name, 'backup');
      const job = { ...buildJob(name, cfg, storages), signingKey: await signingKey(config, redactor) };
      const result = await runJobBackup(job, cfg, {
        signal,
        warn: log,
        log,
        redact: (text) => redactor.redact(text),
        // What the CLI's prune warns about: never acted on, but someone should look.
        onPruned: (storage, plan, out) => {
          const where = `prune ${name} ${storage.name}`;
          for (const u of plan.invalid) log(`${where}: left ${u.key} alone: ${u.error}`);
          for (const d of plan.decisions.filter((x) => x.problem))
            log(`${where}: ${d.id} is not good (${d.problem})`);
          if (plan.foreign.length) log(`${where}: ${foreignLine(plan.foreign)}`);
          if (out.removedBackups.length) log(`${where}: removed ${out.removedBackups.join(', ')}`);
        },
      });
      // A partial backup is committed, but not a good one: the run fails (and alerts).
      const error = jobBackupError(name, result);
      if (error) throw error;
      const { manifest } = result;
      return { backupId: manifest.id, bytes: totalSize(manifest), durationMs: manifest.durationMs };
    },

    async drill(name, signal): Promise<DrillOutcome> {
      const cfg = jobConfig(name);
      const log = logFor(name, 'drill');
      const drillLog = (line: string) => log(`drill ${name}: ${line}`);
      const { outcome } = await runJobDrill({
        job: name,
        storages: cfg.storages.map((s) => storages[s]!),
        config,
        signedBy: await verifyingKey(config, redactor),
        signal,
        log: drillLog,
        warn: drillLog,
      });
      return outcome;
    },
  };
}
