/**
 * Issue 14's done criteria on local disk: a job with `db` (PostgreSQL) and `config` (kubernetes,
 * 500 ConfigMaps and Secrets of one namespace across pages) backs up into one encrypted backup,
 * drills, and restores into another namespace with --namespace-map (test/helpers/kubernetes-flow.ts),
 * against the test API server (test/helpers/kube-api-server.ts).
 */
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createLocalStorage } from '../src/storages/local.js';
import { withCluster } from './helpers/cluster.js';
import { startKubeApiServer } from './helpers/kube-api-server.js';
import { kubernetesFlow } from './helpers/kubernetes-flow.js';
import { tempDir } from './helpers/roundtrip.js';

describe('kubernetes source in a job, local disk', async () => {
  const cluster = await withCluster({ after }, { name: 'k8s-job' });

  test('db + config: one encrypted, signed backup, verify, drill, restore into another namespace', async (t) => {
    const dir = await tempDir(t, 'lifeboat-k8s-job-');
    const api = await startKubeApiServer();
    t.after(() => api.close());
    api.addToken('admin-token', 'admin');
    const backups = path.join(dir, 'backups');
    await kubernetesFlow({
      dir,
      api,
      kubeconfig: api.kubeconfig(dir, 'admin-token'),
      cluster,
      storagesYaml: `  disk: { type: local, path: ${JSON.stringify(backups)} }\n`,
      storageName: 'disk',
      storage: createLocalStorage({ name: 'disk', path: backups }),
    });
  });
});
