/**
 * `lifeboat demo`: the whole loop on a throwaway PostgreSQL — sample data, backup into
 * ./lifeboat-demo, verify, restore into a second database, compare, a restore drill — then how to
 * point Lifeboat at a real database. With --serve it then serves the dashboard and API on
 * localhost until Ctrl-C. Everything but the backups (and the config it wrote) is removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildJob, buildStorages } from '../../config/compose.js';
import { loadConfig } from '../../config/load.js';
import { runBackup } from '../../core/backup.js';
import { restoreBackup } from '../../core/restore.js';
import { verifyBackup } from '../../core/verify.js';
import { LifeboatError } from '../../util/errors.js';
import { Redactor } from '../../util/redact.js';
import { totalSize } from '../../catalog/manifest.js';
import { byHandDecode, codecChain } from '../../codecs/chain.js';
import { runDrill } from '../../drill/run.js';
import { postgresPart } from '../../sources/postgres/record.js';
import { startLocalCluster } from '../../sources/postgres/local-cluster.js';
import { dumpForCompare } from '../../sources/postgres/compare.js';
import { SAMPLE_SQL } from '../../demo/sample-data.js';
import { Context } from '../context.js';
import { parsePort } from '../port.js';
import { formatBytes, formatDuration } from '../progress.js';
import { serveCommand } from './serve.js';

/** The config the demo runs on, written for the user to edit: the same file `--serve` serves. */
const demoConfig = (backups: string) =>
  [
    'storages:',
    `  demo: { type: local, path: ${JSON.stringify(backups)} }`,
    'jobs:',
    '  shop:',
    '    source: { type: postgres, url: "${DEMO_DATABASE_URL}", databases: shop }',
    '    compression: { type: zstd, level: 3 }',
    '    storages: [demo]',
    '    schedule: { cron: "0 * * * *", timezone: UTC }',
    '    retention: { keepLast: 7, keepDaily: 14 }',
    '    drill:',
    '      schedule: { cron: "30 3 * * 0", timezone: UTC }',
    '      checks:',
    '        - { name: customers present, database: shop, sql: "select count(*) from customers", expect: ">= 2000" }',
    '        - { name: every order has a total, database: shop, sql: "select count(*) from orders o left join order_totals t using (id) where t.id is null", expect: "= 0" }',
    "# LIFEBOAT_TOKEN: what the dashboard's Back up and Drill buttons (POST /api/...) ask for",
    'server: { token: "${LIFEBOAT_TOKEN:-}" }',
    '',
  ].join('\n');

export interface DemoOptions {
  dir: string;
  /** Serve the dashboard afterwards: true for the default port, or a port. */
  serve?: boolean | string;
}

