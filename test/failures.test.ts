/**
 * Failures leave nothing: a dump killed mid-stream, the server gone, a bad password, an
 * unreachable host, an unwritable directory and a full disk all exit non-zero with one error line,
 * write no manifest, leave no temp file or artifact, and do not run retention (three earlier good
 * backups survive a job with keepLast: 1).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import type { LocalCluster } from '../src/sources/postgres/local-cluster.js';
import { withCluster } from './helpers/cluster.js';
import { errorLines, lifeboat, startLifeboat, type RunResult } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, storageContents, waitFor, writeConfig } from './helpers/scenarios.js';

const execFileAsync = promisify(execFile);

function configFor(url: string, dir: string, retention = true) {
  return `storages:\n  disk: { type: local, path: ${JSON.stringify(dir)} }\njobs:\n  app:\n    source: { type: postgres, url: "\${APP_URL}" }\n    compression: { type: none }\n    storages: [disk]\n${retention ? '    retention: { keepLast: 1 }\n' : ''}`;
}

/** Good backups in the storage before the failing run: keepLast: 1 would remove two of them. */
const PRIOR = 3;

/**
 * Three good backups of `good`'s small `postgres` database, made once for the file, before
 * retention was configured: every test starts from its own copy of them (a copy is the same
 * storage state, without three CLI runs per test).
 */
async function makePriors(t: { after(fn: () => unknown): void }, good: LocalCluster): Promise<string> {
  const dir = await tempDir(t);
  const storage = path.join(dir, 'storage');
  await writeConfig(dir, configFor('', storage, false));
  for (let i = 0; i < PRIOR; i++) {
    const prior = await lifeboat(['--config', path.join(dir, 'lifeboat.yaml'), 'backup'], {
      env: { APP_URL: good.url('postgres') },
    });
    assert.equal(prior.code, 0, prior.stderr);
  }
  return storage;
}

/**
 * A storage holding the three good backups, and the config with `keepLast: 1` that backs up the
 * test's cluster (APP_URL) into it: retention running after the failed run would remove two
 * backups, so "nothing pruned" means something.
 */
async function withGoodBackup(t: { after(fn: () => unknown): void }, priors: string) {
  const dir = await tempDir(t);
  const storage = path.join(dir, 'storage');
  await cp(priors, storage, { recursive: true, preserveTimestamps: true });
  const config = await writeConfig(dir, configFor('', storage));
  const before = await storageContents(storage);
  assert.equal(before.manifests.length, PRIOR);
  return { dir, storage, config, before };
}

async function assertNothingHalfDone(
  result: RunResult,
  storage: string,
  before: Awaited<ReturnType<typeof storageContents>>,
) {
  assert.notEqual(result.code, 0, 'exit code must be non-zero');
  const errors = errorLines(result.stderr);
  assert.equal(errors.length, 1, `exactly one error line, got:\n${result.stderr}`);
  const after = await storageContents(storage);
  assert.deepEqual(after.temp, [], 'no temp files');
  assert.deepEqual(
    after.files,
    before.files,
    'storage unchanged: no new artifact, no manifest, nothing pruned',
  );
  const list = await lifeboat(['list', '--from', storage, '--json']);
  assert.equal((JSON.parse(list.stdout) as { backups: unknown[] }).backups.length, PRIOR);
  return errors[0]!;
}

