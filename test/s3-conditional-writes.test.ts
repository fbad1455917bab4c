/**
 * `conditionalWrites: false` on the real Ceph radosgw, with every request recorded by the proxy in
 * between: each object Lifeboat writes (single PutObject, or the Complete of a multipart upload)
 * is preceded by a HeadObject of that key, and a key that already holds an object is never
 * written again — the earlier backup stays byte for byte.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { startFaultProxy, type RequestInfo } from './helpers/fault-proxy.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';

/** A request as the proxy saw it: method, object key, and whether it stores an object. */
function parse(bucket: string, r: RequestInfo) {
  const url = new URL(r.url, 'http://proxy');
  const key = decodeURIComponent(url.pathname.slice(`/${bucket}/`.length));
  const q = url.searchParams;
  const writes = (r.method === 'PUT' && !q.has('partNumber')) || (r.method === 'POST' && q.has('uploadId')); // Complete
  return { method: r.method, key, writes };
}

describe('S3 conditionalWrites: false', async () => {
  const pg = await withCluster({ after }, { name: 's3-cond' });
  await pg.psql('create database app');
  // ~7 MB uncompressed: two 5 MiB parts, so the multipart path is written too.
  await createBigTable(pg, 'app', 120_000);

  async function setup(t: { after(fn: () => unknown): void }, layout?: string) {
    const bucket = await testBucket(t);
    const proxy = await startFaultProxy(bucket.server.endpoint);
    t.after(() => proxy.close());
    const seen: RequestInfo[] = [];
    // No faults: the plan's filter only records what passes.
    proxy.plan({ faults: ['error500'], match: (r) => (seen.push(r), false) });
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      `storages:\n${s3StorageYaml('offsite', {
        bucket: bucket.name,
        endpoint: proxy.endpoint,
        prefix: 'pg',
        extra: { partSizeMiB: 5, conditionalWrites: false },
      })}` +
        `jobs:\n  app:\n    source: { type: postgres, url: "\${APP_URL}" }\n    compression: { type: none }\n` +
        `    storages: [offsite]\n${layout ? `    layout: "${layout}"\n` : ''}`,
    );
    const env = { ...s3ConfigEnv(bucket.server), APP_URL: pg.url('app') };
    const requests = () => seen.splice(0).map((r) => parse(bucket.name, r));
    return { bucket, config, env, requests };
  }

  test('every write is preceded by a HeadObject of its key, multipart included', async (t) => {
    const { config, env, requests } = await setup(t);
    const backup = await lifeboat(['--config', config, 'backup', '--json'], { env });
    assert.equal(backup.code, 0, backup.stderr);
    const [result] = JSON.parse(backup.stdout) as Array<{ id: string; artifacts: Array<{ key: string }> }>;

    const log = requests();
    const writes = log.filter((r) => r.writes);
    // The artifact (multipart), its .sha256 and the manifest, at least.
    for (const key of [
      `pg/${result!.artifacts[0]!.key}`,
      `pg/${result!.artifacts[0]!.key}.sha256`,
      `pg/.lifeboat/app/${result!.id}.json`,
    ])
      assert.ok(
        writes.some((w) => w.key === key),
        `${key} written: ${JSON.stringify(writes.map((w) => w.key))}`,
      );
    assert.ok(
      log.some((r) => r.method === 'PUT' && r.key === `pg/${result!.artifacts[0]!.key}`),
      'the artifact went up in parts',
    );
    for (const [i, w] of log.entries()) {
      if (!w.writes) continue;
      const firstWrite = log.findIndex((r) => r.writes && r.key === w.key) === i;
      if (!firstWrite) continue; // the lock's heartbeat rewrites its own object on purpose
      assert.ok(
        log.slice(0, i).some((r) => r.method === 'HEAD' && r.key === w.key),
        `no HeadObject of ${w.key} before it was written`,
      );
    }
    const verify = await lifeboat(['--config', config, 'verify', 'latest'], { env });
    assert.equal(verify.code, 0, verify.stderr);
  });

  test('a key that holds an object is never written again: the earlier backup stays whole', async (t) => {
    // No {id} in the layout: the second backup's artifacts aim at the first one's keys.
    const { config, env, requests } = await setup(t, '{job}/fixed');
    const first = await lifeboat(['--config', config, 'backup', '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    const [one] = JSON.parse(first.stdout) as Array<{ artifacts: Array<{ key: string }> }>;
    const taken = new Set(one!.artifacts.flatMap((a) => [`pg/${a.key}`, `pg/${a.key}.sha256`]));
    requests();

    const second = await lifeboat(['--config', config, 'backup', '--json'], { env });
    assert.equal(second.code, 0, second.stderr);
    const [two] = JSON.parse(second.stdout) as Array<{ artifacts: Array<{ key: string }> }>;
    const log = requests();
    assert.deepEqual(
      log.filter((r) => r.writes && taken.has(r.key)),
      [],
      'no write to a key of the first backup',
    );
    assert.ok(
      log.some((r) => r.method === 'HEAD' && taken.has(r.key)),
      'the existing key was looked at',
    );
    for (const a of two!.artifacts) assert.ok(!taken.has(`pg/${a.key}`), `${a.key} is a new key`);
    // Both backups still verify: the first one's bytes are what its manifest says.
    const verify = await lifeboat(['--config', config, 'verify', '--all'], { env });
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((verify.stderr.match(/sha256 OK/g) ?? []).length, 2, verify.stderr);
  });
});
