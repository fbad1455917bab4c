/**
 * Signed manifests on Ceph S3: the signature object is written beside the manifest and minisign
 * checks the pair by hand; a backup rewritten in the bucket (a `CREATE TABLE pwned` dump, its
 * sidecar and the manifest's size and sha256 updated) fails verify and restore with exit 4 and
 * `signature FAILED`; retention removes the signature with its manifest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Manifest } from '../src/catalog/manifest.js';
import { withCluster } from './helpers/cluster.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';

test('S3: signed round trip, a rewritten backup refused, the signature pruned with its manifest', async (t) => {
  const source = await withCluster(t, { name: 's3-signing' });
  await source.psql('create database app');
  await source.psql('create table t (x int); insert into t select generate_series(1, 5);', {
    database: 'app',
  });
  const target = await withCluster(t, { name: 's3-signing-target' });
  const bucket = await testBucket(t);
  const dir = await tempDir(t);
  assert.equal((await lifeboat(['keygen', '--out', dir])).code, 0);
  const config = await writeConfig(
    dir,
    s3StorageYaml('offsite', { bucket: bucket.name, endpoint: bucket.server.endpoint, prefix: 'pg' }).replace(
      /^/,
      'storages:\n',
    ) +
      `jobs:\n  pg:\n    source: { type: postgres, url: "${source.url()}", databases: [app] }\n    storages: [offsite]\n    retention: { keepLast: 1 }\n` +
      `signing: { key: "\${LIFEBOAT_SIGNING_KEY}" }\n`,
  );
  const env = {
    ...s3ConfigEnv(bucket.server),
    LIFEBOAT_SIGNING_KEY: await readFile(path.join(dir, 'lifeboat-signing.key'), 'utf8'),
  };
  const get = async (key: string) =>
    (await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: `pg/${key}` }))).Body!;
  const put = (key: string, body: string | Buffer) =>
    bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: `pg/${key}`, Body: body }));
  const keys = async () =>
    ((await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.name }))).Contents ?? []).map(
      (o) => o.Key!,
    );

  const backup = async () => {
    const r = await lifeboat(['--config', config, 'backup', 'pg', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as Array<{ id: string }>)[0]!.id;
  };
  const id = await backup();
  const manifestKey = `.lifeboat/pg/${id}.json`;
  // By hand, on the two objects downloaded as they are.
  await writeFile(path.join(dir, `${id}.json`), await (await get(manifestKey)).transformToByteArray());
  await writeFile(
    path.join(dir, `${id}.json.minisig`),
    await (await get(`${manifestKey}.minisig`)).transformToByteArray(),
  );
  execFileSync('minisign', ['-Vm', `${id}.json`, '-p', 'lifeboat-signing.pub'], { cwd: dir, stdio: 'pipe' });
  const verify = await lifeboat(['--config', config, 'verify', 'latest'], { env });
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stderr, /signature OK/);

  // Rewrite the app dump, its sidecar and the manifest together, in the bucket.
  const manifest = JSON.parse(await (await get(manifestKey)).transformToString()) as Manifest;
  const artifact = manifest.artifacts.find((a) => a.key.endsWith('/app.sql.zst'))!;
  const bytes = execFileSync('zstd', ['-q', '-c'], { input: 'CREATE TABLE pwned (x int);\n' });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await put(artifact.key, bytes);
  await put(`${artifact.key}.sha256`, `${sha256}  app.sql.zst\n`);
  Object.assign(artifact, { size: bytes.length, sha256 });
  delete artifact.raw;
  await put(manifestKey, JSON.stringify(manifest, null, 2) + '\n');
  const tampered = await lifeboat(['--config', config, 'verify', 'latest'], { env });
  assert.equal(tampered.code, 4, tampered.stderr);
  assert.match(
    tampered.stderr,
    /signature FAILED: \.lifeboat\/pg\/.*\(the signature does not match the content\)/,
  );
  const restore = await lifeboat(
    ['--config', config, 'restore', 'latest', '--to', target.url(), '--create'],
    {
      env,
    },
  );
  assert.equal(restore.code, 4, restore.stderr);
  assert.match(restore.stderr, /signature FAILED/);
  assert.equal(
    (await target.psql(`select count(*) from pg_database where datname = 'app'`)).trim(),
    '0',
    'nothing reached the target',
  );

  // The next backup's retention removes the first one, signature included.
  await new Promise((r) => setTimeout(r, 1100));
  const second = await backup();
  const left = (await keys()).filter((k) => k.startsWith('pg/.lifeboat/pg/'));
  assert.deepEqual(left.sort(), [`pg/.lifeboat/pg/${second}.json`, `pg/.lifeboat/pg/${second}.json.minisig`]);
});
