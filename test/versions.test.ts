/**
 * Client/server version matching: a server newer than every installed pg_dump fails before any
 * dump starts, with one line naming both versions and where Lifeboat looked; an older server backs
 * up and restores with the newer tools.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { embeddedBinDir } from './helpers/embedded-postgres.js';
import { errorLines, filesUnder, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { listPgTools } from '../src/sources/postgres/binaries.js';
import { dumpForCompare } from '../src/sources/postgres/compare.js';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The newest pg_dump installed here: what Lifeboat must name when a server is newer than all. */
const newestPgDump = (await listPgTools('pg_dump')).sort((a, b) => b.major - a.major)[0];

describe('client and server versions', () => {
  test('a PostgreSQL 17 server, newer than every installed pg_dump, fails before dumping', async (t) => {
    assert.ok(newestPgDump, 'a pg_dump is installed');
    if (newestPgDump.major >= 17) {
      // The only newer server build at hand is 17 (devDependency pg17); nothing here is newer.
      t.skip(`pg_dump ${newestPgDump.version} is installed, as new as the newest server build at hand`);
      return;
    }
    const pg17 = await withCluster(t, { binDir: await embeddedBinDir('pg17'), name: 'v17' });
    assert.equal(pg17.major, 17);
    await pg17.psql('create database app');
    const dir = await tempDir(t);
    const r = await lifeboat(['backup', '--source', pg17.url('app'), '--to', dir]);
    assert.equal(r.code, 1, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.match(
      errors[0]!,
      new RegExp(
        `find pg_dump: server is PostgreSQL 17 but the newest pg_dump is (\\S+ at \\S+, )*${escape(`${newestPgDump.version} at ${newestPgDump.path}`)}(, \\S+ at \\S+)* \\(looked in `,
      ),
    );
    assert.match(errors[0]!, /hint: install postgresql-client-17/);
    assert.deepEqual(await filesUnder(dir), [], 'nothing was written');
    // No pg_dump ever connected: the refusal came from Lifeboat, not from pg_dump's own check.
    assert.doesNotMatch(r.stderr, /aborting because of server version mismatch/);
  });

  test('a PostgreSQL 14 server backs up and restores with the newer installed tools', async (t) => {
    const binDir = await embeddedBinDir('pg14');
    const pg14 = await withCluster(t, { binDir, name: 'v14' });
    assert.equal(pg14.major, 14);
    await pg14.psql('create database app');
    await pg14.psql(
      `create table items (id serial primary key, doc jsonb, tags text[]);
       insert into items (doc, tags) select jsonb_build_object('n', g), array['a', g::text] from generate_series(1, 500) g;`,
      { database: 'app' },
    );
    const dir = await tempDir(t);
    const backup = await lifeboat([
      'backup',
      '--source',
      pg14.url('app'),
      '--to',
      dir,
      '--format',
      'custom',
      '--json',
    ]);
    assert.equal(backup.code, 0, backup.stderr);
    const list = await lifeboat(['list', '--from', dir, '--json']);
    assert.equal(
      (
        JSON.parse(list.stdout) as { backups: Array<{ serverVersion: string }> }
      ).backups[0]!.serverVersion.split('.')[0],
      '14',
    );

    const target = await withCluster(t, { binDir, name: 'v14-target' });
    const restore = await lifeboat([
      'restore',
      'latest',
      '--from',
      dir,
      '--to',
      target.url('app'),
      '--create',
    ]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await dumpForCompare(target.url('app')), await dumpForCompare(pg14.url('app')));
  });
});
