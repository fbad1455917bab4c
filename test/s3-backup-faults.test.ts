/**
 * `lifeboat backup` to S3 through the fault-injecting proxy, with the real CLI: with transient
 * faults on ~10% of requests (500, SlowDown, resets mid-body, stalls) a backup completes and
 * verifies; with a permanent fault the run fails with one error line, commits no manifest, leaves
 * no incomplete multipart upload, and prune finds nothing left over.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { isUploadPart, startFaultProxy } from './helpers/fault-proxy.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { createBigTable, writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';
import { rawEntries } from './helpers/s3-storage.js';

describe('backup to S3 under faults', async () => {
  const pg = await withCluster({ after }, { name: 's3-faults' });
  await pg.psql('create database app');
  // ~25 MB of dump, stored uncompressed: five 5 MiB parts, so the multipart path is under fire.
  await createBigTable(pg, 'app');

  async function setup(
    t: { after(fn: () => unknown): void },
    maxAttempts: number,
    source = 'source: { type: postgres, url: "${APP_URL}" }\n    compression: { type: none }',
  ) {
    const bucket = await testBucket(t);
    const proxy = await startFaultProxy(bucket.server.endpoint, { seed: 7 });
    t.after(() => proxy.close());
    const dir = await tempDir(t);
    const config = await writeConfig(
      dir,
      `storages:\n${s3StorageYaml('offsite', {
        bucket: bucket.name,
        endpoint: proxy.endpoint,
        prefix: 'pg',
        extra: { partSizeMiB: 5, stallTimeoutSeconds: 2, maxAttempts },
      })}` +
        `jobs:\n  app:\n    ${source}\n` +
        `    storages: [offsite]\n    retention: { keepLast: 3 }\n`,
    );
    const env = { ...s3ConfigEnv(bucket.server), APP_URL: pg.url('app') };
    return { bucket, proxy, config, env };
  }

  test('transient faults on ~10% of requests: the backup completes and verifies', async (t) => {
    const { bucket, proxy, config, env } = await setup(t, 8);
    proxy.plan({ rate: 0.1, faults: ['reset', 'stall', 'error500', 'slowdown503'] });
    const backup = await lifeboat(['--config', config, 'backup', '--json'], { env });
    assert.equal(backup.code, 0, backup.stderr);
    const verify = await lifeboat(['--config', config, 'verify', 'latest'], { env });
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /sha256 OK/);
    const injected = Object.values(proxy.stats.faults).reduce((a, b) => a + b);
    t.diagnostic(`requests ${proxy.stats.requests}, faults ${JSON.stringify(proxy.stats.faults)}`);
    assert.ok(injected >= 2, `faults injected: ${JSON.stringify(proxy.stats)}`);
    assert.doesNotMatch(backup.stderr + backup.stdout + verify.stderr, /testsecret/);
    proxy.plan(undefined);
    const objects = await rawEntries(bucket, 'pg/');
    assert.equal(objects.filter((k) => k.startsWith('.lifeboat/')).length, 1, objects.join('\n'));
    assert.equal(objects.filter((k) => k.startsWith('upload:')).length, 0, objects.join('\n'));
  });

  test('a permanent fault: one error line, no manifest, no incomplete upload, even after prune', async (t) => {
    const { bucket, proxy, config, env } = await setup(t, 3);
    proxy.plan({ permanent: true, faults: ['error500'], match: isUploadPart });
    const backup = await lifeboat(['--config', config, 'backup'], { env });
    assert.equal(backup.code, 1, backup.stderr);
    const errors = errorLines(backup.stderr);
    assert.equal(errors.length, 1, backup.stderr);
    t.diagnostic(errors[0]!);
    assert.match(
      errors[0]!,
      /^error: backup app failed: write app\/.*app\.sql to s3:\/\/[^/]+\/pg: part \d+: http:\/\/127\.0\.0\.1:\d+ answered 500 InternalError after 3 attempts \(hint: .+\)$/,
    );
    assert.deepEqual(await rawEntries(bucket), [], 'no manifest, no artifact, no incomplete upload');
    proxy.plan(undefined);
    const prune = await lifeboat(['--config', config, 'prune'], { env });
    assert.equal(prune.code, 0, prune.stderr);
    assert.deepEqual(await bucket.incompleteUploads(), []);
  });

  // Issue: with zstd between pg_dump and a storage that fails for good, the compressor died of
  // SIGPIPE after the retries and its rejection had no owner: Node printed a stack trace, exited,
  // and the globals artifact and its sidecar stayed in the bucket.
  test('S3 refusing every write of an artifact, with zstd and globals before it: one line, nothing left', async (t) => {
    const { bucket, proxy, config, env } = await setup(
      t,
      2,
      'source: { type: postgres, url: "${APP_URL}", databases: all }\n    compression: { type: zstd, level: 1 }',
    );
    proxy.plan({
      permanent: true,
      faults: ['error500'],
      match: (r) => r.method === 'PUT' && /\/app\.sql\.zst(\?|$)/.test(r.url),
    });
    const backup = await lifeboat(['--config', config, 'backup'], { env });
    assert.equal(backup.code, 1, backup.stderr);
    assert.doesNotMatch(
      backup.stderr,
      /^\s+at |unhandled|Error: /m,
      'no stack trace, no unhandled rejection',
    );
    const errors = errorLines(backup.stderr);
    assert.equal(errors.length, 1, backup.stderr);
    assert.match(errors[0]!, /^error: backup app failed: .*app\.sql\.zst.*500/);
    assert.ok(proxy.stats.faults.error500 >= 2, JSON.stringify(proxy.stats));
    proxy.plan(undefined);
    // globals.sql.zst and its sidecar were stored before app failed: the run removed them again.
    assert.deepEqual(await rawEntries(bucket), [], 'no manifest, no artifact, no sidecar, no upload left');
  });
});
