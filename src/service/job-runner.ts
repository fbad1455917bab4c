/**
 * The service's JobRunner: a backup is the same run as `lifeboat backup JOB` (retention after a
 * full success; a partial backup is committed but the run fails), a drill the same as `lifeboat drill JOB`, both against the job's configured storages.
 */
import { findAcross } from '../catalog/copies.js';
import { totalSize } from '../catalog/manifest.js';
import { buildJob, drillSettingsOf, policyOf } from '../config/compose.js';
import type { Config } from '../config/schema.js';
import { signingKey, verifyingKey } from '../config/signing.js';
import type { Redactor } from '../util/redact.js';
import { runBackup } from '../core/backup.js';
import { LifeboatError, oneLine } from '../util/errors.js';
import { intactCopy } from '../core/intact-copy.js';
import { executePrune, foreignLine, planPrune } from '../core/prune.js';
import { runDrill } from '../drill/run.js';
import type { Storage } from '../storages/storage.js';
import type { BackupOutcome, DrillOutcome, JobRunner } from './contracts.js';

export function createJobRunner(
  config: Config,
  storages: Record<string, Storage>,
  log: (line: string) => void,
  redactor: Redactor,
): JobRunner {
  const jobConfig = (name: string) => {
    const job = config.jobs[name];
    if (!job) throw new LifeboatError('usage', `run ${name}: no such job`);
    return job;
  };
  return {
    async backup(name, signal): Promise<BackupOutcome> {
      const cfg = jobConfig(name);
      const job = { ...buildJob(name, cfg, storages), signingKey: await signingKey(config, redactor) };
      const { manifest, outcomes } = await runBackup(job, { signal, warn: log });
      const failed = outcomes.filter((o) => !o.ok);
      if (failed.length) {
        throw new LifeboatError(
          'failed',
          `backup ${name}: ${failed.map((f) => `${f.storage}: ${oneLine(f.error)}`).join('; ')}`,
        );
      }
      // Committed, but not a good backup: the run fails (and alerts), and retention does not run.
      if (manifest.missing?.length) {
        throw new LifeboatError(
          'failed',
          `backup ${name} ${manifest.id} is partial: ${manifest.missing.map((m) => `database ${m.database} is missing (${m.error})`).join('; ')}`,
        );
      }
      if (cfg.retention) {
        const { policy, timeZone } = policyOf(cfg);
        for (const storage of job.storages) {
          const plan = await planPrune(storage, job, policy, { timeZone, signal, verified: [manifest.id] });
          const out = await executePrune(storage, plan, { signal, warn: log });
          // What the CLI's prune warns about: never acted on, but someone should look.
          for (const u of plan.invalid) log(`prune ${name} ${storage.name}: left ${u.key} alone: ${u.error}`);
          for (const d of plan.decisions.filter((x) => x.problem))
            log(`prune ${name} ${storage.name}: ${d.id} is not good (${d.problem})`);
          if (plan.foreign.length) log(`prune ${name} ${storage.name}: ${foreignLine(plan.foreign)}`);
          if (out.removedBackups.length)
            log(`prune ${name} ${storage.name}: removed ${out.removedBackups.join(', ')}`);
        }
      }
      return { backupId: manifest.id, bytes: totalSize(manifest), durationMs: manifest.durationMs };
    },

    async drill(name, signal): Promise<DrillOutcome> {
      const cfg = jobConfig(name);
      const sources = drillSettingsOf(cfg);
      const signedBy = await verifyingKey(config, redactor);
      // As `lifeboat drill`: the newest backup in any of the job's storages, from its first intact copy.
      const found = await findAcross(
        cfg.storages.map((s) => storages[s]!),
        'latest',
        name,
        signal,
      );
      const { storage, manifest, verified } = await intactCopy(found, {
        signal,
        log: (line) => log(`drill ${name}: ${line}`),
        warn: (line) => log(`drill ${line}`),
        verifyLast: false,
        signedBy,
      });
      const outcome = await runDrill({
        storage,
        manifest,
        verified,
        signedBy,
        drill: cfg.drill,
        sources,
        signal,
        log: (line) => log(`drill ${name}: ${line}`),
      });
      const r = outcome.report;
      const ok = outcome.error === undefined && r.ok;
      return {
        backupId: manifest.id,
        ok,
        restoreMs: r.timings.restoreMs,
        backupAgeSeconds: r.rpoSeconds,
        bytes: r.bytesRestored,
        ...(ok
          ? {}
          : { error: r.failure?.message ?? (outcome.error ? oneLine(outcome.error) : 'drill failed') }),
        details: { reportKey: outcome.key, restoreMs: r.timings.restoreMs, checks: r.checks.length },
      };
    },
  };
}
