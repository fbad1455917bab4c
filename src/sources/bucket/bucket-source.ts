/**
 * `type: bucket`: one artifact per source, the snapshot's index (`{source}.index.jsonl.zst`), while
 * the objects' contents go to the job's storages as content-addressed blobs (blobs.ts) as the index
 * is written (snapshot.ts). Planning reaches the bucket (one listing page), so a wrong endpoint,
 * bucket or credential stops the run before anything is written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { normalizePrefix, s3Location, printableEndpoint } from '../../storages/s3/url.js';
import { LifeboatError } from '../../util/errors.js';
import { LIFEBOAT_VERSION } from '../../util/version.js';
import type { PlannedArtifact, Source, SourcePlan } from '../source.js';
import { openBucket, type BucketClient } from './bucket-client.js';
import { connectionOf, type BucketSourceConfig } from './config.js';
import { previousIndex } from './previous.js';
import type { BucketSourceRecord } from './record.js';
import { startSnapshot, type SnapshotTotals } from './snapshot.js';

/** Lists one page: the bucket answers, with these credentials, under this prefix. */
export async function reachBucket(client: BucketClient, prefix: string, signal: AbortSignal): Promise<void> {
  for await (const _ of client.list(prefix, signal)) break;
}

export function createBucketSource(cfg: BucketSourceConfig): Source {
  const prefix = normalizePrefix(cfg.prefix);
  const location = s3Location(cfg.bucket, prefix);
  const endpoint = cfg.endpoint ? printableEndpoint(cfg.endpoint) : undefined;
  return {
    description: `bucket ${location}${endpoint ? ` at ${endpoint}` : ''}`,
    async plan(signal, ctx): Promise<SourcePlan> {
      const probe = openBucket(connectionOf(cfg), cfg.bucket);
      try {
        await reachBucket(probe, prefix, signal);
      } finally {
        probe.destroy();
      }
      const record: BucketSourceRecord = {
        kind: 'bucket',
        tool: { name: 'lifeboat', version: LIFEBOAT_VERSION },
        ...(endpoint ? { endpoint } : {}),
        bucket: cfg.bucket,
        prefix,
        exclude: cfg.exclude,
      };
      let totals: SnapshotTotals | undefined;
      const index: PlannedArtifact = {
        role: 'index',
        baseName: '{source}',
        extension: '.index.jsonl',
        async open(runSignal) {
          if (!ctx) throw new LifeboatError('failed', `back up ${location}: no backup run to store blobs in`);
          const tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bucket-'));
          const client = openBucket(connectionOf(cfg), cfg.bucket);
          const previous = await previousIndex(ctx, { bucket: cfg.bucket, endpoint }, runSignal);
          if (previous) record.previous = previous.id;
          const run = startSnapshot({
            client,
            prefix,
            exclude: cfg.exclude,
            concurrency: cfg.concurrency,
            ctx,
            previous,
            tmp,
            signal: runSignal,
          });
          totals = run.totals;
          const stream = Readable.from(run.lines, { objectMode: false });
          const done = new Promise<void>((resolve, reject) => {
            stream.once('end', resolve);
            stream.once('error', reject);
            stream.once('close', () =>
              stream.readableEnded ? resolve() : reject(new Error('index stream closed early')),
            );
          }).finally(async () => {
            client.destroy();
            await rm(tmp, { recursive: true, force: true });
            const t = run.totals;
            Object.assign(record, {
              objects: t.objects,
              bytes: t.bytes,
              read: t.read,
              readBytes: t.readBytes,
              stored: t.stored,
              storedBytes: t.storedBytes,
              ...(t.skipped.length ? { skipped: t.skipped } : {}),
            });
          });
          done.catch(() => {});
          return { stream, osPipe: false, done };
        },
        warnings: () => (totals?.skipped ?? []).map((k) => `vanished between list and read, skipped: ${k}`),
      };
      return {
        record,
        extension: '.index.jsonl',
        artifacts: [index],
        summary: `${location}${endpoint ? ` at ${endpoint}` : ''}`,
      };
    },
  };
}
