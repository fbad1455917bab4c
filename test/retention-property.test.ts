/**
 * Property tests of retention over generated histories (seeded, so a failure names its seed and
 * replays): whatever the policy, the newest good backup is never removed, nor fewer than minKeep
 * good ones, and backups that are not good never fill a slot. First the pure policy
 * (applyRetention), then the whole prune (planPrune + executePrune) over an in-memory storage
 * holding corrupt, truncated, sidecar-less, empty, partial, future-dated, mislabelled and
 * unparseable backups. Set LIFEBOAT_PROPERTY_SEED to replay one seed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { listBackups } from '../src/catalog/catalog.js';
import { backupId, manifestKey } from '../src/catalog/layout.js';
import { executePrune, planPrune } from '../src/core/prune.js';
import { applyRetention, type RetentionItem, type RetentionPolicy } from '../src/core/retention.js';
import { verifyBackup } from '../src/core/verify.js';
import { createMemoryStorage } from '../src/storages/memory.js';
import { putText } from '../src/storages/storage.js';
import { mulberry32 } from './helpers/prng.js';

function prng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof prng>;

const fixed = process.env.LIFEBOAT_PROPERTY_SEED;
const seeds = (n: number, base: number) =>
  fixed ? [Number(fixed)] : Array.from({ length: n }, (_, i) => base + i);

const NOW = new Date('2026-12-01T12:00:00Z');
const ZONES = ['UTC', 'America/Sao_Paulo', 'Asia/Kolkata', 'Pacific/Chatham'];

function randomPolicy(r: Rng): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const rule of [
    'keepLast',
    'keepHourly',
    'keepDaily',
    'keepWeekly',
    'keepMonthly',
    'keepYearly',
  ] as const)
    if (r.chance(0.35)) policy[rule] = r.int(0, 5);
  if (r.chance(0.3)) policy.keepWithin = r.pick(['0d', '1h', '36h', '2d', '1w', '1m']);
  if (r.chance(0.7)) policy.minKeep = r.int(0, 4);
  return policy;
}

/** Times in the last ~200 days, often several a day, sometimes equal; some in the future. */
function randomTime(r: Rng, future: boolean): Date {
  if (future) return new Date(r.chance(0.5) ? Date.UTC(2099, 0, 1) : NOW.getTime() + r.int(1, 90) * 60_000);
  return new Date(NOW.getTime() - r.int(0, 200 * 24) * 3_600_000 - r.int(0, 59) * 60_000);
}

const at = (items: RetentionItem[], id: string) => items.find((i) => i.id === id)!;

describe('applyRetention over generated histories', () => {
  // One test, not one per seed (1000 entries in the report); a failure names its seed.
  test('the newest good backup is kept, at least minKeep good ones, and not-good ones fill no slot', () => {
    for (const seed of seeds(1000, 1)) {
      const r = prng(seed);
      const items: RetentionItem[] = Array.from({ length: r.int(0, 25) }, (_, i) => {
        const future = r.chance(0.08);
        const problem = r.chance(0.25) ? r.pick(['corrupt', 'incomplete', 'partial']) : undefined;
        return { id: `b${i}`, time: randomTime(r, future), problem };
      });
      const policy = randomPolicy(r);
      const decisions = applyRetention(items, policy, { timeZone: r.pick(ZONES), now: NOW });
      const ctx = `seed ${seed}: ${JSON.stringify({ policy, decisions })}`;

      assert.deepEqual(decisions.map((d) => d.id).sort(), items.map((i) => i.id).sort(), ctx);
      for (const d of decisions) assert.equal(d.keep, d.reasons.length > 0, ctx);
      const isGood = (id: string) => at(items, id).problem === undefined && at(items, id).time <= NOW;
      const good = decisions.filter((d) => isGood(d.id)); // newest first, as decisions are
      const newestGood = good[0];
      if (newestGood) assert.ok(newestGood.keep, `newest good removed; ${ctx}`);
      const minKeep = policy.minKeep ?? 1;
      assert.ok(good.filter((d) => d.keep).length >= Math.min(minKeep, good.length), `minKeep; ${ctx}`);
      for (const d of decisions.filter((x) => !isGood(x.id))) {
        assert.ok(d.problem, `not-good backup without a problem; ${ctx}`);
        // Kept exactly while newer than the newest good backup (always, with an empty policy).
        const newer = !newestGood || decisions.indexOf(d) < decisions.indexOf(newestGood);
        if (newer) assert.ok(d.keep, `a not-good backup newer than the newest good one removed; ${ctx}`);
        else if (!d.reasons.includes('no retention policy'))
          assert.ok(!d.keep, `an older not-good backup kept; ${ctx}`);
      }
      // Slots go to good backups only: keepLast N keeps at most N good ones by "last N".
      if (policy.keepLast)
        assert.ok(
          decisions.filter((d) => d.reasons.includes(`last ${policy.keepLast}`)).every((d) => isGood(d.id)),
        );
    }
  });
});

type Kind =
  | 'good'
  | 'flipped'
  | 'truncated'
  | 'no-sidecar'
  | 'empty'
  | 'partial'
  | 'future'
  | 'mislabelled'
  | 'unparseable';