export async function demoCommand(ctx: Context, opts: DemoOptions, signal: AbortSignal): Promise<number> {
  const out = ctx.output;
  const dir = path.resolve(opts.dir);
  const backups = path.join(dir, 'backups');
  const configFile = path.join(dir, 'lifeboat.yaml');
  // Checked before the throwaway server starts, so a typo costs nothing.
  const port = typeof opts.serve === 'string' ? parsePort(opts.serve, '--serve') : 8080;
  await mkdir(backups, { recursive: true });
  out.info('demo: starting a throwaway PostgreSQL cluster');
  const cluster = await startLocalCluster({ name: 'demo' });
  try {
    out.info(
      `demo: PostgreSQL ${cluster.version} on 127.0.0.1:${cluster.port}; loading sample data into database "shop"`,
    );
    await cluster.psql('create database shop');
    await cluster.psql(SAMPLE_SQL, { database: 'shop' });

    // The demo runs on the very file it leaves behind, so what it shows is what that file does.
    await writeFile(configFile, demoConfig(backups));
    // The token is the demo's own, for its dashboard's buttons: printed below, so not registered
    // with this command's redactor (the served process masks it like any token).
    const token = randomBytes(12).toString('hex');
    const env = { ...ctx.env, DEMO_DATABASE_URL: cluster.url('shop'), LIFEBOAT_TOKEN: token };
    const config = await loadConfig(configFile, env, new Redactor());
    const jobConfig = config.jobs.shop!;
    const job = buildJob('shop', jobConfig, buildStorages(config));

    const { manifest } = await runBackup(job, { signal });
    out.info(
      `demo: backup ${manifest.id}: ${formatBytes(totalSize(manifest))} in ${formatDuration(manifest.durationMs)} → ${backups}`,
    );

    const storage = job.storages[0]!;
    const problems = await verifyBackup(storage, manifest, { signal });
    if (problems.length)
      throw new LifeboatError('integrity', `demo verify: ${problems.map((p) => p.key).join(', ')}`);
    out.info('demo: verify: sha256 OK');

    const restored = await restoreBackup(storage, postgresPart(manifest), {
      to: cluster.url('shop_restored'),
      create: true,
      verified: true,
      signal,
      log: (line) => out.info(`demo: ${line}`),
    });
    const same =
      (await dumpForCompare(cluster.url('shop'))) === (await dumpForCompare(cluster.url('shop_restored')));
    if (!same)
      throw new LifeboatError('failed', 'demo compare: the restored database differs from the original');
    out.info(
      `demo: restored into "shop_restored" in ${formatDuration(restored.durationMs)}; pg_dump of both is identical`,
    );

    const drill = await runDrill({
      storage,
      manifest,
      drill: jobConfig.drill,
      sourceUrl: cluster.url('shop'),
      signal,
      log: (line) => out.info(`demo: drill: ${line}`),
    });
    if (!drill.report.ok) {
      throw new LifeboatError('failed', `demo drill: ${drill.report.failure?.message ?? 'failed'}`, {
        hint: drill.report.failure?.hint,
      });
    }
    const checks = drill.report.checks.filter((c) => !c.skipped);
    out.info(
      `demo: drill passed: restored into a scratch server in ${formatDuration((drill.report.rtoSeconds ?? 0) * 1000)}, ${checks.length} checks passed (report ${drill.key ?? 'not stored'})`,
    );

    const artifact = manifest.artifacts[0]!;
    const folder = path.join(backups, path.dirname(artifact.key));
    const file = path.basename(artifact.key);
    out.result(
      [
        `Lifeboat demo: backed up, verified, restored, compared and drilled database "shop" (${formatBytes(totalSize(manifest))}).`,
        '',
        `Backups are in ${backups}; list them with:`,
        `  npx lifeboat list --from ${backups}`,
        `Restore by hand, without Lifeboat:`,
        `  cd ${folder} && sha256sum -c ${file}.sha256 && ${byHandDecode(codecChain(manifest), file)} | psql -v ON_ERROR_STOP=1 -d TARGET_DB`,
        '',
        `To back up a real database, edit ${configFile} (or write your own; see README) and run:`,
        `  DEMO_DATABASE_URL=postgres://user@host:5432/db npx lifeboat --config ${configFile} backup   (password in PGPASSWORD)`,
        `or once, without a config file:`,
        `  npx lifeboat backup --source postgres://user@host:5432/db --to /backups`,
        ...(opts.serve === undefined
          ? [
              '',
              'To see the dashboard of this demo: npm run demo -- --serve (or npx lifeboat demo --serve [PORT])',
            ]
          : []),
      ],
      {
        ok: true,
        backup: manifest,
        storage: backups,
        config: configFile,
        restoredInto: 'shop_restored',
        identical: same,
        drill: drill.report,
      },
    );
    if (opts.serve === undefined) return 0;

    out.info(`demo: serving the demo job; Back up and Drill on the dashboard take the token ${token}`);
    out.info('demo: press Ctrl-C to stop (the throwaway server is removed, the backups stay)');
    const serving = new Context({ config: configFile, json: false, logFormat: out.logFormat }, env);
    return await serveCommand(
      serving,
      { port: String(port), host: '127.0.0.1', history: path.join(dir, 'lifeboat-history.db') },
      signal,
    );
  } finally {
    await cluster.stop();
  }
}
