/**
 * The demo's loop on a throwaway PostgreSQL: sample data, backup into DIR/backups, verify, restore
 * into a second database, compare, a restore drill — each step through the same code a user's
 * commands and `serve` run (jobs/, core/), on the config file the demo writes for the user.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { totalSize, type Manifest } from '../catalog/manifest.js';
import { buildJob, buildStorages } from '../config/compose.js';
import { loadConfig } from '../config/load.js';
import { restorePlan } from '../core/restore-source.js';
import { verifyBackup } from '../core/verify.js';
import type { DrillReport } from '../catalog/drill-report.js';
import { jobBackupError, runJobBackup } from '../jobs/backup.js';
import { runJobDrill } from '../jobs/drill.js';
import { dumpForCompare } from '../sources/postgres/compare.js';
import { startLocalCluster } from '../sources/postgres/local-cluster.js';
import { LifeboatError } from '../util/errors.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { Redactor } from '../util/redact.js';
import { demoConfig } from './config.js';
import { SAMPLE_SQL } from './sample-data.js';

export interface Demo {
  /** Where the backups are, and the config file the demo ran on. */
  backups: string;
  configFile: string;
  /** The environment that config needs: the throwaway server's URL and the dashboard's token. */
  env: NodeJS.ProcessEnv;
  token: string;
  manifest: Manifest;
  identical: boolean;
  drill: { report: DrillReport; key?: string };
}

/**
 * Runs the demo in `dir`, then `then` with its result while the throwaway server still runs (to
 * serve it); the server is removed at the end, whatever happened.
 */
export async function runDemo<T>(
  opts: { dir: string; env: NodeJS.ProcessEnv; signal: AbortSignal; log: (line: string) => void },
  then: (demo: Demo) => Promise<T>,
): Promise<T> {
  const { signal, log } = opts;
  const backups = path.join(opts.dir, 'backups');
  const configFile = path.join(opts.dir, 'lifeboat.yaml');
  await mkdir(backups, { recursive: true });
  log('demo: starting a throwaway PostgreSQL cluster');
  const cluster = await startLocalCluster({ name: 'demo' });
  try {
    log(
      `demo: PostgreSQL ${cluster.version} on 127.0.0.1:${cluster.port}; loading sample data into database "shop"`,
    );
    await cluster.psql('create database shop');
    await cluster.psql(SAMPLE_SQL, { database: 'shop' });

    // The demo runs on the very file it leaves behind, so what it shows is what that file does.
    await writeFile(configFile, demoConfig(backups));
    // The token is the demo's own, for its dashboard's buttons: printed, so not registered with the
    // caller's redactor (the served process masks it like any token).
    const token = randomBytes(12).toString('hex');
    const env = { ...opts.env, DEMO_DATABASE_URL: cluster.url('shop'), LIFEBOAT_TOKEN: token };
    const config = await loadConfig(configFile, env, new Redactor());
    const jobConfig = config.jobs.shop!;
    const job = buildJob('shop', jobConfig, buildStorages(config));

    const backup = await runJobBackup(job, jobConfig, { signal });
    const failed = jobBackupError('shop', backup);
    if (failed) throw failed;
    const { manifest } = backup;
    log(
      `demo: backup ${manifest.id}: ${formatBytes(totalSize(manifest))} in ${formatDuration(manifest.durationMs)} → ${backups}`,
    );

    const storage = job.storages[0]!;
    const problems = await verifyBackup(storage, manifest, { signal });
    if (problems.length)
      throw new LifeboatError('integrity', `demo verify: ${problems.map((p) => p.key).join(', ')}`);
    log('demo: verify: sha256 OK');

    const restored = await restorePlan(manifest, undefined).run(storage, {
      to: cluster.url('shop_restored'),
      create: true,
      verified: true,
      signal,
      log: (line) => log(`demo: ${line}`),
    });
    const identical =
      (await dumpForCompare(cluster.url('shop'))) === (await dumpForCompare(cluster.url('shop_restored')));
    if (!identical)
      throw new LifeboatError('failed', 'demo compare: the restored database differs from the original');
    log(
      `demo: restored into "shop_restored" in ${formatDuration(restored.durationMs)}; pg_dump of both is identical`,
    );

    const drillLog = (line: string) => log(`demo: drill: ${line}`);
    const { outcome } = await runJobDrill({
      job: 'shop',
      storages: job.storages,
      backup: manifest.id,
      config,
      signal,
      log: drillLog,
      warn: drillLog,
    });
    const { report, key } = outcome;
    if (!report.ok) {
      throw new LifeboatError('failed', `demo drill: ${report.failure?.message ?? 'failed'}`, {
        hint: report.failure?.hint,
      });
    }
    const checks = report.checks.filter((c) => !c.skipped);
    log(
      `demo: drill passed: restored into a scratch server in ${formatDuration((report.rtoSeconds ?? 0) * 1000)}, ${checks.length} checks passed (report ${key ?? 'not stored'})`,
    );
    return await then({ backups, configFile, env, token, manifest, identical, drill: { report, key } });
  } finally {
    await cluster.stop();
  }
}
