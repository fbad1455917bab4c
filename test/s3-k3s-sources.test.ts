/**
 * The k3s-shaped job (SPEC §5: `state.db` + `token`, one backup) on the real Ceph S3: backup while
 * a writer commits, drill, restore both sources (test/helpers/k3s-flow.ts).
 */
import path from 'node:path';
import { describe, test } from 'node:test';
import { k3sFlow } from './helpers/k3s-flow.js';
import { tempDir } from './helpers/roundtrip.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';

describe('sqlite and files sources on S3', () => {
  test('a k3s-shaped job: backup under a writer, drill, restore both', async (t) => {
    const bucket = await testBucket(t);
    const dir = await tempDir(t, 'lifeboat-s3-k3s-');
    await k3sFlow({
      dir: path.join(dir),
      storagesYaml: s3StorageYaml('offsite', {
        bucket: bucket.name,
        endpoint: bucket.server.endpoint,
        prefix: 'k3s',
      }),
      storage: 'offsite',
      env: s3ConfigEnv(bucket.server),
    });
  });
});
