/**
 * `lifeboat demo`: the whole loop on a throwaway PostgreSQL — sample data, backup into
 * ./lifeboat-demo, verify, restore into a second database, compare — then how to point Lifeboat
 * at a real database. Everything but the backups is removed at the end.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildJob, buildStorages } from '../../config/compose.js';
import { parseConfig } from '../../config/load.js';
import { runBackup } from '../../core/backup.js';
import { restoreBackup } from '../../core/restore.js';
import { verifyBackup } from '../../core/verify.js';
import { LifeboatError } from '../../core/errors.js';
import { totalSize } from '../../catalog/manifest.js';
import { startLocalCluster } from '../../postgres/local-cluster.js';
import { dumpForCompare } from '../../postgres/compare.js';
import { SAMPLE_SQL } from '../../demo/sample-data.js';
import type { Context } from '../context.js';
import { formatBytes, formatDuration } from '../progress.js';

export async function demoCommand(ctx: Context, opts: { dir: string }, signal: AbortSignal): Promise<number> {
  const out = ctx.output;
  const dir = path.resolve(opts.dir);
  const backups = path.join(dir, 'backups');
  await mkdir(backups, { recursive: true });
  out.info('demo: starting a throwaway PostgreSQL cluster');
  const cluster = await startLocalCluster({ name: 'demo' });
  try {
    out.info(
      `demo: PostgreSQL ${cluster.version} on 127.0.0.1:${cluster.port}; loading sample data into database "shop"`,
    );
    await cluster.psql('create database shop');
    await cluster.psql(SAMPLE_SQL, { database: 'shop' });

    const configText = [
      'storages:',
      `  demo: { type: local, path: ${JSON.stringify(backups)} }`,
      'jobs:',
      '  shop:',
      '    source: { type: postgres, url: "${DEMO_DATABASE_URL}", databases: shop }',
      '    compression: { type: zstd, level: 3 }',
      '    storages: [demo]',
      '    retention: { keepLast: 7, keepDaily: 14 }',
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'lifeboat.yaml'), configText);
    const config = parseConfig({
      storages: { demo: { type: 'local', path: backups } },
      jobs: {
        shop: {
          source: { type: 'postgres', url: cluster.url('shop'), databases: 'shop' },
          storages: ['demo'],
        },
      },
    });
    const job = buildJob('shop', config.jobs.shop!, buildStorages(config));

    const { manifest } = await runBackup(job, { signal });
    out.info(
      `demo: backup ${manifest.id}: ${formatBytes(totalSize(manifest))} in ${formatDuration(manifest.durationMs)} → ${backups}`,
    );

    const storage = job.storages[0]!;
    const problems = await verifyBackup(storage, manifest, { signal });
    if (problems.length)
      throw new LifeboatError('integrity', `demo verify: ${problems.map((p) => p.key).join(', ')}`);
    out.info('demo: verify: sha256 OK');

    const restored = await restoreBackup(storage, manifest, {
      to: cluster.url('shop_restored'),
      create: true,
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

    const artifact = manifest.artifacts[0]!;
    const folder = path.join(backups, path.dirname(artifact.key));
    const file = path.basename(artifact.key);
    out.result(
      [
        `Lifeboat demo: backed up, verified, restored and compared database "shop" (${formatBytes(totalSize(manifest))}).`,
        '',
        `Backups are in ${backups}; list them with:`,
        `  npx lifeboat list --from ${backups}`,
        `Restore by hand, without Lifeboat:`,
        `  cd ${folder} && sha256sum -c ${file}.sha256 && zstd -dc ${file} | psql -v ON_ERROR_STOP=1 -d TARGET_DB`,
        '',
        `To back up a real database, edit ${path.join(dir, 'lifeboat.yaml')} (or write your own; see README) and run:`,
        `  DEMO_DATABASE_URL=postgres://user@host:5432/db npx lifeboat --config ${path.join(dir, 'lifeboat.yaml')} backup   (password in PGPASSWORD)`,
        `or once, without a config file:`,
        `  npx lifeboat backup --source postgres://user@host:5432/db --to /backups`,
      ],
      { ok: true, backup: manifest, storage: backups, restoredInto: 'shop_restored', identical: same },
    );
    return 0;
  } finally {
    await cluster.stop();
  }
}
