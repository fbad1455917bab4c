/**
 * A job writing to a local directory and a real Ceph S3 bucket: `list` shows every backup once with
 * the storages that hold it; `restore` and `drill` read the first copy (configured order) that
 * passes its checksums, and say so when they fall back from a tampered one; `verify` checks every
 * copy and names the bad one.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { flipByte } from './helpers/drill.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';

describe('several storages', async () => {
  const source = await withCluster({ after }, { name: 'several-source' });
  await source.psql('create database shop');
  await source.psql('create table items (id int); insert into items select generate_series(1, 50);', {
    database: 'shop',
  });
  const bucket = await testBucket({ after });
  const dir = await tempDir({ after }, 'lifeboat-several-');
  const local = path.join(dir, 'backups');
  const storagesYaml =
    `storages:\n  disk: { type: local, path: ${JSON.stringify(local)} }\n` +
    s3StorageYaml('offsite', { bucket: bucket.name, endpoint: bucket.server.endpoint, prefix: 'pg' });
  const job = (storages: string) =>
    `jobs:\n  shop:\n    source: { type: postgres, url: "${source.url('shop')}" }\n    storages: [${storages}]\n`;
  const both = await writeConfig(dir, storagesYaml + job('disk, offsite'));
  const offsiteOnly = await writeConfig(await tempDir({ after }), storagesYaml + job('offsite'));
  const env = s3ConfigEnv(bucket.server);
  const run = (args: string[], config = both) => lifeboat(['--config', config, ...args], { env });

  // One backup in both storages, then one only in the bucket.
  const first = await run(['backup', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const [{ id: id1, artifacts }] = JSON.parse(first.stdout) as [
    {
      id: string;
      artifacts: Array<{ key: string }>;
    },
  ];
  await source.psql('insert into items values (51)', { database: 'shop' });
  const second = await run(['backup', '--json'], offsiteOnly);
  assert.equal(second.code, 0, second.stderr);
  const [{ id: id2 }] = JSON.parse(second.stdout) as [{ id: string }];

  test('list shows each backup once, with the storages that hold it', async () => {
    const list = await run(['list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const { backups } = JSON.parse(list.stdout) as { backups: Array<{ id: string; storages: string[] }> };
    assert.deepEqual(
      backups.map((b) => [b.id, b.storages]),
      [
        [id1, ['disk', 'offsite']],
        [id2, ['offsite']],
      ],
    );
    const human = await run(['list']);
    assert.match(human.stdout, /STORAGES/);
    assert.match(human.stdout, new RegExp(`${id1}\\t.*\\tdisk,offsite\\t`));
  });

  test('restore latest finds the newest backup in any storage', async (t) => {
    const target = await withCluster(t, { name: 'several-latest' });
    const restore = await run(['restore', 'latest', '--to', target.url('shop'), '--create']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, new RegExp(`restore shop ${id2} from s3://`));
    assert.equal(await target.psql('select count(*) from items', { database: 'shop' }), '51\n');
  });

  test('a tampered first copy: verify names it; restore and drill fall back to the next storage', async (t) => {
    await flipByte(path.join(local, artifacts[0]!.key));

    const verify = await run(['verify', id1]);
    assert.equal(verify.code, 4, verify.stderr);
    assert.match(verify.stderr, new RegExp(`verify shop ${id1} in disk: sha256 mismatch: `));
    assert.match(verify.stderr, new RegExp(`verify shop ${id1} in offsite: sha256 OK`));

    const target = await withCluster(t, { name: 'several-fallback' });
    const restore = await run(['restore', id1, '--to', target.url('shop'), '--create']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.ok(
      restore.stderr.includes(
        `warn: restore shop ${id1}: the copy in disk fails its checksum (verify backup ${id1}: ${artifacts[0]!.key} (sha256)); reading from offsite instead`,
      ),
      restore.stderr,
    );
    assert.match(restore.stderr, /restore OK/);
    assert.deepEqual(errorLines(restore.stderr), []);
    assert.equal(await target.psql('select count(*) from items', { database: 'shop' }), '50\n');

    const drill = await run(['drill', 'shop', '--backup', id1]);
    assert.equal(drill.code, 0, drill.stderr);
    assert.match(drill.stderr, /the copy in disk fails its checksum .*; reading from offsite instead/);
    assert.match(drill.stderr, /restore OK/);
  });
});
