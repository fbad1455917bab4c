/**
 * The kubernetes source's restore and drill side against the test API server: a backup of one
 * namespace restored into another with a namespace map by server-side apply; unchanged objects
 * left alone; changed ones refused (listed) unless forced; dry runs store nothing; drills parse,
 * validate against the schemas and compare counts. Also: the test server refuses the apply
 * requests a real API server refuses.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyObjects, parseNamespaceMap } from '../src/sources/kubernetes/apply.js';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../src/sources/kubernetes/client.js';
import { collect, toYaml } from '../src/sources/kubernetes/collect.js';
import { compareCounts, parseObjects, validateObjects } from '../src/sources/kubernetes/validate.js';
import type { LifeboatError } from '../src/util/errors.js';
import { startKubeApiServer, type KubeApiServer } from './helpers/kube-api-server.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kubernetes source: restore and drill', () => {
  let api: KubeApiServer;
  let dir: string;
  let client: KubeClient;
  let yaml: string;

  before(async () => {
    api = await startKubeApiServer();
    api.addToken('admin-token', 'admin');
    api.addToken('reader-token', 'reader', [{ verbs: ['get', 'list'], resources: ['*'], namespaces: ['*'] }]);
    api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
    for (let i = 0; i < 20; i++) {
      api.put({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, namespace: 'app', labels: { n: String(i) } },
        data: { k: `v${i}` },
      });
      api.put({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `s-${i}`, namespace: 'app' },
        data: { pw: b64(`pw-${i}`) },
      });
    }
    api.put({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'app' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx' }] },
        },
      },
    });
    api.put({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'app' },
      spec: { size: 1 },
    });
    dir = await mkdtemp(path.join(os.tmpdir(), 'k8s-restore-'));
    client = createKubeClient(loadKubeConfig(undefined, { KUBECONFIG: api.kubeconfig(dir, 'admin-token') }));
    const snap = await collect(client, {
      namespaces: ['app'],
      kinds: ['ConfigMap', 'Secret', 'apps/v1/Deployment', 'Widget'],
    });
    yaml = toYaml(snap.namespaces[0]!.objects);
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('drill: every object parses and validates, counts match; a bad object or count is an integrity failure', async () => {
    const objects = parseObjects(yaml, 'app.yaml');
    const counts = await validateObjects(objects, 'app', 'app.yaml');
    assert.deepEqual(counts, { ConfigMap: 20, 'Deployment.apps': 1, Secret: 20, 'Widget.example.com': 1 });
    compareCounts('app', counts, counts);
    assert.throws(() => compareCounts('app', { ...counts, Secret: 21 }, counts), {
      message: 'count app Secret: 21 in the manifest, 20 in the backup',
      code: 'integrity',
    });

    const badDeployment = yaml.replace('replicas: 1', 'replicas: one');
    await assert.rejects(validateObjects(parseObjects(badDeployment, 'app.yaml'), 'app', 'app.yaml'), {
      message: 'validate app/Deployment/web: data/spec/replicas must be integer',
      code: 'integrity',
    });
    const badCrd = yaml.replace('name: w\n', 'name: W_bad\n');
    await assert.rejects(validateObjects(parseObjects(badCrd, 'app.yaml'), 'app', 'app.yaml'), {
      message: /^validate app\.yaml document \d+ \(Widget\): metadata.name missing or invalid$/,
    });
    assert.throws(() => parseObjects(`${yaml}---\nkind: [unclosed\n`, 'app.yaml'), {
      message: /^parse app\.yaml: document 43: /,
      code: 'integrity',
    });
  });

  test('--namespace-map restores into a new namespace by server-side apply; a second run changes nothing', async () => {
    const objects = parseObjects(yaml, 'app.yaml');
    const summary = await applyObjects(client, objects, {
      namespaceMap: parseNamespaceMap(['app=app-restored']),
    });
    assert.deepEqual(summary.namespacesCreated, ['app-restored']);
    assert.deepEqual(summary.perKind, {
      ConfigMap: { created: 20, unchanged: 0, conflicting: 0 },
      Secret: { created: 20, unchanged: 0, conflicting: 0 },
      'Deployment.apps': { created: 1, unchanged: 0, conflicting: 0 },
      'Widget.example.com': { created: 1, unchanged: 0, conflicting: 0 },
    });
    const s = api.get('v1', 'Secret', 'app-restored', 's-7')!;
    assert.equal(Buffer.from(s.data.pw, 'base64').toString(), 'pw-7');
    assert.deepEqual(
      s.metadata.managedFields.map((m: { manager: string }) => m.manager),
      ['lifeboat'],
    );
    assert.deepEqual(api.get('apps/v1', 'Deployment', 'app-restored', 'web')!.spec.selector, {
      matchLabels: { app: 'web' },
    });
    const applies = api.requests.filter((r) => r.method === 'PATCH');
    assert.ok(
      applies.every(
        (r) => r.contentType === 'application/apply-patch+yaml' && r.url.includes('fieldManager=lifeboat'),
      ),
    );

    const again = await applyObjects(client, objects, { namespaceMap: { app: 'app-restored' } });
    assert.deepEqual(again.perKind.ConfigMap, { created: 0, unchanged: 20, conflicting: 0 });
    assert.deepEqual(again.namespacesCreated, []);
  });

  test('changed objects are refused and listed, nothing applied; --force overwrites them', async () => {
    api.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm-3', namespace: 'app-restored', labels: { n: '3' } },
      data: { k: 'changed' },
    });
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's-4', namespace: 'app-restored' },
      data: { pw: b64('rotated') },
    });
    api.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm-5', namespace: 'app-restored' },
      data: { k: 'v5' },
    }); // label gone
    const objects = parseObjects(yaml, 'app.yaml');
    const patches = api.requests.filter((r) => r.method === 'PATCH').length;
    await assert.rejects(
      applyObjects(client, objects, { namespaceMap: { app: 'app-restored' } }),
      (err: LifeboatError) => {
        assert.equal(
          err.message,
          'restore to cluster: 3 existing objects differ from the backup: app-restored/ConfigMap/cm-3, app-restored/ConfigMap/cm-5, app-restored/Secret/s-4',
        );
        assert.equal(err.code, 'exists');
        assert.ok(!err.message.includes('rotated') && !err.message.includes('cm90YXRlZA'));
        return true;
      },
    );
    assert.equal(api.requests.filter((r) => r.method === 'PATCH').length, patches, 'nothing applied');

    const forced = await applyObjects(client, objects, {
      namespaceMap: { app: 'app-restored' },
      force: true,
    });
    assert.deepEqual(forced.perKind.ConfigMap, { created: 0, unchanged: 18, conflicting: 2 });
    assert.equal(api.get('v1', 'ConfigMap', 'app-restored', 'cm-3')!.data.k, 'v3');
    assert.equal(
      Buffer.from(api.get('v1', 'Secret', 'app-restored', 's-4')!.data.pw, 'base64').toString(),
      'pw-4',
    );
  });

  test('--dry-run stores nothing; RBAC refusal of apply names verb, kind and namespace', async () => {
    const objects = parseObjects(yaml, 'app.yaml');
    api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dry' } });
    const summary = await applyObjects(client, objects, { namespaceMap: { app: 'dry' }, dryRun: true });
    assert.equal(summary.perKind.Secret!.created, 20);
    assert.deepEqual(api.list('v1', 'Secret', 'dry'), []);
    const dryApplies = api.requests.filter((r) => r.method === 'PATCH' && r.url.includes('/namespaces/dry/'));
    assert.equal(dryApplies.length, 42);
    assert.ok(dryApplies.every((r) => r.url.includes('dryRun=All')));

    const none = await applyObjects(client, objects, { namespaceMap: { app: 'nowhere' }, dryRun: true });
    assert.deepEqual(none.namespacesCreated, ['nowhere']);
    assert.equal(api.get('v1', 'Namespace', undefined, 'nowhere'), undefined);

    const reader = createKubeClient(
      loadKubeConfig(undefined, { KUBECONFIG: api.kubeconfig(dir, 'reader-token') }),
    );
    await assert.rejects(
      applyObjects(reader, objects, { namespaceMap: { app: 'dry' } }),
      (err: LifeboatError) => {
        assert.equal(err.message, 'apply ConfigMap cm-0 in namespace dry: 403 Forbidden');
        assert.match(err.hint!, /cannot patch resource "configmaps" in API group "" in the namespace "dry"/);
        return true;
      },
    );
    assert.throws(() => parseNamespaceMap(['app']), {
      message: 'parse --namespace-map app: expected FROM=TO namespace names',
    });
  });

  test('the test API server refuses what a real one refuses', async () => {
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'app' },
      data: { a: 'b' },
    };
    const call = (
      query: Record<string, string>,
      body: object,
      contentType = 'application/apply-patch+yaml',
    ) =>
      client.request('PATCH', '/api/v1/namespaces/app/configmaps/x', {
        what: 'apply',
        query,
        body: JSON.stringify(body),
        contentType,
      });
    await assert.rejects(call({}, cm), { message: /422 Invalid .*fieldManager: Required value/ });
    await assert.rejects(call({ fieldManager: 'm' }, cm, 'application/json'), {
      message: /415 UnsupportedMediaType/,
    });
    await assert.rejects(call({ fieldManager: 'm', dryRun: 'true' }, cm), {
      message: /400 BadRequest .*supported values: "All"/,
    });
    await assert.rejects(
      call({ fieldManager: 'm' }, { ...cm, metadata: { ...cm.metadata, managedFields: [] } }),
      {
        message: /managedFields must be nil/,
      },
    );
    await assert.rejects(
      call({ fieldManager: 'm' }, { ...cm, metadata: { ...cm.metadata, namespace: 'other' } }),
      {
        message: /namespace of the provided object does not match/,
      },
    );
    await assert.rejects(
      call({ fieldManager: 'm' }, { ...cm, metadata: { ...cm.metadata, resourceVersion: '1' } }),
      {
        message: /409 Conflict/,
      },
    );
    await assert.rejects(
      client.request('PATCH', '/api/v1/namespaces/none/configmaps/x', {
        what: 'apply',
        query: { fieldManager: 'm' },
        body: JSON.stringify({ ...cm, metadata: { name: 'x' } }),
        contentType: 'application/apply-patch+yaml',
      }),
      { message: /404 NotFound namespaces "none" not found/ },
    );
    api.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', namespace: 'app' },
      data: { a: 'kubectl' },
    });
    await assert.rejects(
      client.request('PATCH', '/api/v1/namespaces/app/configmaps/owned', {
        what: 'apply',
        query: { fieldManager: 'm' },
        body: JSON.stringify({ ...cm, metadata: { name: 'owned' }, data: { a: 'mine' } }),
        contentType: 'application/apply-patch+yaml',
      }),
      { message: /409 Conflict Apply failed with 1 conflict: conflict with "kubectl": \.data\.a/ },
    );
  });
});
