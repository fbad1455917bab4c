/**
 * Secrets: a backup whose URL carries a password — from the config through ${VAR} and as a one-off
 * --source — leaves that password in no output, log, manifest or stored file.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { filesUnder, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

const PASSWORD = 'Sup3r-S3cret-Pa55word';

async function assertNowhere(dir: string, outputs: string[]) {
  for (const text of outputs) assert.ok(!text.includes(PASSWORD), `output contains the password:\n${text}`);
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(path.join(dir, file));
    assert.ok(!bytes.includes(Buffer.from(PASSWORD)), `${file} contains the password`);
  }
}

describe('secrets', async () => {
  const pg = await withCluster({ after }, { name: 'secrets' });
  await pg.psql(`create role backup login superuser password '${PASSWORD}'; create database app;`);
  await pg.psql(`create table t (x int); insert into t values (1);`, { database: 'app' });
  const hba = path.join(pg.dataDir, 'pg_hba.conf');
  await writeFile(hba, `host all backup 127.0.0.1/32 scram-sha-256\n` + (await readFile(hba, 'utf8')));
  await pg.psql('select pg_reload_conf()');
  const url = `postgres://backup:${PASSWORD}@127.0.0.1:${pg.port}`;

  test('config with ${VAR}: backup, list, verify, check, status, and a failing run', async (t) => {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'storage');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storage} }\njobs:\n  app:\n    source: { type: postgres, url: "\${DB_URL}", databases: all }\n    storages: [disk]\n  broken:\n    source: { type: postgres, url: "\${DB_URL_BAD}" }\n    storages: [disk]\n`,
    );
    const env = { DB_URL: `${url}/postgres`, DB_URL_BAD: `${url}/missing_db` };
    const outputs: string[] = [];
    for (const args of [
      ['backup', 'app'],
      ['backup', 'app', '--json'],
      ['--log-format', 'json', 'backup', 'broken'],
      ['list'],
      ['list', '--json'],
      ['verify', '--all', '--job', 'app'],
      ['status', '--json'],
      ['check'],
      ['check', '--json'],
    ]) {
      const r = await lifeboat(['--config', config, ...args], { env });
      outputs.push(r.stdout, r.stderr);
    }
    // The runs above really happened: two backups, one failure naming the missing database.
    const list = await lifeboat(['--config', config, 'list', '--json'], { env });
    assert.equal((JSON.parse(list.stdout) as { backups: unknown[] }).backups.length, 2);
    assert.ok(outputs.some((o) => /missing_db/.test(o)));
    await assertNowhere(dir, outputs);
  });

  test('one-off --source with the password in the URL, and a failing one', async (t) => {
    const dir = await tempDir(t);
    const ok = await lifeboat(['backup', '--source', `${url}/app`, '--to', dir, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await lifeboat([
      'backup',
      '--source',
      `${url.replace('127.0.0.1', '127.0.0.2')}:1/app`,
      '--to',
      dir,
    ]);
    assert.notEqual(bad.code, 0);
    const restore = await lifeboat([
      'restore',
      'latest',
      '--from',
      dir,
      '--to',
      `${url}/restored`,
      '--create',
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    await assertNowhere(dir, [ok.stdout, ok.stderr, bad.stdout, bad.stderr, restore.stdout, restore.stderr]);
  });
});
