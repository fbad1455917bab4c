/**
 * `lifeboat check` probes every S3 storage (write, read back, delete) and reports what is wrong
 * with each in one line: a missing bucket, a wrong secret, a missing permission, a skewed clock,
 * an unreachable endpoint. Exit 3 (a storage could not be reached); no secret in the output.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFaultProxy } from './helpers/fault-proxy.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';
import { rawEntries } from './helpers/s3-storage.js';

test('check names what is wrong with each S3 storage, one line each', async (t) => {
  const bucket = await testBucket(t);
  const endpoint = bucket.server.endpoint;
  const skewed = await startFaultProxy(endpoint);
  const denied = await startFaultProxy(endpoint);
  t.after(() => Promise.all([skewed.close(), denied.close()]));
  skewed.plan({ permanent: true, faults: ['skew403'] });
  denied.plan({ permanent: true, faults: ['denied403'] });
  const storages: Array<[string, Parameters<typeof s3StorageYaml>[1]]> = [
    ['good', { bucket: bucket.name, endpoint, prefix: 'pg' }],
    ['nobucket', { bucket: 'lifeboat-no-such-bucket', endpoint }],
    ['badsecret', { bucket: bucket.name, endpoint, secretAccessKey: 'not-the-secret-0123' }],
    ['denied', { bucket: bucket.name, endpoint: denied.endpoint }],
    ['skewed', { bucket: bucket.name, endpoint: skewed.endpoint }],
    ['down', { bucket: bucket.name, endpoint: 'http://127.0.0.1:1', extra: { maxAttempts: 2 } }],
  ];
  const dir = await tempDir(t);
  const config = await writeConfig(
    dir,
    `storages:\n${storages.map(([n, s]) => s3StorageYaml(n, s)).join('')}`,
  );
  const run = await lifeboat(['--config', config, 'check'], { env: s3ConfigEnv(bucket.server) });
  assert.equal(run.code, 3, run.stderr);
  const line = (name: string) => {
    const lines = run.stderr.split('\n').filter((l) => l.includes(` storage ${name}: `));
    assert.equal(lines.length, 1, `one line for ${name}:\n${run.stderr}`);
    return lines[0]!;
  };
  assert.match(
    line('good'),
    new RegExp(`ok +storage good: write, read back and delete OK at s3://${bucket.name}/pg$`),
  );
  assert.match(
    line('nobucket'),
    /FAIL storage nobucket: .*bucket lifeboat-no-such-bucket does not exist.*hint: create the bucket/,
  );
  assert.match(
    line('badsecret'),
    /FAIL storage badsecret: .*refused the request signature.*hint: check secretAccessKey/,
  );
  assert.match(
    line('denied'),
    /FAIL storage denied: .*access denied to bucket .*hint: grant these credentials .*s3:PutObject/,
  );
  assert.match(line('skewed'), /FAIL storage skewed: .*clock is too far from .*hint: synchronise the clock/);
  assert.match(line('down'), /FAIL storage down: .*cannot reach http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  assert.doesNotMatch(run.stderr + run.stdout, /testsecret|not-the-secret-0123/);
  assert.deepEqual(await rawEntries(bucket), [], 'the probe object is gone');
});
