/**
 * The bucket bench's reference: what `aws s3 sync s3://FROM s3://TO` does without server-side
 * copy, done by the AWS SDK alone: list, then GetObject → PutObject with the response body
 * streamed straight into the put, 10 objects at once (as the AWS CLI does). Plain JavaScript in a
 * process of its own, started by bench/bucket.ts with bench/rss-probe.mjs preloaded, so its peak
 * RSS is measured as lifeboat's is (no TypeScript loader in either).
 * Usage: node bench/sdk-copy.mjs FROM TO, with the server in LIFEBOAT_S3_ENDPOINT, _REGION,
 * _ACCESS_KEY, _SECRET_KEY. Prints {"ms": …}: the copy's own time, listing included.
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const [from, to] = process.argv.slice(2);
const env = process.env;
const client = new S3Client({
  endpoint: env.LIFEBOAT_S3_ENDPOINT,
  region: env.LIFEBOAT_S3_REGION || 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: env.LIFEBOAT_S3_ACCESS_KEY ?? '',
    secretAccessKey: env.LIFEBOAT_S3_SECRET_KEY ?? '',
  },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

const started = performance.now();
const keys = [];
let token;
do {
  const page = await client.send(new ListObjectsV2Command({ Bucket: from, ContinuationToken: token }));
  for (const o of page.Contents ?? []) keys.push({ key: o.Key, size: o.Size ?? 0 });
  token = page.IsTruncated ? page.NextContinuationToken : undefined;
} while (token);
let next = 0;
await Promise.all(
  Array.from({ length: 10 }, async () => {
    while (next < keys.length) {
      const { key, size } = keys[next++];
      const got = await client.send(new GetObjectCommand({ Bucket: from, Key: key }));
      await client.send(new PutObjectCommand({ Bucket: to, Key: key, Body: got.Body, ContentLength: size }));
    }
  }),
);
process.stdout.write(`${JSON.stringify({ ms: performance.now() - started })}\n`);
client.destroy();
