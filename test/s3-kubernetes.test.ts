/**
 * Issue 14's done criteria on the real Ceph S3: the db + config job (PostgreSQL + 500 ConfigMaps
 * and Secrets of one namespace) backs up into one encrypted backup, drills, and restores into
 * another namespace with --namespace-map (test/helpers/kubernetes-flow.ts).
 */
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { startKubeApiServer } from './helpers/kube-api-server.js';
import { kubernetesFlow } from './helpers/kubernetes-flow.js';
import { tempDir } from './helpers/roundtrip.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket } from './helpers/s3-server.js';
import { storageOn } from './helpers/s3-storage.js';

describe('kubernetes source in a job, on S3', async () => {
  const cluster = await withCluster({ after }, { name: 'k8s-s3' });

  test('db + config: one encrypted, signed backup, verify, drill, restore into another namespace', async (t) => {
    const bucket = await testBucket(t);
    const dir = await tempDir(t, 'lifeboat-s3-k8s-');
    const api = await startKubeApiServer();
    t.after(() => api.close());
    api.addToken('admin-token', 'admin');
    await kubernetesFlow({
      dir,
      api,
      kubeconfig: api.kubeconfig(dir, 'admin-token'),
      cluster,
      storagesYaml: s3StorageYaml('offsite', {
        bucket: bucket.name,
        endpoint: bucket.server.endpoint,
        prefix: 'eternia',
      }),
      storageName: 'offsite',
      storage: storageOn(bucket, { prefix: 'eternia' }),
      env: s3ConfigEnv(bucket.server),
    });
  });
});
