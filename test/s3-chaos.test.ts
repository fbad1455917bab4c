/**
 * Chaos: `lifeboat backup` of a small real database SIGKILLed at random moments, ten times into a
 * local directory and ten times into Ceph S3, then the house is inspected. The kill delays are drawn
 * from the measured duration of an unkilled run (some before the first byte, most mid-stream, some
 * around the manifest commit) by a seeded generator: the seed is printed, and
 * LIFEBOAT_CHAOS_SEED=N replays a failing run exactly (up to the machine's timing).
 *
 * Afterwards: every backup `list` shows verifies (`verify --all`), and prune — through the library,
 * with a clock three days ahead so the grace period has passed without waiting — leaves no temp
 * file, no empty folder, no incomplete multipart upload, no unreferenced artifact and no lock.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test, type TestContext } from 'node:test';
import { executePrune, planPrune } from '../src/core/prune.js';
import { createLocalStorage } from '../src/storages/local.js';
import type { Storage } from '../src/storages/storage.js';
import { withCluster } from './helpers/cluster.js';
import { filesUnder, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { rawEntries, storageOn } from './helpers/s3-storage.js';
import { testBucket } from './helpers/s3-server.js';
import { mulberry32 } from './helpers/prng.js';

const KILLS = 10;

// A new kill schedule every run, so that CI keeps exploring; every run reports its seed (a
// diagnostic, and in every failure message) and LIFEBOAT_CHAOS_SEED=N replays it.
const SEED = Number(process.env.LIFEBOAT_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isSafeInteger(SEED)) throw new Error(`LIFEBOAT_CHAOS_SEED must be an integer, not ${SEED}`);

/** A kill moment as a fraction of an unkilled run: 20% early, 60% mid-run, 20% around the end. */
function killFraction(next: () => number): number {
  const r = next();
  if (r < 0.2) return next() * 0.35;
  if (r < 0.8) return 0.35 + next() * 0.6;
  return 0.95 + next() * 0.2;
}

interface Target {
  config: string;
  env: NodeJS.ProcessEnv;
  /** The storage as the library sees it (for prune with a clock passed in). */
  storage: Storage;
  /** Every key in the backing store: temp files, and incomplete uploads as "upload:KEY". */
  rawKeys: () => Promise<string[]>;
  /** Local only: folders under the root that hold nothing. */
  emptyFolders?: () => Promise<string[]>;
}

const JOB = 'chaos';
const LOCK = /(^|\/)\.lifeboat\/[^/]+\/lock(-break-[^/]*)?\.json$/;
const TEMP = /(^|\/)\.lifeboat-tmp-[^/]*$/;

async function emptyFoldersUnder(root: string): Promise<string[]> {
  const empty: string[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.length === 0 && dir !== root) empty.push(path.relative(root, dir));
    for (const e of entries) if (e.isDirectory()) await walk(path.join(dir, e.name));
  };
  await walk(root);
  return empty;
}

async function listedBackups(tg: Target): Promise<Array<{ id: string; artifacts: Array<{ key: string }> }>> {
  const list = await lifeboat(['--config', tg.config, 'list', JOB, '--json'], { env: tg.env });
  assert.equal(list.code, 0, list.stderr);
  return (JSON.parse(list.stdout) as { backups: Array<{ id: string; artifacts: Array<{ key: string }> }> })
    .backups;
}

