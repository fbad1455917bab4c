/**
 * `npm run bench:bucket`: a bucket source against copying with the AWS SDK alone, on a local Ceph
 * radosgw. The source bucket holds BENCH_BUCKET_OBJECTS (default 1,100) objects of 1 MiB plus three
 * of 32 MiB (multipart both ways): ≥ 1 GB in ≥ 1,000 objects, random bytes (compression gains
 * nothing, as with the media and archives buckets mostly hold); and one sparse-ish object of
 * BENCH_BUCKET_BIG_MIB (default 2,048: multi-GB, hundreds of parts, spooled to a temp file), zeros
 * with 1 MiB of random bytes every 64 MiB, so it costs the server memory but little to store.
 * Measured:
 * - the first backup against an `aws s3 sync`-style copy into another bucket done by the SDK alone
 *   (bench/sdk-copy.mjs: list, then GetObject → PutObject, 10 at once, as the AWS CLI does);
 *   target ≤ 1.2×;
 * - an unchanged second backup against the first (target ≤ 10 %) and the object bytes it read and
 *   stored (target 0);
 * - lifeboat's peak RSS (target ≤ 150 MB; bench/rss-probe.mjs, the node process only, not zstd),
 *   printed beside the SDK-alone copy's own, measured the same way.
 * LIFEBOAT_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY) uses a running server instead of starting one.
 * Prints only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listBackups } from '../src/catalog/catalog.js';
import { createS3Storage } from '../src/storages/s3/storage.js';
import {
  s3Client,
  serverEnv,
  serverFromEnv,
  startCephRgw,
  type S3Server,
} from '../test/helpers/s3-server.js';
import { probedCli, probedScript, type ProbedRun } from './probed-cli.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const OBJECTS = Number(process.env.BENCH_BUCKET_OBJECTS ?? 1100);
const BIG_MIB = Number(process.env.BENCH_BUCKET_BIG_MIB ?? 2048);
const MiB = 2 ** 20;

async function pool<T>(items: T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function fill(client: S3Client, bucket: string): Promise<number> {
  const sizes = [...Array.from({ length: OBJECTS }, () => MiB), 32 * MiB, 32 * MiB, 32 * MiB];
  let total = 0;
  await pool(
    sizes.map((size, i) => ({ size, key: `data/${String(i % 37).padStart(2, '0')}/object-${i}.bin` })),
    8,
    async ({ size, key }) => {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(size), ContentLength: size }),
      );
      total += size;
    },
  );
  total += await putSparse(client, bucket, 'data/big/sparse.img', BIG_MIB);
  return total;
}

/** An object of `mib` MiB streamed into one PutObject: zeros, with random bytes every 64th MiB. */
async function putSparse(client: S3Client, bucket: string, key: string, mib: number): Promise<number> {
  if (mib <= 0) return 0;
  const zeros = Buffer.alloc(MiB);
  const body = Readable.from(
    (function* () {
      for (let i = 0; i < mib; i++) yield i % 64 === 0 ? randomBytes(MiB) : zeros;
    })(),
  );
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: mib * MiB }));
  return mib * MiB;
}

/**
 * The SDK-alone copy of `from` into `to` (bench/sdk-copy.mjs), in a probed process of its own: its
 * time and its peak RSS, measured as lifeboat's are.
 */
async function sdkCopy(server: S3Server, from: string, to: string, probeFile: string) {
  const run = await probedScript(path.join(HERE, 'sdk-copy.mjs'), [from, to], {
    probeFile,
    env: serverEnv(server),
  });
  return { ms: (JSON.parse(run.stdout) as { ms: number }).ms, rssMb: run.rssMb };
}

