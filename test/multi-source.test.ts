/**
 * A job with several named sources (SPEC §5): two PostgreSQL servers, both with a database named
 * "app", back up into ONE backup (one id, one manifest), each source's artifacts in its own folder;
 * the backup lists, verifies, restores one source by name (`restore --source`), and drills both,
 * each check running against the source it names. A failure of either source fails the whole run:
 * no manifest, the other source's artifacts removed, no retention.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { withCluster } from './helpers/cluster.js';
import { readManifestFile } from './helpers/drill.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { storageContents, writeConfig } from './helpers/scenarios.js';

describe('a job with two PostgreSQL sources', async () => {
  const [ordersPg, usersPg] = await Promise.all([
    withCluster({ after }, { name: 'multi-orders' }),
    withCluster({ after }, { name: 'multi-users' }),
  ]);
  await Promise.all([ordersPg.psql('create database app'), usersPg.psql('create database app')]);
  await ordersPg.psql(
    `create table orders (id int primary key, note text); insert into orders values (1, 'a'), (2, 'b'), (3, 'c');`,
    { database: 'app' },
  );
  await usersPg.psql(
    `create role app_owner nologin; create table users (id int primary key, name text);
     alter table users owner to app_owner; insert into users values (1, 'ann'), (2, 'bob');`,
    { database: 'app' },
  );
  const dir = await tempDir({ after }, 'lifeboat-multi-');
  const storage = path.join(dir, 'backups');
  const jobYaml = (usersUrl: string) =>
    `storages:\n  disk: { type: local, path: ${JSON.stringify(storage)} }\n` +
    `jobs:\n  shop:\n    sources:\n` +
    `      orders: { type: postgres, url: "${ordersPg.url('app')}" }\n` +
    `      users: { type: postgres, url: "${usersUrl}", databases: [app] }\n` +
    `    storages: [disk]\n    retention: { keepLast: 1 }\n` +
    `    drill:\n      checks:\n` +
    `        - { name: orders present, source: orders, sql: "select count(*) from orders", expect: "= 3" }\n` +
    `        - { name: users present, source: users, database: app, sql: "select count(*) from users", expect: "= 2" }\n`;
  const config = await writeConfig(dir, jobYaml(usersPg.url()));
  const backup = await lifeboat(['--config', config, 'backup', '--json']);
  assert.equal(backup.code, 0, backup.stderr);
  const [{ id }] = JSON.parse(backup.stdout) as [{ id: string }];

  test('one backup, one manifest: each source with its kind and identity, each artifact in its source folder', async () => {
    const { manifests } = await storageContents(storage);
    assert.deepEqual(manifests, [`.lifeboat/shop/${id}.json`]);
    const m = await readManifestFile(storage, 'shop', id);
    assert.equal(m.version, 2);
    assert.deepEqual(Object.keys(m.sources), ['orders', 'users']);
    assert.equal(m.sources.orders!.kind, 'postgres');
    assert.equal(m.sources.orders!.port, ordersPg.port);
    assert.equal(m.sources.orders!.mode, 'database');
    assert.deepEqual(m.sources.orders!.databases, ['app']);
    assert.equal(m.sources.users!.port, usersPg.port);
    assert.equal(m.sources.users!.mode, 'databases');
    assert.deepEqual(
      m.artifacts.map((a) => [a.source, path.posix.relative(`shop`, a.key).split('/').slice(4).join('/')]),
      [
        ['orders', 'orders/app.sql.zst'],
        ['users', 'users/globals.sql.zst'],
        ['users', 'users/app.sql.zst'],
      ],
    );
  });

  test('list shows the backup once, with both sources', async () => {
    const r = await lifeboat(['--config', config, 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [row, ...rest] = (JSON.parse(r.stdout) as { backups: Array<Record<string, unknown>> }).backups;
    assert.equal(rest.length, 0);
    assert.equal(row!.id, id);
    assert.deepEqual(row!.sources, {
      orders: { kind: 'postgres', databases: ['app'] },
      users: { kind: 'postgres', databases: ['app'] },
    });
  });

  test('verify checks every artifact of both sources', async () => {
    const r = await lifeboat(['--config', config, 'verify', id, '--job', 'shop']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('restore --source NAME restores that source only; without it, or with an unknown name: exit 2', async (t) => {
    const target = await withCluster(t, { name: 'multi-target' });
    const none = await lifeboat(['--config', config, 'restore', id, '--job', 'shop', '--to', target.url()]);
    assert.equal(none.code, 2, none.stderr);
    assert.deepEqual(errorLines(none.stderr), [
      `error: restore shop ${id}: the backup holds 2 sources (orders, users); name one with --source`,
    ]);
    const unknown = await lifeboat([
      ...['--config', config, 'restore', id, '--job', 'shop'],
      ...['--source', 'nope', '--to', target.url()],
    ]);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /no source named "nope" \(the backup holds orders, users\)/);

    const r = await lifeboat([
      ...['--config', config, 'restore', id, '--job', 'shop'],
      ...['--source', 'users', '--create', '--to', target.url(), '--json'],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).source, 'users');
    assert.equal((await target.psql('select count(*) from users', { database: 'app' })).trim(), '2');
    // The users source only: the other server's table did not come along.
    assert.equal(
      (await target.psql(`select to_regclass('orders') is null`, { database: 'app' })).trim(),
      't',
    );
  });

  test('drill restores and checks both sources; each check runs against its own', async () => {
    const r = await lifeboat(['--config', config, 'drill', 'shop', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [report] = JSON.parse(r.stdout) as Array<{
      ok: boolean;
      checks: Array<{ name: string; ok: boolean; actual: string }>;
      backup: { sources: Record<string, unknown> };
    }>;
    assert.equal(report!.ok, true, JSON.stringify(report!.checks));
    const byName = Object.fromEntries(report!.checks.map((c) => [c.name, c]));
    assert.equal(byName['orders: orders present']?.actual, '3');
    assert.equal(byName['users: users present']?.actual, '2');
    assert.equal(byName['orders: rows app: public.orders']?.ok, true);
    assert.equal(byName['users: rows app: public.users']?.ok, true);
    assert.deepEqual(Object.keys(report!.backup.sources), ['orders', 'users']);
  });

  test('a failing source fails the run: no manifest, the other source`s artifacts removed, no retention', async () => {
    // A role that may connect but not read the table: planning passes, its pg_dump fails.
    await usersPg.psql(`create role weak login; grant connect on database app to weak;`);
    const before = await storageContents(storage);
    const weak = await writeConfig(dir, jobYaml(usersPg.url().replace('postgres@', 'weak@')));
    const r = await lifeboat(['--config', weak, 'backup', 'shop']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    // It failed dumping (after the orders source's artifact was written), not planning.
    assert.match(errorLines(r.stderr)[0]!, /pg_dump/);
    const after = await storageContents(storage);
    assert.deepEqual(after.manifests, before.manifests);
    assert.deepEqual(after.artifacts, before.artifacts);
    assert.deepEqual(after.intents, []);
  });
});

describe('config of a job with sources', () => {
  const job = (body: string) => ({
    storages: { disk: { type: 'local', path: '/b' } },
    jobs: { app: { storages: ['disk'], ...JSON.parse(body) } },
  });
  const pgSource = { type: 'postgres', url: 'postgres://h/db' };
  const refused = (cfg: unknown, message: string) =>
    assert.throws(
      () => parseConfig(cfg, 'x.yaml'),
      (err: Error) => err.message.includes(message),
    );

  test('source: is the one source named main; sources: keeps its names', () => {
    const one = parseConfig(job(JSON.stringify({ source: pgSource })), 'x.yaml');
    assert.deepEqual(Object.keys(one.jobs.app!.sources), ['main']);
    const two = parseConfig(job(JSON.stringify({ sources: { a: pgSource, b: pgSource } })), 'x.yaml');
    assert.deepEqual(Object.keys(two.jobs.app!.sources), ['a', 'b']);
  });

  test('exactly one of source: and sources:; a check in a multi-source job names an existing source', () => {
    refused(job('{}'), 'jobs.app.source: required (or sources: with named sources)');
    refused(
      job(JSON.stringify({ source: pgSource, sources: { a: pgSource } })),
      'jobs.app.sources: a job has either source: or sources:, not both',
    );
    refused(job(JSON.stringify({ sources: {} })), 'jobs.app.sources: expected at least one source');
    const check = (c: object) => ({
      sources: { a: pgSource, b: pgSource },
      drill: { checks: [{ name: 'c', sql: 'select 1', expect: 1, ...c }] },
    });
    refused(
      job(JSON.stringify(check({}))),
      'jobs.app.drill.checks[0].source: required in a job with several sources (a, b)',
    );
    refused(
      job(JSON.stringify(check({ source: 'z' }))),
      'jobs.app.drill.checks[0].source: no source named "z" (have: a, b)',
    );
    parseConfig(job(JSON.stringify(check({ source: 'b' }))), 'x.yaml');
  });

  test('an SQL check names a postgres or sqlite source; one on another kind could only fail', () => {
    const files = { type: 'files', paths: ['/srv/data'] };
    const sqlite = { type: 'sqlite', path: '/srv/state.db' };
    const checks = { checks: [{ name: 'c', sql: 'select 1', expect: 1 }] };
    refused(
      job(JSON.stringify({ source: files, drill: checks })),
      `jobs.app.drill.checks[0].source: an SQL check runs against a postgres or sqlite source; the job's source is files`,
    );
    refused(
      job(
        JSON.stringify({
          sources: { db: pgSource, repos: files },
          drill: { checks: [{ ...checks.checks[0], source: 'repos' }] },
        }),
      ),
      'jobs.app.drill.checks[0].source: an SQL check runs against a postgres or sqlite source; "repos" is files',
    );
    parseConfig(job(JSON.stringify({ source: sqlite, drill: checks })), 'x.yaml');
    // http checks reach a URL, whatever the job's sources are.
    parseConfig(
      job(
        JSON.stringify({
          source: files,
          drill: { checks: [{ type: 'http', name: 'h', url: 'http://127.0.0.1:1/' }] },
        }),
      ),
      'x.yaml',
    );
  });
});