const KINDS: Kind[] = [
  'flipped',
  'truncated',
  'no-sidecar',
  'empty',
  'partial',
  'future',
  'mislabelled',
  'unparseable',
];
/** Kinds whose manifest is invalid: never acted on, its files left as they are. */
const INVALID = new Set<Kind>(['empty', 'mislabelled', 'unparseable']);

/** Another backup's id (or one with a suffix no file has): never the manifest's own. */
function mislabel(r: Rng, used: Set<string>, own: string): string {
  const other = r.pick([...used]);
  return other === own || r.chance(0.3) ? `${other}-7` : other;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('prune over generated storages', () => {
  test('never removes the newest good backup nor touches invalid manifests; minKeep holds', async () => {
    for (const seed of seeds(150, 10_000)) {
      const r = prng(seed);
      const storage = createMemoryStorage();
      const n = r.int(1, 12);
      const used = new Set<string>();
      const history: Array<{ id: string; kind: Kind; time: Date; keys: string[] }> = [];
      for (let i = 0; i < n; i++) {
        const kind: Kind = r.chance(0.6) ? 'good' : r.pick(KINDS);
        let time = randomTime(r, false);
        let id = backupId(time);
        while (used.has(id)) {
          time = new Date(time.getTime() + 1000);
          id = backupId(time);
        }
        used.add(id);
        const startedAt = kind === 'future' ? randomTime(r, true) : time;
        const key = `app/${id}/app.sql.zst`;
        const bytes = Buffer.from(`dump ${seed} ${i} ${'x'.repeat(r.int(0, 40))}`);
        await putText(storage, key, bytes.toString());
        if (kind !== 'no-sidecar') await putText(storage, `${key}.sha256`, `${sha(bytes)}  app.sql.zst\n`);
        if (kind === 'flipped' || kind === 'truncated') {
          await storage.delete(key);
          const bad = Buffer.from(bytes);
          bad[0] = bad[0]! ^ 1;
          await putText(storage, key, (kind === 'flipped' ? bad : bytes.subarray(1)).toString());
        }
        const manifest = {
          format: 'lifeboat-manifest',
          version: 1,
          id: kind === 'mislabelled' ? mislabel(r, used, id) : id,
          job: 'app',
          artifacts:
            kind === 'empty' ? [] : [{ key, role: 'database', size: bytes.length, sha256: sha(bytes) }],
          startedAt: startedAt.toISOString(),
          ...(kind === 'partial' ? { partial: true, missing: [{ database: 'b', error: 'gone' }] } : {}),
        };
        const text = kind === 'unparseable' ? '{"format": "lifeboat-man' : JSON.stringify(manifest);
        await putText(storage, manifestKey('app', id), text);
        history.push({ id, kind, time, keys: [manifestKey('app', id), key, `${key}.sha256`] });
      }
      const policy = randomPolicy(r);
      const before = new Set<string>();
      for await (const o of storage.list('')) before.add(o.key);
      // Written "before" NOW, so the zero grace period below applies to every file.
      for (const key of before) storage.touch(key, new Date(NOW.getTime() - 60_000));

      // No grace period: files no valid manifest references are fair game at once, unless protected.
      const plan = await planPrune(storage, { name: 'app', layout: 'app/{id}' }, policy, {
        now: NOW,
        graceMs: 0,
      });
      await executePrune(storage, plan, { now: NOW, graceMs: 0 });
      const ctx = `seed ${seed}: ${JSON.stringify({ policy, history: history.map((h) => [h.id, h.kind]) })}`;

      const exists = async (key: string) => (await storage.stat(key)) !== undefined;
      // Invalid manifests and everything in their folder are exactly as they were.
      for (const h of history.filter((x) => INVALID.has(x.kind)))
        for (const key of h.keys) if (before.has(key)) assert.ok(await exists(key), `${key} removed; ${ctx}`);
      // Prune's view of each backup matches what was done to it.
      for (const d of plan.decisions) {
        const kind = history.find((h) => h.id === d.id)!.kind;
        // A flipped byte keeps the size: found only when prune hashes the newest good backup.
        if (kind === 'flipped') assert.ok(d.problem === undefined || d.problem.startsWith('corrupt: '), ctx);
        else assert.equal(d.problem === undefined, kind === 'good', `${d.id} ${kind}; ${ctx}`);
      }
      // The newest truly good backup is listed and verifies.
      const good = history
        .filter((h) => h.kind === 'good')
        .sort((a, b) => b.time.getTime() - a.time.getTime());
      const { manifests } = await listBackups(storage, 'app');
      if (good[0]) {
        const m = manifests.find((x) => x.id === good[0]!.id);
        assert.ok(m, `newest good backup ${good[0].id} removed; ${ctx}`);
        assert.deepEqual(await verifyBackup(storage, m), [], ctx);
      }
      // minKeep, over the backups prune counted as good.
      const counted = plan.decisions.filter((d) => d.problem === undefined);
      const remaining = counted.filter((d) => manifests.some((m) => m.id === d.id));
      assert.ok(remaining.length >= Math.min(policy.minKeep ?? 1, counted.length), `minKeep; ${ctx}`);
    }
  });
});
