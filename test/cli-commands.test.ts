/**
 * The CLI end to end against a real cluster: retention after backups, prune (dry run, reasons,
 * leftovers of never-committed runs past the grace period), status, check, same-day reruns at a layout without {id} and usage errors (the demo: test/demo.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { findPgTool } from '../src/sources/postgres/binaries.js';
import { withCluster } from './helpers/cluster.js';
import { exists, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { awayFromUtcMidnight, storageContents, writeConfig } from './helpers/scenarios.js';

describe('lifeboat commands', async () => {
  const pg = await withCluster({ after }, { name: 'commands' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 100);', { database: 'app' });

  async function setup(t: { after(fn: () => unknown): void }, extra = '') {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'storage');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n  app:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [disk]\n    schedule: { cron: "30 2 * * *", timezone: America/Sao_Paulo }\n${extra}`,
    );
    return { dir, storage, config };
  }

  test('retention runs after each successful backup and keeps the newest', async (t) => {
    const { storage, config } = await setup(t, '    retention: { keepLast: 2 }\n');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await lifeboat(['--config', config, 'backup', '--json']);
      assert.equal(r.code, 0, r.stderr);
      ids.push((JSON.parse(r.stdout) as Array<{ id: string }>)[0]!.id);
    }
    const list = await lifeboat(['--config', config, 'list', '--json']);
    const listed = (JSON.parse(list.stdout) as { backups: Array<{ id: string }> }).backups.map((b) => b.id);
    assert.deepEqual(listed, ids.slice(1));
    // The removed backup's files are gone too, not just its manifest.
    const contents = await storageContents(storage);
    // By whole path segment: a backup in the same second gets the id …Z-2, which contains the removed id.
    const ofRemoved = (f: string) => f.split('/').some((seg) => seg === ids[0] || seg === `${ids[0]}.json`);
    assert.ok(!contents.files.some(ofRemoved), contents.files.join('\n'));
  });

  test('prune --dry-run says what it would remove and why; prune removes it', async (t) => {
    const { storage, config } = await setup(t);
    for (let i = 0; i < 3; i++) assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    const cfg2 = config.replace(/lifeboat\.yaml$/, 'keep1.yaml');
    await writeFile(
      cfg2,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n  app:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [disk]\n    retention: { keepLast: 1 }\n`,
    );
    const dry = await lifeboat(['--config', cfg2, 'prune', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = (
      JSON.parse(dry.stdout) as Array<{ keep: Array<{ id: string; reasons: string[] }>; remove: string[] }>
    )[0]!;
    assert.equal(plan.keep.length, 1);
    assert.deepEqual(plan.keep[0]!.reasons, ['last 1']);
    assert.equal(plan.remove.length, 2);
    assert.match(dry.stderr, /would remove/);
    assert.equal((await storageContents(storage)).manifests.length, 3, 'dry run removes nothing');

    const real = await lifeboat(['--config', cfg2, 'prune']);
    assert.equal(real.code, 0, real.stderr);
    assert.equal((await storageContents(storage)).manifests.length, 1);
  });

  test('prune removes leftovers only after the grace period, and only those an intent names', async (t) => {
    const { storage, config } = await setup(t);
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    const folder = path.join(storage, 'app', '2020', '01', '01', '20200101T000000Z');
    await mkdir(folder, { recursive: true });
    const old = path.join(folder, 'app.sql.zst');
    const oldTemp = path.join(folder, '.lifeboat-tmp-1-abcd-app.sql.zst');
    const fresh = path.join(folder, 'fresh.sql.zst');
    const stray = path.join(folder, 'stray.sql.zst');
    const foreign = path.join(folder, 'notes.txt');
    // What killed runs leave: an intent naming the keys they were writing (one old, one fresh).
    const intent = (id: string, keys: string[]) =>
      JSON.stringify({
        format: 'lifeboat-intent',
        version: 1,
        job: 'app',
        id,
        keys,
        host: 'h',
        pid: 1,
        started: '',
      });
    const key = (f: string) => path.relative(storage, f);
    const oldIntent = path.join(storage, '.lifeboat', 'app', '20200101T000000Z.pending.json');
    const freshIntent = path.join(storage, '.lifeboat', 'app', '20200101T000001Z.pending.json');
    await writeFile(oldIntent, intent('20200101T000000Z', [key(old), `${key(old)}.sha256`]));
    await writeFile(freshIntent, intent('20200101T000001Z', [key(fresh)]));
    for (const f of [old, oldTemp, fresh, stray, foreign]) await writeFile(f, 'x');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    for (const f of [old, oldTemp, stray, foreign, oldIntent, fresh]) await utimes(f, twoDaysAgo, twoDaysAgo);
    const r = await lifeboat(['--config', config, 'prune']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await exists(old), false, 'old artifact of a run that never committed removed');
    assert.equal(await exists(oldIntent), false, 'its intent removed after it');
    assert.equal(await exists(oldTemp), false, 'old temp file removed');
    assert.equal(await exists(fresh), true, 'a file of a run younger than the grace period stays');
    assert.equal(await exists(freshIntent), true);
    assert.equal(await exists(stray), true, "an artifact no intent names is not Lifeboat's: it stays");
    assert.match(
      r.stderr,
      /leave 1 file\(s\) alone, not Lifeboat's .*: app\/2020\/01\/01\/20200101T000000Z\/stray\.sql\.zst$/m,
    );
    assert.equal(await exists(foreign), true, 'files Lifeboat did not write stay');
    assert.equal((await storageContents(storage)).manifests.length, 1, 'the committed backup stays');
  });

  test('status shows the last backup, its size and the next run', async (t) => {
    const { config } = await setup(t);
    const before = await lifeboat(['--config', config, 'status']);
    assert.match(before.stdout, /app\tno backup yet\tdrill: never\tnext: 20\d\d-/);
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    const r = await lifeboat(['--config', config, 'status', '--json']);
    const job = (
      JSON.parse(r.stdout) as {
        jobs: Array<{ job: string; lastBackup: { size: number; ageSeconds: number }; nextRun: string }>;
      }
    ).jobs[0]!;
    assert.equal(job.job, 'app');
    assert.ok(job.lastBackup.size > 0);
    assert.ok(job.lastBackup.ageSeconds < 60);
    // 02:30 in São Paulo (UTC-3) is 05:30 UTC.
    assert.match(job.nextRun, /T05:30:00\.000Z$/);
  });

  test('check reports each source and storage on one line, and fails with exit 3 when one is unreachable', async (t) => {
    const { config } = await setup(t);
    const ok = await lifeboat(['--config', config, 'check']);
    assert.equal(ok.code, 0, ok.stderr);
    // The versions installed here: the cluster's server, and the pg_dump Lifeboat picks for it.
    const pgDump = await findPgTool('pg_dump', { minMajor: pg.major });
    assert.ok(
      ok.stdout
        .split('\n')
        .includes(
          `ok\tsource app\tPostgreSQL ${pg.version} at 127.0.0.1:${pg.port}, 1 database(s) (app), pg_dump ${pgDump.version}`,
        ),
      ok.stdout,
    );
    assert.match(ok.stdout, /^ok\tstorage disk\twrite, read back and delete OK at /m);

    const bad = await setup(t);
    await writeFile(
      bad.config,
      `storages:\n  disk: { type: local, path: ${bad.storage} }\njobs:\n  app:\n    source: { type: postgres, url: "postgres://postgres@127.0.0.1:1/app" }\n    storages: [disk]\n`,
    );
    const r = await lifeboat(['--config', bad.config, 'check']);
    assert.equal(r.code, 3);
    assert.match(r.stdout, /^FAIL\tsource app\tconnect to 127\.0\.0\.1:1\/app: /m);
    assert.match(r.stdout, /^ok\tstorage disk\t/m);
  });

  test('a layout without {id}: a second run the same day gets numbered names, never overwrites', async (t) => {
    const { storage, config } = await setup(t, '    layout: "{job}/{yyyy}-{MM}-{dd}"\n');
    await awayFromUtcMidnight();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await lifeboat(['--config', config, 'backup', '--json']);
      assert.equal(r.code, 0, r.stderr);
      ids.push((JSON.parse(r.stdout) as Array<{ id: string }>)[0]!.id);
    }
    const day = `${ids[0]!.slice(0, 4)}-${ids[0]!.slice(4, 6)}-${ids[0]!.slice(6, 8)}`;
    const { artifacts } = await storageContents(storage);
    assert.deepEqual(
      artifacts,
      ['app.sql.zst', 'app-2.sql.zst', 'app-3.sql.zst']
        .flatMap((f) => [f, `${f}.sha256`])
        .map((f) => `app/${day}/${f}`)
        .sort(),
    );
    const list = await lifeboat(['--config', config, 'list', '--json']);
    const listed = (
      JSON.parse(list.stdout) as { backups: Array<{ id: string; artifacts: Array<{ key: string }> }> }
    ).backups;
    assert.deepEqual(
      listed.map((b) => [b.id, b.artifacts.map((a) => a.key)]),
      ids.map((id, i) => [id, [`app/${day}/app${i ? `-${i + 1}` : ''}.sql.zst`]]),
    );
    assert.equal((await lifeboat(['--config', config, 'verify', '--all'])).code, 0);
  });

  test('usage errors exit 2 with one line', async () => {
    for (const args of [
      ['frobnicate'],
      ['restore', 'not-an-id', '--from', '/tmp', '--to', 'postgres://x@y/z'],
      ['backup', '--source', 'mysql://x', '--to', '/tmp/x'],
      ['--config', '/nonexistent/lifeboat.yaml', 'list'],
    ]) {
      const r = await lifeboat(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const help = await lifeboat(['--help']);
    assert.equal(help.code, 0);
    for (const cmd of ['backup', 'list', 'verify', 'restore', 'prune', 'status', 'check', 'demo'])
      assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`));
  });
});
