/**
 * Prune removes only what Lifeboat provably wrote. A storage already holding an operator's own
 * backups (a runbook's flat `helix_kit_production_….sql.gz` at the root, `postgresql-18/…/full.sql.zst`)
 * and Lifeboat jobs adopting those layouts: backups with retention and prune never remove the
 * operator's files, and report them as not Lifeboat's. A SIGKILLed backup's files, named by the
 * intent it left, are still removed once the grace period has passed — next to the operator's.
 */
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { exists, filesUnder, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, storageContents, waitFor, writeConfig } from './helpers/scenarios.js';

const HELIX = 'helix_kit_production_2025-01-08_04-00-00.sql.gz';
const PG18 = 'postgresql-18/2025/01/08/full.sql.zst';
const FLAT = ['compression: { type: gzip }', 'layout: ""', 'name: "{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}"'];

type PruneJson = Array<{ job: string; orphans: string[]; foreign: string[] }>;

/** The operator's files, 30 days old: far past any grace period. */
async function seedOperatorFiles(storage: string, keys: string[]): Promise<void> {
  const old = new Date(Date.now() - 30 * 86_400_000);
  for (const key of keys) {
    const file = path.join(storage, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `the operator's own ${key}\n`);
    await utimes(file, old, old);
  }
}

describe('prune leaves files Lifeboat did not write', async () => {
  const pg = await withCluster({ after }, { name: 'prune-foreign' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 50);', { database: 'app' });

  async function setup(t: { after(fn: () => unknown): void }, jobs: Record<string, string[]>) {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'storage');
    const yaml = Object.entries(jobs)
      .map(([name, lines]) => `  ${name}:\n    storages: [disk]\n${lines.map((l) => `    ${l}\n`).join('')}`)
      .join('');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n${yaml}`,
    );
    return { storage, config, run: (...args: string[]) => lifeboat(['--config', config, ...args]) };
  }

  test("the runbooks' own backups survive backups with retention and prune, and are reported", async (t) => {
    const operator = [HELIX, PG18, `${PG18}.sha256`];
    const { storage, run } = await setup(t, {
      flat: [
        `source: { type: postgres, url: "${pg.url()}", databases: [app] }`,
        ...FLAT,
        'retention: { keepLast: 1 }',
      ],
      pg18: [
        `source: { type: postgres, url: "${pg.url()}", dumpall: true }`,
        'layout: "postgresql-18/{yyyy}/{MM}/{dd}"',
        'name: full',
        'retention: { keepLast: 1 }',
      ],
    });
    await seedOperatorFiles(storage, operator);
    // Twice each: the second run's retention removes the first backup (and would remove more).
    for (const job of ['flat', 'pg18', 'flat', 'pg18']) {
      const r = await run('backup', job);
      assert.equal(r.code, 0, r.stderr);
    }
    for (const key of operator) assert.equal(await exists(path.join(storage, key)), true, `${key} removed`);
    const list = await run('list', '--json');
    assert.equal((JSON.parse(list.stdout) as { backups: unknown[] }).backups.length, 2, list.stdout);

    const dry = await run('prune', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const plans = JSON.parse(dry.stdout) as PruneJson;
    // layout "" is the whole storage: the flat job sees every foreign file; pg18 its folder's.
    assert.deepEqual(
      plans.map((p) => [p.job, p.orphans, p.foreign]),
      [
        ['flat', [], [HELIX, PG18, `${PG18}.sha256`].sort()],
        ['pg18', [], [PG18, `${PG18}.sha256`]],
      ],
    );
    const real = await run('prune');
    assert.equal(real.code, 0, real.stderr);
    assert.match(
      real.stderr,
      /prune flat disk: leave 3 file\(s\) alone, not Lifeboat's .*helix_kit_production/,
    );
    assert.match(
      real.stdout,
      /^pg18\tdisk\tkeep 1\tremoved 0 backup\(s\), 0 leftover\(s\).*\t2 not Lifeboat's, left alone$/m,
    );
    for (const key of operator) assert.equal(await exists(path.join(storage, key)), true, `${key} removed`);
  });

  test("a SIGKILLed backup's files go after the grace period, the operator's beside them stay", async (t) => {
    await pg.psql('create database big');
    await createBigTable(pg, 'big', 200_000);
    const { storage, config, run } = await setup(t, {
      flat: [`source: { type: postgres, url: "${pg.url()}", databases: all }`, ...FLAT],
    });
    await seedOperatorFiles(storage, [HELIX]);

    const killed = startLifeboat(['--config', config, 'backup', 'flat']);
    await waitFor('globals committed and a dump streaming', async () => {
      const c = await storageContents(storage);
      return c.artifacts.some((f) => /^globals_.*\.sql\.gz\.sha256$/.test(f)) && c.temp.length > 0;
    });
    killed.child.kill('SIGKILL');
    assert.equal((await killed.done).signal, 'SIGKILL');
    const left = await storageContents(storage);
    assert.equal(left.manifests.length, 0);
    assert.equal(left.intents.length, 1, left.files.join('\n'));
    const leftovers = left.artifacts.filter((f) => f !== HELIX).sort();
    assert.ok(
      leftovers.some((f) => /^globals_.*\.sql\.gz$/.test(f)),
      leftovers.join('\n'),
    );

    // Within the grace period the run might still be writing: nothing of it goes.
    const early = await run('prune', '--json');
    assert.equal(early.code, 0, early.stderr);
    assert.deepEqual(
      (JSON.parse(early.stdout) as PruneJson).map((p) => [p.orphans, p.foreign]),
      [[[], [HELIX]]],
    );
    assert.deepEqual((await storageContents(storage)).artifacts.filter((f) => f !== HELIX).sort(), leftovers);

    // Two days later (every file of the run, intent included, dated back).
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    for (const f of await filesUnder(storage))
      if (f !== HELIX) await utimes(path.join(storage, f), twoDaysAgo, twoDaysAgo);
    const late = await run('prune', '--json');
    assert.equal(late.code, 0, late.stderr);
    assert.deepEqual(
      (JSON.parse(late.stdout) as PruneJson).map((p) => [p.orphans, p.foreign]),
      [[leftovers, [HELIX]]],
    );
    const after = await storageContents(storage);
    assert.deepEqual(after.artifacts, [HELIX]);
    assert.deepEqual(after.intents, [], 'the intent goes after its files');
    assert.deepEqual(after.temp, [], 'the interrupted write goes too');
  });
});
