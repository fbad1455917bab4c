/**
 * libpq conventions for the source, against a real cluster: the database comes from the URL, else
 * the service, else PGDATABASE, else libpq's default (the user name) — all databases only with
 * `databases: all`; a service file (PGSERVICE) and a password file (PGPASSFILE, with the cluster
 * asking for scram-sha-256) work for Lifeboat's own connections and for pg_dump alike.
 */
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

type HasAfter = { after(fn: () => unknown): void };

describe('libpq conventions', async () => {
  const pg = await withCluster({ after }, { name: 'libpq' });
  await pg.psql(`create database shop; create role app_pw login password 'pw-in-passfile';`);
  await pg.psql(
    `create table items (id int); insert into items values (1), (2), (3); grant select on items to app_pw;`,
    { database: 'shop' },
  );
  // Password authentication for app_pw over TCP (first match wins, so it goes before the trust lines).
  const hba = path.join(pg.dataDir, 'pg_hba.conf');
  await writeFile(hba, `host all app_pw 127.0.0.1/32 scram-sha-256\n${await readFile(hba, 'utf8')}`);
  await pg.psql('select pg_reload_conf()');
  const base = `postgres://postgres@127.0.0.1:${pg.port}`;

  /** Backs up with `source` (YAML flow map) under `env`; returns the result and the committed manifests. */
  async function backup(t: HasAfter, source: string, env: NodeJS.ProcessEnv = {}) {
    const dir = await tempDir(t, 'lifeboat-libpq-');
    const file = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${dir}/b }\njobs:\n  app:\n    source: ${source}\n    storages: [disk]\n`,
    );
    const r = await lifeboat(['backup', '--config', file, '--json'], {
      env: { PGDATABASE: undefined, PGSERVICE: undefined, PGPASSFILE: undefined, PGUSER: undefined, ...env },
    });
    const list = await lifeboat(['list', '--config', file, '--json']);
    const backups = (
      JSON.parse(list.stdout || '{"backups":[]}') as { backups: Array<{ mode: string; databases: string[] }> }
    ).backups;
    return { r, backups };
  }

  test('PGDATABASE picks the database when the URL names none', async (t) => {
    const { r, backups } = await backup(t, `{ type: postgres, url: "${base}" }`, { PGDATABASE: 'shop' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      backups.map((b) => [b.mode, b.databases]),
      [['database', ['shop']]],
    );
  });

  test('the URL database wins over PGDATABASE; all databases only with databases: all', async (t) => {
    const named = await backup(t, `{ type: postgres, url: "${base}/shop" }`, { PGDATABASE: 'postgres' });
    assert.deepEqual(
      named.backups.map((b) => b.databases),
      [['shop']],
    );
    const all = await backup(t, `{ type: postgres, url: "${base}", databases: all }`, { PGDATABASE: 'shop' });
    assert.equal(all.r.code, 0, all.r.stderr);
    assert.deepEqual(
      all.backups.map((b) => [b.mode, b.databases]),
      [['databases', ['postgres', 'shop']]],
    );
  });

  test('with no database named anywhere, libpq default: the database named after the user', async (t) => {
    const own = await backup(t, `{ type: postgres, url: "${base}" }`);
    assert.equal(own.r.code, 0, own.r.stderr);
    assert.deepEqual(
      own.backups.map((b) => [b.mode, b.databases]),
      [['database', ['postgres']]],
    );
    // A user without a database of its name: the error says where the name came from.
    const missing = await backup(
      t,
      `{ type: postgres, url: "postgres://app_pw:pw-in-passfile@127.0.0.1:${pg.port}" }`,
    );
    assert.equal(missing.r.code, 3, missing.r.stderr);
    assert.match(missing.r.stderr, /database does not exist/);
    assert.match(missing.r.stderr, /libpq's default \(the user name "app_pw"\)/);
  });

  test('a service file and a password file (scram-sha-256)', async (t) => {
    const dir = await tempDir(t, 'lifeboat-libpq-files-');
    const serviceFile = path.join(dir, 'pg_service.conf');
    await writeFile(
      serviceFile,
      `# the operator's services\n[other]\ndbname=postgres\n\n[shop]\nhost=127.0.0.1\nport=${pg.port}\nuser=app_pw\ndbname=shop\n`,
    );
    const passfile = path.join(dir, 'pgpass');
    await writeFile(passfile, `# host:port:db:user:password\n127.0.0.1:${pg.port}:*:app_pw:pw-in-passfile\n`);
    await chmod(passfile, 0o600);
    const files = { PGSERVICEFILE: serviceFile, PGPASSFILE: passfile };

    const viaEnv = await backup(t, `{ type: postgres, url: "postgres://" }`, { ...files, PGSERVICE: 'shop' });
    assert.equal(viaEnv.r.code, 0, viaEnv.r.stderr);
    assert.doesNotMatch(viaEnv.r.stderr, /Deprecation/);
    assert.deepEqual(
      viaEnv.backups.map((b) => [b.mode, b.databases]),
      [['database', ['shop']]],
    );
    const viaUrl = await backup(t, `{ type: postgres, url: "postgres:///?service=shop" }`, files);
    assert.equal(viaUrl.r.code, 0, viaUrl.r.stderr);

    // The password file is what lets it in: without it, the server refuses app_pw.
    const noPassfile = await backup(t, `{ type: postgres, url: "postgres://" }`, {
      PGSERVICEFILE: serviceFile,
      PGSERVICE: 'shop',
      PGPASSFILE: path.join(dir, 'none'),
    });
    assert.equal(noPassfile.r.code, 3, noPassfile.r.stderr);
    assert.match(noPassfile.r.stderr, /authentication failed|password/);

    // Like libpq, a password file others can read is ignored.
    await chmod(passfile, 0o644);
    const loose = await backup(
      t,
      `{ type: postgres, url: "${base.replace('postgres@', 'app_pw@')}/shop" }`,
      files,
    );
    assert.equal(loose.r.code, 3, loose.r.stderr);
    await chmod(passfile, 0o600);
    const plain = await backup(
      t,
      `{ type: postgres, url: "${base.replace('postgres@', 'app_pw@')}/shop" }`,
      files,
    );
    assert.equal(plain.r.code, 0, plain.r.stderr);
    assert.doesNotMatch(plain.r.stderr, /Deprecation/);
  });

  test('an unknown service is a config error', async (t) => {
    const dir = await tempDir(t, 'lifeboat-libpq-files-');
    const { r } = await backup(t, `{ type: postgres, url: "postgres://" }`, {
      PGSERVICEFILE: path.join(dir, 'missing.conf'),
      PGSYSCONFDIR: dir,
      PGSERVICE: 'nope',
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /read service "nope": no such service/);
  });
});