async function empty(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

async function backup(config: string, probeFile: string): Promise<ProbedRun> {
  return probedCli(['backup', '--config', config], { probeFile });
}

function configYaml(server: S3Server): string {
  const conn = `endpoint: ${server.endpoint}, forcePathStyle: true, accessKeyId: ${server.accessKeyId}, secretAccessKey: ${server.secretAccessKey}`;
  return (
    `storages:\n  offsite: { type: s3, bucket: bench-backups, ${conn} }\n` +
    `jobs:\n  objects:\n    source: { type: bucket, bucket: bench-source, ${conn} }\n    storages: [offsite]\n`
  );
}

async function main() {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bucketbench-'));
  // Source and SDK copy each hold ~1.1 GB plus the sparse object (the copy is emptied before the
  // backups run); the backups hold ~1.1 GB and the sparse object compressed.
  process.env.MEMSTORE_BYTES ??= String(4 * 2 ** 30 + 3 * BIG_MIB * MiB);
  const fromEnv = serverFromEnv();
  const ceph = fromEnv ? undefined : await startCephRgw();
  const server = fromEnv ?? ceph!.server;
  const client = s3Client(server);
  try {
    for (const b of ['bench-source', 'bench-backups', 'bench-sdk-copy'])
      await client.send(new CreateBucketCommand({ Bucket: b }));
    console.log(`filling the source bucket: ${OBJECTS + 4} objects …`);
    const total = await fill(client, 'bench-source');
    const config = path.join(tmp, 'lifeboat.yaml');
    await writeFile(config, configYaml(server));
    const probe = path.join(tmp, 'probe.json');

    const copy = await sdkCopy(server, 'bench-source', 'bench-sdk-copy', probe);
    const sdkMs = copy.ms;
    console.log(`SDK copy: ${sdkMs.toFixed(0)} ms`);
    await empty(client, 'bench-sdk-copy');
    const first = await backup(config, probe);
    console.log(`first backup: ${first.wallMs.toFixed(0)} ms`);
    const second = await backup(config, probe);
    console.log(`second backup: ${second.wallMs.toFixed(0)} ms`);

    const storage = createS3Storage({
      name: 'offsite',
      bucket: 'bench-backups',
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
    });
    const { manifests } = await listBackups(storage, 'objects');
    const rec = (i: number) =>
      manifests[i]!.sources.main as unknown as {
        objects: number;
        read: number;
        readBytes: number;
        stored: number;
        storedBytes: number;
      };
    const ratio = first.wallMs / sdkMs;
    const again = second.wallMs / first.wallMs;
    const rss = Math.max(first.rssMb, second.rssMb);
    console.log('');
    console.log(`source bucket                ${rec(0).objects} objects, ${(total / MiB).toFixed(0)} MiB`);
    console.log(
      `SDK-alone copy               ${(sdkMs / 1000).toFixed(1)} s (${(total / MiB / (sdkMs / 1000)).toFixed(1)} MiB/s), peak RSS ${copy.rssMb.toFixed(1)} MB`,
    );
    console.log(
      `first backup                 ${(first.wallMs / 1000).toFixed(1)} s (CPU ${(first.cpuMs / 1000).toFixed(1)} s), read ${(rec(0).readBytes / MiB).toFixed(0)} MiB, stored ${rec(0).stored} blobs`,
    );
    console.log(
      `first / SDK copy             ${ratio.toFixed(2)}×  (target ≤ 1.2: ${ratio <= 1.2 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `unchanged second backup      ${(second.wallMs / 1000).toFixed(1)} s (CPU ${(second.cpuMs / 1000).toFixed(1)} s), read ${rec(1).read} objects (${rec(1).readBytes} bytes), stored ${rec(1).storedBytes} bytes`,
    );
    console.log(
      `second / first               ${(again * 100).toFixed(1)} %  (target ≤ 10 %: ${again <= 0.1 ? 'met' : 'NOT met'}; 0 bytes: ${rec(1).readBytes === 0 && rec(1).storedBytes === 0 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `lifeboat peak RSS            ${rss.toFixed(1)} MB  (target ≤ 150: ${rss <= 150 ? 'met' : 'NOT met'}; first ${first.rssMb.toFixed(1)}, second ${second.rssMb.toFixed(1)}; the SDK-alone copy ${copy.rssMb.toFixed(1)})`,
    );
    console.log(
      `load average                 ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    client.destroy();
    await ceph?.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
