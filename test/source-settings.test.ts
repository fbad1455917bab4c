/**
 * Commands that do not touch the source need none of its settings: with the source URL's variable
 * unset, status, list, verify, prune and restore work from the storage alone, while backup, check,
 * drill and serve still stop with the missing variable and the field it belongs to.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

describe('a source whose variables are unset', async () => {
  const pg = await withCluster({ after }, { name: 'lazy-source' });
  await pg.psql('create database shop; ');
  await pg.psql('create table items (id int); insert into items values (1), (2);', { database: 'shop' });
  const dir = await tempDir({ after }, 'lifeboat-lazy-');
  const file = await writeConfig(
    dir,
    [
      'storages:',
      `  disk: { type: local, path: ${path.join(dir, 'backups')} }`,
      'jobs:',
      '  shop:',
      '    source: { type: postgres, url: "${SHOP_DATABASE_URL}", databases: shop }',
      '    storages: [disk]',
      '    retention: { keepLast: 1 }',
      '',
    ].join('\n'),
  );
  const withUrl = { SHOP_DATABASE_URL: pg.url('shop') };
  const without = { SHOP_DATABASE_URL: '' };
  const missing = 'jobs.shop.source.url: environment variable SHOP_DATABASE_URL is not set';

  test('status, list, verify, prune and restore read the storage without them', async (t) => {
    const backup = await lifeboat(['backup', '--config', file], { env: withUrl });
    assert.equal(backup.code, 0, backup.stderr);
    for (const args of [['status'], ['list'], ['verify', 'latest'], ['prune', '--dry-run']]) {
      const r = await lifeboat([...args, '--config', file], { env: without });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /SHOP_DATABASE_URL/);
    }
    const list = await lifeboat(['list', '--config', file, '--json'], { env: without });
    assert.equal((JSON.parse(list.stdout) as { backups: unknown[] }).backups.length, 1);
    const target = await withCluster(t, { name: 'lazy-target' });
    const restore = await lifeboat(
      ['restore', 'latest', '--config', file, '--to', target.url('shop'), '--create'],
      { env: without },
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await target.psql('select count(*) from items', { database: 'shop' }), '2\n');
  });

  for (const args of [['backup'], ['check'], ['drill', 'shop'], ['serve', '--port', '0']]) {
    test(`${args[0]} still names the missing variable and its field`, { timeout: 60_000 }, async () => {
      const r = await lifeboat([...args, '--config', file], { env: without });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(
        errorLines(r.stderr).some((l) => l.includes(missing)),
        r.stderr,
      );
    });
  }
});
