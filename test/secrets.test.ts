/**
 * Secrets: a backup whose URL carries a password — from the config through ${VAR} and as a one-off
 * --source — leaves that password in no output, log, manifest or stored file.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { filesUnder, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';
import { freePort } from '../src/sources/postgres/local-cluster.js';

const PASSWORD = 'Sup3r-S3cret-Pa55word';
/** The drill scratch server's (drill.scratch.url): serve must mask it like the sources'. */
const SCRATCH_PASSWORD = 'Scr4tch-S3cret-Pa55word';

async function assertNowhere(dir: string, outputs: string[], password = PASSWORD) {
  for (const text of outputs) assert.ok(!text.includes(password), `output contains the password:\n${text}`);
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(path.join(dir, file));
    assert.ok(!bytes.includes(Buffer.from(password)), `${file} contains the password`);
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
    const at = `127.0.0.1:${pg.port}`;
    // Each command's exit code, and what shows it got as far as printing the source it used (the
    // place a password would leak): a command that died early must not pass for one that kept it.
    const runs: Array<[string[], number, RegExp]> = [
      [['backup', 'app'], 0, new RegExp(`backup app: ${at}/postgres → `)],
      [['backup', 'app', '--json'], 0, new RegExp(`"ok": true[^]*backup app: ${at}/postgres → `)],
      [
        ['--log-format', 'json', 'backup', 'broken'],
        3,
        new RegExp(
          `"level":"error","msg":"backup broken failed: connect to ${at}/missing_db: database does not exist"`,
        ),
      ],
      [['list'], 0, /^app\t\d{8}T\d{6}Z(-\d+)?\t[^]*\napp\t\d{8}T\d{6}Z(-\d+)?\t/m],
      [['list', '--json'], 0, /"backups": \[/],
      [['verify', '--all', '--job', 'app'], 0, /verify app \S+: sha256 OK[^]*verify app \S+: sha256 OK/],
      [['status', '--json'], 0, /"job": "broken"/],
      [
        ['check'],
        3,
        new RegExp(
          `ok   source app: PostgreSQL [\\d.]+ at ${at}[^]*FAIL source broken: connect to ${at}/missing_db`,
        ),
      ],
      [
        ['check', '--json'],
        3,
        new RegExp(`"detail": "connect to ${at}/missing_db: database does not exist"`),
      ],
    ];
    const outputs: string[] = [];
    for (const [args, code, reached] of runs) {
      const r = await lifeboat(['--config', config, ...args], { env });
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout + r.stderr, reached, args.join(' '));
      outputs.push(r.stdout, r.stderr);
    }
    const list = await lifeboat(['--config', config, 'list', '--json'], { env });
    assert.equal((JSON.parse(list.stdout) as { backups: unknown[] }).backups.length, 2);
    await assertNowhere(dir, outputs);
  });

  test('serve: a drill into a scratch server given with a password leaves it in no output, API answer, report or history', async (t) => {
    // The scratch role exists with another password than the one configured: the drill gets as
    // far as connecting with it, and fails there.
    await pg.psql(`create role drill login superuser password 'not-the-configured-one'`);
    t.after(() => pg.psql('drop role drill'));
    const dir = await tempDir(t);
    const port = await freePort();
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${path.join(dir, 'storage')} }\n` +
        `jobs:\n  app:\n    source: { type: postgres, url: "\${DB_URL}" }\n    storages: [disk]\n` +
        `    drill: { scratch: { url: "\${SCRATCH_URL}", disposable: true } }\n` +
        `server: { port: ${port}, token: secrets-token, historyFile: ${path.join(dir, 'history.db')} }\n`,
    );
    const env = {
      DB_URL: `${url}/app`,
      SCRATCH_URL: `postgres://drill:${SCRATCH_PASSWORD}@127.0.0.1:${pg.port}/postgres`,
    };
    const serve = startLifeboat(['--config', config, 'serve'], { env });
    t.after(() => serve.child.kill('SIGKILL'));
    const base = `http://127.0.0.1:${port}`;
    await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
    const headers = { authorization: 'Bearer secrets-token' };
    type Runs = { runs: Array<{ kind: string; result: string; error?: string }> };
    const runOf = async (kind: string) =>
      ((await (await fetch(`${base}/api/runs?job=app`)).json()) as Runs).runs.find((r) => r.kind === kind);
    assert.equal((await fetch(`${base}/api/jobs/app/backup`, { method: 'POST', headers })).status, 202);
    await waitFor('the backup', async () => (await runOf('backup'))?.result === 'success', 60_000);
    assert.equal((await fetch(`${base}/api/jobs/app/drill`, { method: 'POST', headers })).status, 202);
    const drill = await waitFor(
      'the drill',
      async () => {
        const r = await runOf('drill');
        return r && r.result !== 'running' ? r : undefined;
      },
      120_000,
    );
    assert.equal(drill.result, 'failure', JSON.stringify(drill));
    assert.match(JSON.stringify(drill), /password authentication failed|scratch/);
    const answers: string[] = [];
    for (const endpoint of ['/api/jobs', '/api/runs', '/status/summary', '/metrics', '/'])
      answers.push(await (await fetch(`${base}${endpoint}`)).text());
    serve.child.kill('SIGTERM');
    const served = await serve.done;
    assert.equal(served.code, 0, served.stderr);
    // dir holds the storage (backup, drill report) and the run history.
    await assertNowhere(dir, [served.stdout, served.stderr, ...answers], SCRATCH_PASSWORD);
  });

  test('one-off --source with the password in the URL, and a failing one', async (t) => {
    const dir = await tempDir(t);
    const ok = await lifeboat(['backup', '--source', `${url}/app`, '--to', dir, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    // Nothing listens on port 1: the run gets as far as connecting, and says where it tried.
    const bad = await lifeboat([
      'backup',
      '--source',
      `postgres://backup:${PASSWORD}@127.0.0.1:1/app`,
      '--to',
      dir,
    ]);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /^error: .*connect to 127\.0\.0\.1:1\/app: /m);
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
