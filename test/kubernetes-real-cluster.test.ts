/**
 * Opt-in: the db + config round trip of test/helpers/kubernetes-flow.ts against a real cluster.
 * Runs only when LIFEBOAT_TEST_KUBECONFIG names a kubeconfig (its current context, or
 * LIFEBOAT_TEST_KUBECONTEXT); skipped otherwise. It creates namespace `lifeboat-test-XXXXXX` with
 * 300 ConfigMaps and 200 Secrets, backs it up with a PostgreSQL database into one age-encrypted
 * backup on local disk, drills it (with the server-side dry run into scratch namespaces), restores
 * it into `lifeboat-test-XXXXXX-restored` with --namespace-map, compares, and deletes both
 * namespaces. The identity needs: create/delete namespaces; get, list and patch of ConfigMaps and
 * Secrets in them. See README, "Development".
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../src/sources/kubernetes/client.js';
import { withCluster } from './helpers/cluster.js';
import { ageKey, b64, configRestoreArgs, SECRET } from './helpers/kubernetes-flow.js';
import { lifeboat, type RunResult } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

type Obj = { metadata: { name: string }; data?: Record<string, string> };

const KUBECONFIG = process.env.LIFEBOAT_TEST_KUBECONFIG;
const CONTEXT = process.env.LIFEBOAT_TEST_KUBECONTEXT;

async function apply(client: KubeClient, apiPath: string, obj: object) {
  await client.request('PATCH', apiPath, {
    what: `apply ${apiPath}`,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: 'lifeboat-test', force: 'true' },
    body: JSON.stringify(obj),
  });
}

async function names(client: KubeClient, ns: string, resource: string): Promise<Map<string, Obj>> {
  const list = (await client.request('GET', `/api/v1/namespaces/${ns}/${resource}`, { what: 'list' })) as {
    items: Array<Obj>;
  };
  return new Map(list.items.map((o) => [o.metadata.name, o]));
}

describe(
  'kubernetes source against a real cluster (LIFEBOAT_TEST_KUBECONFIG)',
  { skip: !KUBECONFIG },
  async () => {
    test('db + config: one encrypted backup, drill with dry run, restore into another namespace', async (t) => {
      const cluster = await withCluster({ after }, { name: 'k8s-real' });
      const client = createKubeClient(loadKubeConfig(CONTEXT, { ...process.env, KUBECONFIG }));
      const ns = `lifeboat-test-${randomBytes(3).toString('hex')}`;
      const restoredNs = `${ns}-restored`;
      t.after(async () => {
        for (const n of [ns, restoredNs])
          await client.request('DELETE', `/api/v1/namespaces/${n}`, { what: `delete ${n}` }).catch(() => {});
      });
      await apply(client, `/api/v1/namespaces/${ns}`, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
      for (let i = 0; i < 300; i++) {
        const name = `cm-${String(i).padStart(3, '0')}`;
        await apply(client, `/api/v1/namespaces/${ns}/configmaps/${name}`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: ns },
          data: { setting: `value-${i}` },
        });
      }
      for (let i = 0; i < 200; i++) {
        const name = `secret-${String(i).padStart(3, '0')}`;
        await apply(client, `/api/v1/namespaces/${ns}/secrets/${name}`, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace: ns },
          type: 'Opaque',
          data: { password: b64(`${SECRET}-${i}`) },
        });
      }
      await cluster.psql('create database app');
      await cluster.psql(
        'create table notes (id int primary key); insert into notes select generate_series(1, 100)',
        {
          database: 'app',
        },
      );

      const dir = await tempDir(t, 'lifeboat-k8s-real-');
      const key = ageKey(dir);
      const context = CONTEXT ? `, context: ${CONTEXT}` : '';
      const config = await writeConfig(
        dir,
        `storages:\n  disk: { type: local, path: ${JSON.stringify(path.join(dir, 'backups'))} }\n` +
          `jobs:\n  eternia:\n    sources:\n` +
          `      db: { type: postgres, url: "${cluster.url('app')}" }\n` +
          `      config: { type: kubernetes, namespaces: [${ns}], kubeconfig: ${JSON.stringify(KUBECONFIG)}${context} }\n` +
          `    encryption: { type: age, recipients: [${key.recipient}], identityFile: ${JSON.stringify(key.file)} }\n` +
          `    storages: [disk]\n    drill:\n      kubernetes: { dryRun: true }\n`,
      );
      const outputs: RunResult[] = [];
      const run = async (args: string[]) => {
        const r = await lifeboat(['--config', config, ...args]);
        outputs.push(r);
        return r;
      };
      const backup = await run(['backup', 'eternia']);
      assert.equal(backup.code, 0, backup.stderr);
      const drill = await run(['drill', 'eternia', '--json']);
      assert.equal(drill.code, 0, drill.stderr + drill.stdout);
      const [report] = JSON.parse(drill.stdout) as Array<{
        checks: Array<{ name: string; ok: boolean; actual: string }>;
      }>;
      const checks = Object.fromEntries(report!.checks.map((c) => [c.name, c.actual]));
      assert.equal(checks[`config: objects ${ns}`], 'ConfigMap 300, Secret 200, all valid');
      assert.equal(checks[`config: server-side dry run ${ns}`], '500 accepted');

      const restore = await run(configRestoreArgs(`${ns}=${restoredNs}`, '--json'));
      assert.equal(restore.code, 0, restore.stderr);
      const summary = JSON.parse(restore.stdout) as { perKind: Record<string, { created: number }> };
      assert.equal(summary.perKind.ConfigMap!.created, 300);
      assert.equal(summary.perKind.Secret!.created, 200);
      const secrets = await names(client, restoredNs, 'secrets');
      assert.equal(
        Buffer.from(secrets.get('secret-007')!.data!.password!, 'base64').toString(),
        `${SECRET}-7`,
      );
      const configMaps = await names(client, restoredNs, 'configmaps');
      assert.equal([...configMaps.keys()].filter((n) => n.startsWith('cm-')).length, 300);

      for (const r of outputs) assert.ok(!(r.stdout + r.stderr).includes(SECRET), r.stderr);
    });
  },
);