describe('failures leave nothing', async () => {
  const pg = await withCluster({ after }, { name: 'failures' });
  await pg.psql('create database app');
  // Big enough (~75 MB of dump) that a busy machine cannot finish the dump before the test strikes.
  await createBigTable(pg, 'app', 1_200_000);
  const priors = await makePriors({ after }, pg);

  test('pg_dump backend terminated mid-stream', async (t) => {
    const { storage, config, before } = await withGoodBackup(t, priors);
    const run = startLifeboat(['--config', config, 'backup'], { env: { APP_URL: pg.url('app') } });
    await waitFor('pg_dump COPY', async () => {
      const pid = await pg.psql(
        `select pid from pg_stat_activity where application_name = 'pg_dump' and query like 'COPY%'`,
      );
      if (!pid.trim()) return false;
      await pg.psql(`select pg_terminate_backend(${pid.trim()})`);
      return true;
    });
    const line = await assertNothingHalfDone(await run.done, storage, before);
    assert.match(line, /backup app failed: run pg_dump app: exited with code 1/);
  });

  test('pg_dump process killed mid-stream', async (t) => {
    const { storage, config, before } = await withGoodBackup(t, priors);
    const run = startLifeboat(['--config', config, 'backup'], { env: { APP_URL: pg.url('app') } });
    // Wait until bytes flow, then kill the dump client itself.
    await waitFor('artifact bytes', async () => (await storageContents(storage)).temp.length > 0);
    await execFileAsync('pkill', ['-KILL', '-P', String(run.child.pid), '-x', 'pg_dump']).catch((err) => {
      throw new Error(`no pg_dump to kill (the dump finished first?): ${(err as Error).message}`);
    });
    const line = await assertNothingHalfDone(await run.done, storage, before);
    assert.match(line, /pg_dump app: killed by SIGKILL/);
  });

  test('bad password', async (t) => {
    const { storage, config, before } = await withGoodBackup(t, priors);
    await pg.psql(
      `create role pwuser login password 'right-password-123'; grant pg_read_all_data to pwuser;`,
    );
    const hba = path.join(pg.dataDir, 'pg_hba.conf');
    await writeFile(hba, `host all pwuser 127.0.0.1/32 scram-sha-256\n` + (await readFile(hba, 'utf8')));
    await pg.psql('select pg_reload_conf()');
    const url = `postgres://pwuser:wrong-password-456@127.0.0.1:${pg.port}/app`;
    const r = await lifeboat(['--config', config, 'backup'], { env: { APP_URL: url } });
    assert.equal(r.code, 3);
    const line = await assertNothingHalfDone(r, storage, before);
    assert.match(line, /authentication failed/);
    assert.ok(
      !r.stderr.includes('wrong-password-456') && !r.stdout.includes('wrong-password-456'),
      'password never printed',
    );
  });

  test('unreachable host', async (t) => {
    const { storage, config, before } = await withGoodBackup(t, priors);
    const r = await lifeboat(['--config', config, 'backup'], {
      env: { APP_URL: 'postgres://postgres@127.0.0.1:1/app' },
    });
    assert.equal(r.code, 3);
    const line = await assertNothingHalfDone(r, storage, before);
    assert.match(line, /connect to 127\.0\.0\.1:1\/app/);
  });

  test('server stopped mid-dump', async (t) => {
    const other = await withCluster(t, { name: 'stopped' });
    await other.psql('create database app');
    await createBigTable(other, 'app', 1_200_000);
    const { storage, config, before } = await withGoodBackup(t, priors);
    const run = startLifeboat(['--config', config, 'backup'], { env: { APP_URL: other.url('app') } });
    await waitFor('artifact bytes', async () => (await storageContents(storage)).temp.length > 0);
    await other.stop();
    await assertNothingHalfDone(await run.done, storage, before);
  });

  test('target directory not writable', async (t) => {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'readonly');
    await mkdir(storage);
    await chmod(dir, 0o755);
    await chmod(storage, 0o555);
    // Root ignores permissions, so run lifeboat as an unprivileged user.
    const r = await lifeboat(['backup', '--source', pg.url('app'), '--to', storage], {
      uid: 65534,
      gid: 65534,
    });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /permission denied/);
    assert.deepEqual((await storageContents(storage)).files, []);
  });

  test('disk full', async (t) => {
    const storage = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-full-'));
    // One hook, in order: unmount, then remove the mount point.
    t.after(async () => {
      await execFileAsync('umount', ['-l', storage]).catch(() => {});
      await rm(storage, { recursive: true, force: true });
    });
    try {
      await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', storage]);
    } catch (err) {
      t.skip(`cannot mount a small tmpfs here: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    const r = await lifeboat(['backup', '--source', pg.url('app'), '--to', storage, '--compression', 'none']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /no space left on device/);
    assert.deepEqual((await storageContents(storage)).files, [], 'nothing left on the full disk');
  });
});
