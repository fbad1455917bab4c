/**
 * `npm run bench:s3`: upload rate of `lifeboat backup` to a local Ceph radosgw against the same
 * backup to local disk, measured alternately in one run, plus lifeboat's peak RSS on the S3 path.
 * Targets (issue 3): S3 rate within 10% of the local-disk rate; peak RSS ≤ 150 MB. Prints only.
 * BENCH_SCALE (default 50, the realistic database of bench/run.ts: at scale 20 the dump takes
 * ~5 s, and S3's fixed cost per backup — loading the AWS SDK, the HEAD and Complete requests, the
 * sidecar and manifest PUTs, ~0.4 s in all — weighs as much as the rate) sizes the pgbench + jsonb
 * database; BENCH_ROUNDS (default 3).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { startLocalCluster } from '../src/sources/postgres/local-cluster.js';
import { awsEnv, s3Client, startCephRgw } from '../test/helpers/s3-server.js';
import { buildDatabase, tuneForBulkLoad } from './data.js';
import { probedCli } from './probed-cli.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Measured {
  wallMs: number;
  bytes: number;
  rssMb: number;
}

async function backup(
  url: string,
  to: string,
  env: Record<string, string>,
  probeFile: string,
): Promise<Measured> {
  const run = await probedCli(['backup', '--source', url, '--to', to, '--json'], { env, probeFile }).catch(
    (err: Error) => Promise.reject(new Error(`backup to ${to}: ${err.message}`)),
  );
  const [result] = JSON.parse(run.stdout) as Array<{ size: number }>;
  return { wallMs: run.wallMs, bytes: result!.size, rssMb: run.rssMb };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (m: Measured) => m.bytes / 2 ** 20 / (m.wallMs / 1000);

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-s3bench-'));
  const cluster = await startLocalCluster({ name: 's3bench' });
  const ceph = await startCephRgw();
  try {
    await tuneForBulkLoad(cluster);
    console.log(`building database at scale ${SCALE} …`);
    await buildDatabase(cluster, 'bench', SCALE);
    const client = s3Client(ceph.server);
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const env = awsEnv(ceph.server);
    const local: Measured[] = [];
    const s3: Measured[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['local', 's3'] : ['s3', 'local'];
      for (const kind of order) {
        const probe = path.join(tmp, 'probe.json');
        if (kind === 'local') {
          const dir = path.join(tmp, `local-${round}`);
          local.push(await backup(cluster.url('bench'), dir, {}, probe));
          await rm(dir, { recursive: true, force: true });
        } else {
          s3.push(await backup(cluster.url('bench'), `s3://bench/round-${round}`, env, probe));
        }
        console.log(
          `round ${round + 1} ${kind}: ${(kind === 'local' ? local : s3).at(-1)!.wallMs.toFixed(0)} ms`,
        );
      }
    }
    const localRate = median(local.map(rate));
    const s3Rate = median(s3.map(rate));
    const rss = Math.max(...s3.map((m) => m.rssMb));
    const stored = s3[0]!.bytes / 2 ** 20;
    console.log('');
    console.log(`stored backup size           ${stored.toFixed(1)} MiB`);
    console.log(`backup rate to local disk    ${localRate.toFixed(1)} MiB/s stored (median of ${ROUNDS})`);
    console.log(`backup rate to Ceph S3       ${s3Rate.toFixed(1)} MiB/s stored (median of ${ROUNDS})`);
    console.log(
      `S3 / local                   ${(s3Rate / localRate).toFixed(3)}  (target ≥ 0.90: ${s3Rate / localRate >= 0.9 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `lifeboat peak RSS (S3 runs)  ${rss.toFixed(1)} MB  (target ≤ 150: ${rss <= 150 ? 'met' : 'NOT met'})`,
    );
  } finally {
    await ceph.stop();
    await cluster.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
