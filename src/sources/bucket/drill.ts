/**
 * The drill of a bucket source (SPEC §5, "drill proves"): the index is read whole, its object count
 * and bytes compared with what the backup recorded, and every blob it references read back,
 * decoded and hashed against the index's SHA-256 and size. `drill.bucket.sample: N` checks a
 * random N % of the blobs instead (at least one), for buckets too large to read back every time.
 */
import { codecChain } from '../../codecs/chain.js';
import type { CheckResult } from '../../catalog/drill-report.js';
import { oneLine } from '../../util/errors.js';
import type { SourceDrillContext, SourceDrillResult } from '../kind.js';
import { readBack } from './blob-check.js';
import type { IndexEntry } from './index-file.js';
import type { BucketBackup } from './record.js';
import { snapshotEntries } from './restore.js';

export async function drillBucket(ctx: SourceDrillContext): Promise<SourceDrillResult> {
  const part = ctx.part as BucketBackup;
  const t0 = Date.now();
  const checks: CheckResult[] = [];
  let bytes = 0;
  const result = (stage: SourceDrillResult['stage'], error?: unknown): SourceDrillResult => ({
    stage,
    scratch: null,
    checks,
    bytes,
    restored: error === undefined,
    ...(error !== undefined ? { error } : {}),
    cleanup: [],
    timings: { scratchMs: 0, restoreMs: Date.now() - t0, checksMs: 0 },
  });
  const blobs = new Map<string, IndexEntry>();
  let objects = 0;
  let total = 0;
  try {
    for await (const e of snapshotEntries(ctx.storage, part, { keys: ctx.keys, signal: ctx.signal })) {
      objects++;
      total += e.size;
      blobs.set(e.blob, e);
    }
  } catch (err) {
    return result('restore', err);
  }
  const recorded = { objects: part.source.objects ?? objects, bytes: part.source.bytes ?? total };
  checks.push({
    name: 'objects',
    ok: objects === recorded.objects && total === recorded.bytes,
    expected: `${recorded.objects} objects, ${recorded.bytes} bytes`,
    actual: `${objects} objects, ${total} bytes`,
  });
  const sample = (ctx.drill?.bucket as { sample?: number } | undefined)?.sample;
  let chosen = [...blobs.values()];
  if (sample !== undefined && sample < 100 && chosen.length > 0) {
    const picked = chosen.filter(() => Math.random() * 100 < sample);
    chosen = picked.length ? picked : [chosen[Math.floor(Math.random() * chosen.length)]!];
  }
  const codecs = codecChain(part, ctx.keys);
  const bad: string[] = [];
  try {
    await readBack(ctx.storage, chosen, codecs, ctx.signal, {
      bytes: (n) => (bytes += n),
      bad: (e, err) => {
        bad.push(e.blob);
        ctx.log(`sha256 mismatch: ${e.blob}`);
        ctx.warn(oneLine(err));
      },
    });
  } catch (err) {
    return result('restore', err);
  }
  if (bad.length === 0) ctx.log(`sha256 OK (${chosen.length} of ${blobs.size} blobs read back)`);
  checks.push({
    name: 'blobs',
    ok: bad.length === 0,
    expected: `${sample !== undefined && sample < 100 ? `a ${sample} % sample of ` : ''}${blobs.size} blobs match their sha256`,
    actual: `${chosen.length - bad.length} of ${chosen.length} read back intact`,
    ...(bad.length
      ? { detail: `bad: ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''}` }
      : {}),
  });
  if (bad.length === 0) ctx.log('restore OK');
  return { ...result('checks'), restored: bad.length === 0 };
}
