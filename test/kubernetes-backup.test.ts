/**
 * The kubernetes source's read side against the test API server (test/helpers/kube-api-server.ts):
 * kinds resolved through discovery, namespaces and label selectors, default excludes, pagination
 * with a 410 restart, server-managed fields stripped, one sorted YAML stream per namespace, counts
 * per kind; RBAC refusals, bad credentials and an unreachable server as one-line errors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../src/sources/kubernetes/client.js';
import { collect, toYaml } from '../src/sources/kubernetes/collect.js';
import { LifeboatError } from '../src/util/errors.js';
import { startKubeApiServer, type KubeApiServer } from './helpers/kube-api-server.js';

const SECRET_VALUE = 'hunter2-top-secret';

function seed(api: KubeApiServer) {
  for (const ns of ['prod', 'staging', 'kube-system']) {
    api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    api.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-root-ca.crt', namespace: ns },
      data: { 'ca.crt': 'x' },
    });
  }
  for (let i = 0; i < 300; i++) {
    api.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `cm-${String(i).padStart(3, '0')}`,
        namespace: 'prod',
        labels: { app: i % 2 ? 'web' : 'worker' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}', note: 'kept' },
      },
      data: { key: `value-${i}` },
    });
  }
  for (let i = 0; i < 200; i++) {
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `secret-${String(i).padStart(3, '0')}`, namespace: 'prod', labels: { app: 'web' } },
      type: 'Opaque',
      data: { password: Buffer.from(`${SECRET_VALUE}-${i}`).toString('base64') },
    });
  }
  api.put({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'default-token-abcde', namespace: 'prod' },
    type: 'kubernetes.io/service-account-token',
    data: { token: 'dG9rZW4=' },
  });
  api.put({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'sh.helm.release.v1.web.v1', namespace: 'prod' },
    type: 'helm.sh/release.v1',
    data: { release: 'cmVsZWFzZQ==' },
  });
  api.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'stage-only', namespace: 'staging' },
    data: { a: 'b' },
  });
  api.put({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'prod',
      // What older servers and controllers set: a restore must not carry them (an owner's uid
      // does not exist in the target, and the garbage collector would delete the object).
      selfLink: '/apis/apps/v1/namespaces/prod/deployments/web',
      ownerReferences: [
        {
          apiVersion: 'example.com/v1',
          kind: 'Widget',
          name: 'w1',
          uid: '0b8c6a9e-7f1d-4c1e-9d7a-2f3e4a5b6c7d',
        },
      ],
    },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } },
  });
  api.put({
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w1', namespace: 'prod' },
    spec: { size: 3 },
  });
}

describe('kubernetes source: backup', () => {
  let api: KubeApiServer;
  let dir: string;
  let client: KubeClient;

  before(async () => {
    api = await startKubeApiServer();
    api.addToken('admin-token', 'admin');
    api.addToken('reader-token', 'system:serviceaccount:lifeboat:reader', [
      { verbs: ['list'], resources: ['configmaps'], namespaces: ['prod'] },
    ]);
    seed(api);
    dir = await mkdtemp(path.join(os.tmpdir(), 'k8s-backup-'));
    client = createKubeClient(loadKubeConfig(undefined, { KUBECONFIG: api.kubeconfig(dir, 'admin-token') }));
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('500 ConfigMaps and Secrets of one namespace across pages: sorted, cleaned, counted, noise left out', async () => {
    const before = api.requests.length;
    const snap = await collect(client, { namespaces: ['prod'] });
    assert.equal(snap.namespaces.length, 1);
    const [prod] = snap.namespaces;
    assert.deepEqual(prod!.counts, { ConfigMap: 300, Secret: 200 });
    const names = prod!.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(names[0], 'ConfigMap/cm-000');
    assert.equal(names[299], 'ConfigMap/cm-299');
    assert.equal(names[300], 'Secret/secret-000');
    assert.ok(!names.includes('ConfigMap/kube-root-ca.crt') && !names.includes('Secret/default-token-abcde'));
    assert.ok(!names.includes('Secret/sh.helm.release.v1.web.v1'));
    const lists = api.requests.slice(before).filter((r) => r.url.includes('/configmaps?'));
    assert.equal(lists.length, 2, 'configmaps read in two pages');
    assert.ok(lists[1]!.url.includes('continue='));

    const yaml = toYaml(prod!.objects);
    const docs = parseAllDocuments(yaml).map((d) => d.toJS());
    assert.equal(docs.length, 500);
    const cm = docs[0];
    assert.deepEqual(cm, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'cm-000',
        namespace: 'prod',
        labels: { app: 'worker' },
        annotations: { note: 'kept' },
      },
      data: { key: 'value-0' },
    });
    for (const field of ['uid', 'resourceVersion', 'managedFields', 'creationTimestamp', 'last-applied']) {
      assert.ok(!yaml.includes(field), `${field} stripped`);
    }
  });

  test('Helm release Secrets when opted in; labelSelector; kinds by Kind and group/version/Kind, CRDs too', async () => {
    const helm = await collect(client, { namespaces: ['prod'], kinds: ['Secret'], helmReleases: true });
    assert.equal(helm.namespaces[0]!.counts.Secret, 201);

    const web = await collect(client, { namespaces: ['prod'], labelSelector: 'app=web' });
    assert.deepEqual(web.namespaces[0]!.counts, { ConfigMap: 150, Secret: 200 });

    const mixed = await collect(client, {
      namespaces: ['prod'],
      kinds: ['Deployment', 'example.com/v1/Widget', 'v1/ConfigMap'],
      labelSelector: '!app',
    });
    assert.deepEqual(mixed.namespaces[0]!.counts, { 'Deployment.apps': 1, 'Widget.example.com': 1 });
    const dep = mixed.namespaces[0]!.objects.find((o) => o.kind === 'Deployment')!;
    assert.equal(dep.apiVersion, 'apps/v1');
    assert.equal(dep.status, undefined, 'status stripped');
    assert.equal(dep.metadata.generation, undefined, 'generation stripped');
    assert.deepEqual(
      Object.keys(dep.metadata),
      ['name', 'namespace'],
      'selfLink and ownerReferences stripped',
    );
  });

  test('namespaces: all, minus excludeNamespaces (globs)', async () => {
    const snap = await collect(client, {
      namespaces: 'all',
      excludeNamespaces: ['kube-*'],
      kinds: ['ConfigMap'],
    });
    assert.deepEqual(
      snap.namespaces.map((n) => [n.namespace, n.counts]),
      [
        ['prod', { ConfigMap: 300 }],
        ['staging', { ConfigMap: 1 }],
      ],
    );
  });

  test('a kind the server does not serve, or one that is not namespaced, is a config error', async () => {
    await assert.rejects(collect(client, { namespaces: ['prod'], kinds: ['Gizmo'] }), {
      message: 'resolve kind Gizmo: the API server serves no such kind',
    });
    await assert.rejects(collect(client, { namespaces: ['prod'], kinds: ['Namespace'] }), {
      message: 'resolve kind Namespace: Namespace is not namespaced',
    });
    await assert.rejects(
      collect(client, { namespaces: ['prod'], labelSelector: 'a in (b' }),
      (err: LifeboatError) => {
        assert.match(
          err.message,
          /^list ConfigMap \(configmaps\) in namespace prod: 400 BadRequest: unable to parse requirement/,
        );
        return true;
      },
    );
  });

  test('an expired continue token (410 Gone) restarts the list: every object, once', async () => {
    api.expireContinueTokens();
    const before = api.requests.length;
    const snap = await collect(client, { namespaces: ['prod'], kinds: ['ConfigMap'], pageSize: 100 });
    const names = snap.namespaces[0]!.objects.map((o) => o.metadata.name);
    assert.equal(names.length, 300);
    assert.equal(new Set(names).size, 300);
    const lists = api.requests.slice(before).filter((r) => r.url.includes('/configmaps?'));
    assert.equal(lists.length, 6, 'page 1, expired page 2, then pages 1-4 again (301 with kube-root-ca.crt)');
  });

  test('RBAC refusal names the verb, kind and namespace; bad token; unreachable server', async () => {
    const reader = createKubeClient(
      loadKubeConfig(undefined, { KUBECONFIG: api.kubeconfig(dir, 'reader-token') }),
    );
    await assert.rejects(collect(reader, { namespaces: ['prod'] }), (err: LifeboatError) => {
      assert.equal(err.message, 'list Secret (secrets) in namespace prod: 403 Forbidden');
      assert.equal(err.code, 'failed');
      assert.match(err.hint!, /RBAC.*cannot list resource "secrets" in API group "" in the namespace "prod"/);
      return true;
    });
    const stranger = createKubeClient(
      loadKubeConfig(undefined, { KUBECONFIG: api.kubeconfig(dir, 'wrong-token') }),
    );
    await assert.rejects(collect(stranger, { namespaces: ['prod'] }), {
      message: 'discover v1: 401 Unauthorized',
      code: 'unreachable',
    });
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const extraServer = `https://127.0.0.1:${port}`;
    const kubeconfig = api.kubeconfig(dir, 'admin-token', {
      context: 'main',
      extraContexts: ['gone'],
      extraServer,
    });
    const gone = createKubeClient(loadKubeConfig('gone', { KUBECONFIG: kubeconfig }));
    await assert.rejects(collect(gone, { namespaces: ['prod'] }), {
      message: `reach Kubernetes API ${extraServer}: ECONNREFUSED`,
      code: 'unreachable',
    });
    assert.throws(() => loadKubeConfig('nope', { KUBECONFIG: kubeconfig }), {
      message: 'load kubeconfig: no context "nope"',
    });
    assert.throws(() => loadKubeConfig(undefined, { HOME: dir }), { message: 'load kubeconfig: none found' });
  });
});