async function chaos(t: TestContext, kind: string, tg: Target, seed: number): Promise<void> {
  const replay = `seed ${seed} (LIFEBOAT_CHAOS_SEED=${SEED} replays it)`;
  // Reported whatever happens below, so a failing run can always be replayed.
  t.diagnostic(replay);
  const next = mulberry32(seed);
  const backup = () => startLifeboat(['--config', tg.config, 'backup', JOB, '--json'], { env: tg.env });

  // One unkilled run: a good backup to keep, and the duration the kill moments are drawn from.
  const t0 = Date.now();
  const first = await backup().done;
  // The first run is often the slowest (cold caches); runs that finish in time shorten it.
  let duration = Date.now() - t0;
  assert.equal(first.code, 0, `${replay}\n${first.stderr}`);
  const committed = new Set([(JSON.parse(first.stdout) as Array<{ id: string }>)[0]!.id]);

  const log: string[] = [];
  let brokenLocks = 0;
  for (let i = 1; i <= KILLS; i++) {
    const delay = Math.round(killFraction(next) * duration);
    const started = Date.now();
    const run = backup();
    const finished = await Promise.race([run.done.then(() => true), sleep(delay).then(() => false)]);
    if (!finished) run.child.kill('SIGKILL');
    const r = await run.done;
    if (/broke the stale lock/.test(r.stderr)) brokenLocks++;
    log.push(`${kind} #${i}: kill at ${delay} ms of ${duration} → ${r.signal ?? `exit ${r.code}`}`);
    if (r.signal === null) {
      // Not killed in time: it must have finished like any run.
      assert.equal(r.code, 0, `${replay}\n${log.at(-1)}\n${r.stderr}`);
      committed.add((JSON.parse(r.stdout) as Array<{ id: string }>)[0]!.id);
      duration = Math.min(duration, Date.now() - started);
    }
  }
  t.diagnostic(`stale locks broken by the next run: ${brokenLocks}`);
  for (const line of log) t.diagnostic(line);
  const context = `${replay}\n${log.join('\n')}`;

  // Every listed backup is whole: committed runs are there, and all of them verify.
  const listed = await listedBackups(tg);
  const ids = listed.map((b) => b.id);
  for (const id of committed) assert.ok(ids.includes(id), `${id} listed\n${context}`);
  const verify = await lifeboat(['--config', tg.config, 'verify', '--all', '--job', JOB], { env: tg.env });
  assert.equal(verify.code, 0, `${verify.stderr}\n${context}`);

  // Prune with the grace period elapsed: three days from now, by the clock passed in.
  const now = new Date(Date.now() + 3 * 24 * 3600 * 1000);
  const warnings: string[] = [];
  const plan = await planPrune(tg.storage, { name: JOB }, {}, { now });
  assert.deepEqual(
    plan.decisions.filter((d) => !d.keep).map((d) => d.id),
    [],
    `no policy, nothing removed\n${context}`,
  );
  await executePrune(tg.storage, plan, { now, warn: (l) => warnings.push(l) });
  for (const line of warnings) t.diagnostic(`prune: ${line}`);

  const keys = await tg.rawKeys();
  const referenced = new Set(listed.flatMap((b) => b.artifacts.flatMap((a) => [a.key, `${a.key}.sha256`])));
  assert.deepEqual(
    keys.filter((k) => TEMP.test(k)),
    [],
    `no temp files\n${context}`,
  );
  assert.deepEqual(
    keys.filter((k) => k.startsWith('upload:')),
    [],
    `no incomplete multipart uploads\n${context}`,
  );
  assert.deepEqual(
    keys.filter((k) => LOCK.test(k)),
    [],
    `no lock left\n${context}`,
  );
  assert.deepEqual(
    keys.filter((k) => !k.startsWith('.lifeboat/') && !k.startsWith('upload:') && !referenced.has(k)),
    [],
    `no unreferenced artifacts\n${context}`,
  );
  assert.deepEqual(
    keys.filter((k) => k.startsWith('.lifeboat/')).sort(),
    ids.map((id) => `.lifeboat/${JOB}/${id}.json`).sort(),
    `the catalog holds exactly the listed manifests\n${context}`,
  );
  if (tg.emptyFolders) assert.deepEqual(await tg.emptyFolders(), [], `no empty folders\n${context}`);

  // Prune removed only leftovers: the same backups are listed and still verify.
  assert.deepEqual(
    (await listedBackups(tg)).map((b) => b.id),
    ids,
  );
  const again = await lifeboat(['--config', tg.config, 'verify', '--all', '--job', JOB], { env: tg.env });
  assert.equal(again.code, 0, `${again.stderr}\n${context}`);
}

describe('chaos: SIGKILLed backups, then list, verify and prune', async () => {
  const pg = await withCluster({ after }, { name: 'chaos' });
  await pg.psql('create database app');
  // ~7 MB of plain dump: more than one 5 MiB part, so S3 kills land inside multipart uploads.
  await createBigTable(pg, 'app', 100_000);
  const jobYaml = (storage: string) =>
    `jobs:\n  ${JOB}:\n    source: { type: postgres, url: "\${APP_URL}", databases: all }\n` +
    `    compression: { type: none }\n    storages: [${storage}]\n`;

  test('local storage', async (t) => {
    const dir = await tempDir(t);
    const root = path.join(dir, 'backups');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(root)} }\n` + jobYaml('disk'),
    );
    await chaos(
      t,
      'local',
      {
        config,
        env: { APP_URL: pg.url('app') },
        storage: createLocalStorage({ name: 'disk', path: root }),
        rawKeys: () => filesUnder(root),
        emptyFolders: () => emptyFoldersUnder(root),
      },
      SEED,
    );
  });

  test('S3 storage', async (t) => {
    const bucket = await testBucket(t);
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      'storages:\n' +
        s3StorageYaml('offsite', {
          bucket: bucket.name,
          endpoint: bucket.server.endpoint,
          prefix: 'pg',
          extra: { partSizeMiB: 5 },
        }) +
        jobYaml('offsite'),
    );
    await chaos(
      t,
      's3',
      {
        config,
        env: { APP_URL: pg.url('app'), ...s3ConfigEnv(bucket.server) },
        storage: storageOn(bucket, { name: 'offsite', prefix: 'pg' }),
        rawKeys: () => rawEntries(bucket, 'pg/'),
      },
      SEED + 1,
    );
  });
});
