/**
 * The Eternia-shaped job of SPEC §5 (`db`: PostgreSQL + `config`: the ConfigMaps and Secrets of one
 * namespace, 500 objects read across pages), encrypted with age and its manifest signed, run end to
 * end with the real CLI against whatever storage the caller configures: one backup holding both
 * sources, verified (checksums and signature, without the identity), a drill (with
 * the server-side dry run into scratch namespaces), a restore of the objects into another
 * namespace with --namespace-map (and again: all unchanged; a dry run: nothing stored) and of the
 * database. Every output and every stored object is searched for the Secrets' values and the keys.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listBackups } from '../../src/catalog/catalog.js';
import type { LocalCluster } from '../../src/sources/postgres/local-cluster.js';
import type { KubernetesSourceRecord } from '../../src/sources/kubernetes/record.js';
import type { Storage } from '../../src/storages/storage.js';
import type { KubeApiServer } from './kube-api-server.js';
import { lifeboat, type RunResult } from './lifeboat.js';
import { writeConfig } from './scenarios.js';

/** 24 characters, so its base64 (32 characters) starts every stored Secret value's base64. */
export const SECRET = 'hunter2-eternia-pa55word';
export const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Namespace `prod`: 300 ConfigMaps, 200 Secrets, and the noise a backup leaves out. */
export function seedNamespace(api: KubeApiServer, ns = 'prod'): void {
  api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  api.put({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-root-ca.crt', namespace: ns },
    data: { 'ca.crt': 'x' },
  });
  api.put({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'default-token-x1', namespace: ns },
    type: 'kubernetes.io/service-account-token',
    data: { token: b64(`${SECRET}-token`) },
  });
  for (let i = 0; i < 300; i++)
    api.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${String(i).padStart(3, '0')}`, namespace: ns, labels: { app: 'eternia' } },
      data: { setting: `value-${i}` },
    });
  for (let i = 0; i < 200; i++)
    api.put({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `secret-${String(i).padStart(3, '0')}`, namespace: ns },
      type: 'Opaque',
      data: { password: b64(`${SECRET}-${i}`) },
    });
}

/**
 * The argv that restores the `config` source of job eternia's latest backup into the cluster,
 * `namespaceMap` (`from=to`) applied: the flow's and the real-cluster test's restore.
 */
export function configRestoreArgs(namespaceMap: string, ...extra: string[]): string[] {
  return [
    'restore',
    'latest',
    '--job',
    'eternia',
    '--source',
    'config',
    '--to-cluster',
    '--namespace-map',
    namespaceMap,
    ...extra,
  ];
}

/** An age identity in `dir`: its file, its secret line and its recipient. */
export function ageKey(dir: string) {
  const file = path.join(dir, 'age-key.txt');
  execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
  const secret = execFileSync('grep', ['^AGE-SECRET-KEY-', file]).toString().trim();
  const recipient = execFileSync('age-keygen', ['-y', file]).toString().trim();
  return { file, secret, recipient };
}

export interface KubernetesFlowOptions {
  dir: string;
  api: KubeApiServer;
  /** A kubeconfig with full rights on `api`. */
  kubeconfig: string;
  cluster: LocalCluster;
  /** The `storages:` entries (YAML, indented two spaces) and the name the job uses. */
  storagesYaml: string;
  storageName: string;
  /** The same storage, to read manifests and every stored object. */
  storage: Storage;
  env?: NodeJS.ProcessEnv;
}

export async function kubernetesFlow(opts: KubernetesFlowOptions): Promise<void> {
  const { api, cluster, dir } = opts;
  seedNamespace(api);
  await cluster.psql('create database app');
  await cluster.psql(
    'create table notes (id int primary key, body text); insert into notes select g, md5(g::text) from generate_series(1, 1000) g',
    { database: 'app' },
  );
  const key = ageKey(dir);
  const keygen = await lifeboat(['keygen', '--out', dir]);
  assert.equal(keygen.code, 0, keygen.stderr);
  const signingKey = path.join(dir, 'lifeboat-signing.key');
  const signingSecret = (await readFile(signingKey, 'utf8')).split('\n')[1]!;
  const config = await writeConfig(
    dir,
    `storages:\n${opts.storagesYaml}` +
      `jobs:\n  eternia:\n    sources:\n` +
      `      db: { type: postgres, url: "${cluster.url('app')}" }\n` +
      `      config: { type: kubernetes, namespaces: [prod], kinds: [ConfigMap, Secret], kubeconfig: ${JSON.stringify(opts.kubeconfig)} }\n` +
      `    encryption: { type: age, recipients: [${key.recipient}], identityFile: ${JSON.stringify(key.file)} }\n` +
      `    storages: [${opts.storageName}]\n` +
      `    drill:\n      kubernetes: { dryRun: true }\n` +
      `signing: { key: ${JSON.stringify(signingKey)} }\n`,
  );
  const outputs: RunResult[] = [];
  const run = async (args: string[]) => {
    const t0 = Date.now();
    const r = await lifeboat(['--config', config, ...args], { env: opts.env });
    if (process.env.LIFEBOAT_TEST_TIMINGS)
      console.error(`${args.slice(0, 2).join(' ')}: ${Date.now() - t0} ms`);
    outputs.push(r);
    return r;
  };

  // One backup, both sources; the objects read in pages of 250.
  const before = api.requests.length;
  const backup = await run(['backup', 'eternia', '--json']);
  assert.equal(backup.code, 0, backup.stderr);
  const pages = api.requests
    .slice(before)
    .filter((r) => r.url.startsWith('/api/v1/namespaces/prod/configmaps?'));
  assert.equal(pages.length, 2, 'ConfigMaps read in two pages');
  assert.ok(pages[1]!.url.includes('continue='));
  const { manifests } = await listBackups(opts.storage, 'eternia');
  assert.equal(manifests.length, 1);
  const m = manifests[0]!;
  assert.deepEqual(Object.keys(m.sources).sort(), ['config', 'db']);
  const record = m.sources.config as KubernetesSourceRecord;
  assert.equal(record.kind, 'kubernetes');
  assert.deepEqual(record.counts, { prod: { ConfigMap: 300, Secret: 200 } });
  assert.equal(record.objects, 500);
  assert.deepEqual(record.databases, ['prod']);
  assert.deepEqual(record.kinds, ['v1/ConfigMap', 'v1/Secret']);
  assert.equal(record.serverVersion, 'v1.31.0-lifeboat-test');
  assert.deepEqual(m.encryption, { type: 'age', recipients: [key.recipient] });
  const configKeys = m.artifacts.filter((a) => a.source === 'config').map((a) => a.key);
  assert.equal(configKeys.length, 1);
  assert.match(configKeys[0]!, /\/config\/prod\.yaml\.zst\.age$/);
  assert.ok(
    m.artifacts.every((a) => a.key.endsWith('.age')),
    'every artifact encrypted',
  );

  // The manifest is signed; verify checks every checksum and the signature.
  assert.ok(await opts.storage.stat(`.lifeboat/eternia/${m.id}.json.minisig`), 'the manifest is signed');
  const verify = await run(['verify', 'latest', '--job', 'eternia']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stderr, /sha256 OK \(\d+ artifact\(s\)\), signature OK/);

  // Drill: both sources; the objects validated, counted and dry-run applied into scratch namespaces.
  const drill = await run(['drill', 'eternia', '--json']);
  assert.equal(drill.code, 0, drill.stderr + drill.stdout);
  assert.match(drill.stderr, /signature OK/);
  const [report] = JSON.parse(drill.stdout) as Array<{
    ok: boolean;
    checks: Array<{ name: string; ok: boolean; actual: string }>;
  }>;
  const checks = Object.fromEntries(report!.checks.map((c) => [c.name, c]));
  assert.equal(checks['config: objects prod']?.actual, 'ConfigMap 300, Secret 200, all valid');
  assert.equal(checks['config: server-side dry run prod']?.actual, '500 accepted');
  assert.ok(report!.ok);
  const namespaces = () => api.list('v1', 'Namespace', '').map((n) => n.metadata.name as string);
  assert.deepEqual(
    namespaces().filter((n) => n.startsWith('lifeboat-drill-')),
    [],
    'scratch namespaces removed',
  );
  const dryApplies = api.requests.filter((r) => r.method === 'PATCH' && r.url.includes('dryRun=All'));
  assert.equal(dryApplies.length, 500);

  // Restore the objects into another namespace.
  const restore = await run(configRestoreArgs('prod=prod-restored', '--json'));
  assert.equal(restore.code, 0, restore.stderr);
  const summary = JSON.parse(restore.stdout) as {
    perKind: Record<string, unknown>;
    namespacesCreated: string[];
    namespaces: string[];
  };
  assert.deepEqual(summary.perKind, {
    ConfigMap: { created: 300, unchanged: 0, conflicting: 0 },
    Secret: { created: 200, unchanged: 0, conflicting: 0 },
  });
  assert.deepEqual(summary.namespacesCreated, ['prod-restored']);
  assert.deepEqual(summary.namespaces, ['prod-restored']);
  assert.equal(api.list('v1', 'ConfigMap', 'prod-restored').length, 300);
  const restored = api.list('v1', 'Secret', 'prod-restored');
  assert.equal(restored.length, 200);
  assert.equal(Buffer.from(restored[7]!.data.password, 'base64').toString(), `${SECRET}-7`);
  assert.match(restore.stderr, /signature OK/);
  assert.match(restore.stderr, /sha256 OK, decrypt OK/);

  const again = await run(configRestoreArgs('prod=prod-restored'));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /: 0 created, 500 unchanged, 0 conflicting in /);
  assert.match(again.stdout, /^ConfigMap\t0 created\t300 unchanged\t0 conflicting$/m);
  assert.match(again.stdout, /^Secret\t0 created\t200 unchanged\t0 conflicting$/m);

  const dry = await run(configRestoreArgs('prod=prod-dry', '--dry-run'));
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(
    dry.stdout,
    /^dry run of restoring .*500 created, 0 unchanged, 0 conflicting; nothing was stored/,
  );
  assert.ok(!namespaces().includes('prod-dry'));

  // And the database of the same backup.
  const db = await run([
    'restore',
    'latest',
    '--job',
    'eternia',
    '--source',
    'db',
    '--to',
    cluster.url('app_restored'),
    '--create',
  ]);
  assert.equal(db.code, 0, db.stderr);
  assert.equal(
    (await cluster.psql('select count(*) from notes', { database: 'app_restored' })).trim(),
    '1000',
  );

  // No Secret value, nor its base64, nor the age identity or signing key in any output or stored object.
  const needles = [SECRET, b64(SECRET), key.secret, signingSecret];
  for (const r of outputs)
    for (const n of needles)
      assert.ok(!(r.stdout + r.stderr).includes(n), `a secret in the output of a run: ${r.stderr}`);
  let stored = 0;
  for await (const info of opts.storage.list('')) {
    const chunks: Buffer[] = [];
    for await (const c of await opts.storage.get(info.key)) chunks.push(Buffer.from(c as Uint8Array));
    const text = Buffer.concat(chunks).toString('latin1');
    for (const n of needles) assert.ok(!text.includes(n), `a secret stored in ${info.key}`);
    stored++;
  }
  assert.ok(stored >= 6, `${stored} stored objects searched`);
}
