/**
 * The kubernetes source through the CLI, on local disk against the test API server: what is
 * refused before anything runs (Secrets without encryption), what `check` reports, and the
 * failures an operator meets — an RBAC refusal, an unreachable API server, a continue token that
 * keeps expiring, conflicting objects on restore — each as one line naming what failed, with the
 * right exit code. No Secret value appears in any output or stored object.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { filesUnder, lifeboat, type RunResult } from './helpers/lifeboat.js';
import { startKubeApiServer, type KubeApiServer } from './helpers/kube-api-server.js';
import { ageKey, b64, SECRET, seedNamespace } from './helpers/kubernetes-flow.js';
import { writeConfig } from './helpers/scenarios.js';

/** The error lines of a run: exactly one is expected of a failure. */
const errors = (r: RunResult) => r.stderr.split('\n').filter((l) => l.startsWith('error: '));

describe('kubernetes source: the CLI', () => {
  let api: KubeApiServer;
  let dir: string;
  let key: ReturnType<typeof ageKey>;
  let gonePort: number;
  const outputs: RunResult[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-k8s-cli-'));
    api = await startKubeApiServer();
    api.addToken('admin-token', 'admin');
    api.addToken('cm-reader', 'system:serviceaccount:lifeboat:reader', [
      { verbs: ['list'], resources: ['configmaps'], namespaces: ['prod'] },
    ]);
    api.addToken('no-patch', 'system:serviceaccount:lifeboat:restorer', [
      { verbs: ['get', 'list'], resources: ['*'], namespaces: ['*'] },
    ]);
    seedNamespace(api);
    key = ageKey(dir);
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    gonePort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
  });
  after(async () => {
    await api.close();
    // Nothing printed, logged or stored holds a Secret's value (the backups here are encrypted,
    // except the one that says allowPlaintext, which holds ConfigMaps only).
    for (const r of outputs) {
      assert.ok(!(r.stdout + r.stderr).includes(SECRET), r.stderr);
      assert.ok(!(r.stdout + r.stderr).includes(b64(SECRET)), r.stderr);
    }
    for (const f of await filesUnder(dir)) {
      if (f.endsWith('age-key.txt')) continue;
      const text = await readFile(path.join(dir, f), 'latin1');
      assert.ok(!text.includes(SECRET) && !text.includes(b64(SECRET)), `a Secret value stored in ${f}`);
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** A config with job `k` backing up namespace prod with `source` extra fields, into dir/NAME. */
  async function setup(name: string, source: string, opts: { token?: string; encrypt?: boolean } = {}) {
    const kubeconfig = api.kubeconfig(path.join(dir), opts.token ?? 'admin-token', {
      context: 'test',
      extraContexts: ['gone'],
      extraServer: `https://127.0.0.1:${gonePort}`,
    });
    const backups = path.join(dir, name);
    const encryption =
      opts.encrypt === false
        ? ''
        : `    encryption: { type: age, recipients: [${key.recipient}], identityFile: ${JSON.stringify(key.file)} }\n`;
    const config = await writeConfig(
      path.join(dir),
      `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
        `jobs:\n  k:\n    source: { type: kubernetes, namespaces: [prod], kubeconfig: ${JSON.stringify(kubeconfig)}${source} }\n` +
        encryption +
        `    storages: [disk]\n`,
    );
    const run = async (args: string[]) => {
      const r = await lifeboat(['--config', config, ...args]);
      outputs.push(r);
      return r;
    };
    return { run, backups };
  }

  test('Secrets need encryption: refused in one line naming the field; allowPlaintext warns every run', async () => {
    const { run } = await setup('plain', '', { encrypt: false });
    const refused = await run(['backup']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.deepEqual(errors(refused), [
      'error: jobs.k.encryption: the source lists Secret, so its backups must be encrypted (hint: add encryption: { type: age, recipients: [age1…] }, or allowPlaintext: true on the source to store it unencrypted)',
    ]);
    const check = await run(['check']);
    assert.equal(check.code, 2, check.stdout + check.stderr);
    assert.match(
      check.stdout + check.stderr,
      /jobs\.k\.encryption: the source lists Secret, so its backups must be encrypted/,
    );

    const cmOnly = await setup('cm-only', ', kinds: [ConfigMap]', { encrypt: false });
    const ok = await cmOnly.run(['backup', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /warn/);

    const allowed = await setup(
      'allowed',
      ', kinds: [ConfigMap, Secret], allowPlaintext: true, exclude: ["Secret/*"]',
      {
        encrypt: false,
      },
    );
    const warned = await allowed.run(['backup']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(
      warned.stderr,
      /^warn: jobs\.k: the source lists Secret and its backups are NOT encrypted \(allowPlaintext: true\)$/m,
    );
  });

  test('check reaches the API server and reports what a backup would take', async () => {
    const { run } = await setup('check', '');
    const check = await run(['check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(
      check.stdout,
      /Kubernetes https:\/\/127\.0\.0\.1:\d+ v1\.31\.0-lifeboat-test \(context test\): 1 namespace, 500 objects \(ConfigMap 300, Secret 200\)/,
    );
  });

  test('an RBAC refusal names the verb, kind and namespace, and how to fix it (exit 1)', async () => {
    const { run } = await setup('rbac', '', { token: 'cm-reader' });
    const r = await run(['backup']);
    assert.equal(r.code, 1, r.stderr);
    const [line, ...more] = errors(r);
    assert.deepEqual(more, []);
    assert.match(
      line!,
      /^error: backup k failed: list Secret \(secrets\) in namespace prod: 403 Forbidden \(hint: grant the verb on that kind and namespace to the identity \(RBAC\): secrets is forbidden: User "system:serviceaccount:lifeboat:reader" cannot list resource "secrets" in API group "" in the namespace "prod"\)$/,
    );
  });

  test('an unreachable API server (exit 3), and a continue token that keeps expiring (exit 1)', async () => {
    const gone = await setup('gone', ', context: gone');
    const r = await gone.run(['backup']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(errors(r), [
      `error: backup k failed: reach Kubernetes API https://127.0.0.1:${gonePort}: ECONNREFUSED (hint: check the server address of the kubeconfig context and that the API server is up)`,
    ]);

    const { run, backups } = await setup('expired', '');
    api.expireContinueTokens(1); // once: the list starts over and the backup is whole
    const once = await run(['backup', '--json']);
    assert.equal(once.code, 0, once.stderr);
    const manifest = (await filesUnder(backups)).find((f) => f.startsWith('.lifeboat/k/'))!;
    const m = JSON.parse(await readFile(path.join(backups, manifest), 'utf8'));
    assert.deepEqual(m.sources.main.counts, { prod: { ConfigMap: 300, Secret: 200 } });

    api.expireContinueTokens(Infinity);
    try {
      const always = await run(['backup']);
      assert.equal(always.code, 1, always.stderr);
      assert.deepEqual(errors(always), [
        'error: backup k failed: list ConfigMap (configmaps) in namespace prod: continue token expired 4 times (410 Gone) (hint: the list changes faster than it can be read; try a labelSelector or a quieter time)',
      ]);
    } finally {
      api.expireContinueTokens(0);
    }
  });

  test('restore: conflicts refused and listed (nothing applied), --force overwrites; RBAC and usage errors', async () => {
    const { run } = await setup('restore', '');
    assert.equal((await run(['backup'])).code, 0);
    const restore = (...more: string[]) =>
      run(['restore', 'latest', '--job', 'k', '--to-cluster', '--namespace-map', 'prod=copy', ...more]);
    assert.equal((await restore()).code, 0);
    api.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm-004', namespace: 'copy', labels: { app: 'eternia' } },
      data: { setting: 'changed' },
    });
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'secret-009', namespace: 'copy' },
      data: { password: b64('rotated-password') },
    });
    const refused = await restore();
    assert.equal(refused.code, 1, refused.stderr);
    assert.deepEqual(errors(refused), [
      'error: restore to cluster: 2 existing objects differ from the backup: copy/ConfigMap/cm-004, copy/Secret/secret-009 (hint: nothing was applied; --force overwrites them, --namespace-map restores beside them)',
    ]);
    assert.equal(api.get('v1', 'ConfigMap', 'copy', 'cm-004')!.data.setting, 'changed');
    const forced = await restore('--force', '--json');
    assert.equal(forced.code, 0, forced.stderr);
    const summary = JSON.parse(forced.stdout);
    assert.deepEqual(summary.perKind.Secret, { created: 0, unchanged: 199, conflicting: 1 });
    assert.deepEqual(summary.conflicts, ['copy/ConfigMap/cm-004', 'copy/Secret/secret-009']);
    assert.equal(api.get('v1', 'ConfigMap', 'copy', 'cm-004')!.data.setting, 'value-4');

    const noPatch = await setup('restore', '', { token: 'no-patch' });
    const denied = await noPatch.run([
      'restore',
      'latest',
      '--job',
      'k',
      '--to-cluster',
      '--namespace-map',
      'prod=other',
    ]);
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(
      errors(denied).join('\n'),
      /^error: create namespace other: 403 Forbidden \(hint: grant the verb .*cannot patch resource "namespaces" in API group "" at the cluster scope\)$/,
    );

    const id = /^restore k (\S+) /m.exec(refused.stderr)![1];
    const typo = await restore('--namespace-map', 'production=x');
    assert.equal(typo.code, 2);
    assert.deepEqual(errors(typo), [
      `error: restore k ${id}: --namespace-map names production, which the backup does not hold (hint: it holds prod)`,
    ]);
    // --context picks the kubeconfig context to restore into: here one whose server is gone.
    const elsewhere = await restore('--context', 'gone');
    assert.equal(elsewhere.code, 3, elsewhere.stderr);
    const [reach, ...others] = errors(elsewhere);
    assert.deepEqual(others, []);
    assert.match(
      reach!,
      new RegExp(`reach Kubernetes API https://127\\.0\\.0\\.1:${gonePort}: ECONNREFUSED`),
    );
    const unknown = await restore('--context', 'nope');
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(errors(unknown)[0]!, /load kubeconfig: no context "nope"/);

    const withTo = await run(['restore', 'latest', '--job', 'k', '--to', '/tmp/x']);
    assert.equal(withTo.code, 2);
    assert.match(errors(withTo)[0]!, /source main is a kubernetes source; restore it with --to-cluster/);
  });
});
