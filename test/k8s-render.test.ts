/**
 * `lifeboat k8s render` through the real CLI: golden files for a config mirroring the runbooks (a
 * PostgreSQL job backing up nightly with a weekly drill, a kubernetes source) in CronJob and in
 * service mode, and the Secret template. Every rendered object validates against the Kubernetes
 * schemas (kubernetes-models); the ServiceMonitor, a CRD it does not ship, is checked by shape.
 * Regenerate the golden files with UPDATE_GOLDEN=1 after an intended change, and read the diff.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { lifeboat, ROOT } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/render');
const CONFIG = path.join(FIXTURES, 'lifeboat.yaml');
const IMAGE = ['--image', 'ghcr.io/lifeboat-backup/lifeboat:0.1.0', '--namespace', 'backup'];

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
};

async function render(args: string[], env: NodeJS.ProcessEnv = {}, config = CONFIG): Promise<string> {
  const r = await lifeboat(['--config', config, 'k8s', 'render', ...args], { env });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function golden(name: string, text: string): Promise<void> {
  const file = path.join(FIXTURES, name);
  if (process.env.UPDATE_GOLDEN) await writeFile(file, text);
  assert.equal(text, await readFile(file, 'utf8'), `${name} differs from the golden file`);
}

function parse(text: string): Obj[] {
  return parseAllDocuments(text).map((doc) => {
    assert.deepEqual(doc.errors, []);
    return doc.toJS() as Obj;
  });
}

/** Validates with the kubernetes-models class of the object's kind; throws on a schema error. */
async function validate(obj: Obj): Promise<void> {
  if (obj.kind === 'ServiceMonitor') {
    const spec = obj.spec as { selector: { matchLabels: object }; endpoints: Array<{ port: string }> };
    assert.equal(obj.apiVersion, 'monitoring.coreos.com/v1');
    assert.ok(spec.selector.matchLabels && spec.endpoints.length > 0 && spec.endpoints[0]!.port);
    return;
  }
  const mod = (await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  new mod[obj.kind]!(obj).validate();
}

type PodSpec = { containers: Array<{ env: Array<{ name: string }> }> };

function byKind(objects: Obj[], kind: string): Obj[] {
  return objects.filter((o) => o.kind === kind);
}

describe('lifeboat k8s render', () => {
  test('the validator refuses a broken object (so that passing means something)', async () => {
    await assert.rejects(
      validate({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' }, spec: { schedule: 5 } }),
      /schedule|jobTemplate/,
    );
  });

  test('cronjob mode: golden file, valid objects, one CronJob per schedule, RBAC for the kubernetes source', async () => {
    // Set variables must not change a byte: the output never depends on (or holds) the environment.
    const text = await render(IMAGE, { PGPASSWORD: 'hunter2-secret', LIFEBOAT_TOKEN: 'tok-secret-1' });
    assert.doesNotMatch(text, /hunter2-secret|tok-secret-1/);
    await golden('cronjob.yaml', text);
    const objects = parse(text);
    for (const o of objects) await validate(o);
    assert.deepEqual(
      byKind(objects, 'CronJob').map((c) => c.metadata.name),
      ['lifeboat-backup-cluster-state', 'lifeboat-backup-postgres', 'lifeboat-drill-postgres'],
    );
    const drill = byKind(objects, 'CronJob').find((c) => c.metadata.name === 'lifeboat-drill-postgres')!;
    const spec = drill.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(spec.schedule, '0 3 * * 0');
    assert.equal(spec.timeZone, 'America/Sao_Paulo');
    assert.equal(spec.concurrencyPolicy, 'Forbid');
    const pod = spec.jobTemplate.spec.template.spec;
    assert.deepEqual(pod.containers[0].args.slice(-2), ['drill', 'postgres']);
    assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.containers[0].resources.limits['ephemeral-storage'], '20Gi'); // the job's override
    assert.equal(spec.jobTemplate.spec.activeDeadlineSeconds, 10800);
    const env = pod.containers[0].env as Array<{
      name: string;
      valueFrom?: { secretKeyRef: { key: string } };
    }>;
    assert.deepEqual(
      env.filter((e) => e.valueFrom).map((e) => e.valueFrom!.secretKeyRef.key),
      [
        'ALERT_WEBHOOK',
        'HISTORY_RETENTION',
        'LIFEBOAT_TOKEN',
        'PGPASSWORD',
        'S3_ACCESS_KEY_ID',
        'S3_SECRET_ACCESS_KEY',
      ],
    );
    // Least RBAC: get/list of the source's kinds in its two namespaces only, nothing cluster-wide.
    assert.deepEqual(byKind(objects, 'ClusterRole'), []);
    const roles = byKind(objects, 'Role');
    assert.deepEqual(
      roles.map((r) => [r.metadata.namespace, r.rules]),
      ['apps', 'auth'].map((ns) => [
        ns,
        [
          { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list'] },
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] },
        ],
      ]),
    );
  });

  test('service mode: golden file, Deployment (Recreate, 1 replica) with probes, history PVC, Service, ServiceMonitor', async () => {
    const text = await render(['--mode', 'service', '--service-monitor', ...IMAGE]);
    await golden('service.yaml', text);
    const objects = parse(text);
    for (const o of objects) await validate(o);
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata.name}`),
      [
        'ConfigMap/lifeboat-config',
        'PersistentVolumeClaim/lifeboat-storage-local',
        'PersistentVolumeClaim/lifeboat-history',
        'ServiceAccount/lifeboat',
        'Role/lifeboat',
        'RoleBinding/lifeboat',
        'Role/lifeboat',
        'RoleBinding/lifeboat',
        'Deployment/lifeboat',
        'Service/lifeboat',
        'ServiceMonitor/lifeboat',
      ],
    );
  });

  test('every other runbook (k3s, Eternia, Skyforge, helix, pg_dumpall), weekly drills: valid in both modes', async () => {
    const config = path.join(FIXTURES, 'runbooks.yaml');
    const jobs = ['eternia', 'helix', 'k3s', 'postgres', 'skyforge-objects'];
    const cron = parse(await render(IMAGE, { AGE_RECIPIENT: 'not-a-recipient' }, config));
    for (const o of cron) await validate(o);
    const cronJobs = byKind(cron, 'CronJob');
    assert.deepEqual(
      cronJobs.map((c) => c.metadata.name),
      jobs.flatMap((j) => [`lifeboat-backup-${j}`, `lifeboat-drill-${j}`]),
    );
    // A drill weekly, each in its job's time zone; run by `lifeboat drill JOB`.
    for (const c of cronJobs.filter((x) => x.metadata.name.startsWith('lifeboat-drill-'))) {
      const spec = c.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.match(spec.schedule, / \* \* 0$/, c.metadata.name);
      assert.equal(spec.timeZone, c.metadata.name.endsWith('eternia') ? 'Europe/Berlin' : 'UTC');
      const job = c.metadata.name.replace('lifeboat-drill-', '');
      assert.deepEqual(spec.jobTemplate.spec.template.spec.containers[0].args.slice(-2), ['drill', job]);
    }
    // The age recipients come from the Secret like every other variable (the environment of the
    // render, an invalid recipient here, is never read).
    const pod = (cronJobs[0]!.spec as { jobTemplate: { spec: { template: { spec: PodSpec } } } }).jobTemplate
      .spec.template.spec;
    const env = pod.containers[0]!.env.map((e) => e.name);
    for (const name of ['AGE_RECIPIENT', 'AGE_RECIPIENT_SPARE', 'HC_PING_KEY', 'SKYFORGE_SECRET_ACCESS_KEY'])
      assert.ok(env.includes(name), `${name} in the env`);
    // Only Eternia's kubernetes source gets API access, in its namespace.
    assert.deepEqual(
      byKind(cron, 'Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`),
      ['eternia-production/lifeboat-backup-eternia'],
    );

    const service = parse(await render(['--mode', 'service', '--service-monitor', ...IMAGE], {}, config));
    for (const o of service) await validate(o);
    assert.deepEqual(byKind(service, 'Deployment').length, 1);
    assert.deepEqual(byKind(service, 'CronJob'), []);
  });

  test('--secret-template: every ${VAR} of the config, empty values', async () => {
    const text = await render(['--secret-template', '--namespace', 'backup'], {
      PGPASSWORD: 'hunter2-secret',
    });
    await golden('secret.yaml', text);
    const [secret] = parse(text);
    await validate(secret!);
    assert.ok(Object.values(secret!.stringData as object).every((v) => v === ''));
  });

  test('namespaces: all gets a ClusterRole that can also list namespaces', async (t) => {
    const dir = await tempDir(t);
    const config = path.join(dir, 'lifeboat.yaml');
    await writeFile(
      config,
      'storages: { s: { type: local, path: /backups } }\njobs:\n  k8s:\n    source: { type: kubernetes, namespaces: all }\n    storages: [s]\n    schedule: { cron: "0 1 * * *" }\n',
    );
    const objects = parse(await render(IMAGE, {}, config));
    for (const o of objects) await validate(o);
    const [role] = byKind(objects, 'ClusterRole');
    assert.deepEqual(role!.rules, [
      { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list'] },
    ]);
    assert.equal(byKind(objects, 'ClusterRoleBinding').length, 1);
  });

  test("a job's kubernetes.volumes: in its backup CronJob and the Deployment, not its drill; a path on no volume is warned about", async (t) => {
    const dir = await tempDir(t);
    const config = path.join(dir, 'lifeboat.yaml');
    await writeFile(
      config,
      [
        'storages: { s: { type: local, path: /backups } }',
        'server: { token: "${LIFEBOAT_TOKEN}" }',
        'jobs:',
        '  app:',
        '    sources:',
        '      db: { type: sqlite, path: /data/app.db }',
        '      uploads: { type: files, paths: ["/srv/uploads/**/*.jpg", /etc/app/conf.yaml] }',
        '    storages: [s]',
        '    schedule: { cron: "0 1 * * *" }',
        '    drill: { schedule: { cron: "0 5 * * 0" } }',
        '    kubernetes:',
        '      volumes:',
        '        - { name: app-data, mountPath: /data, persistentVolumeClaim: { claimName: app-data } }',
        '        - { name: uploads, mountPath: /srv/uploads, readOnly: true, hostPath: { path: /var/lib/app/uploads, type: Directory } }',
        '',
      ].join('\n'),
    );
    const volumes = [
      { name: 'app-data', persistentVolumeClaim: { claimName: 'app-data' } },
      { name: 'uploads', hostPath: { path: '/var/lib/app/uploads', type: 'Directory' } },
    ];
    const mounts = [
      { name: 'app-data', mountPath: '/data' },
      { name: 'uploads', mountPath: '/srv/uploads', readOnly: true },
    ];
    type Pod = {
      volumes: Array<{ name: string }>;
      containers: Array<{ volumeMounts: Array<{ name: string }> }>;
    };
    const own = (pod: Pod) => ({
      volumes: pod.volumes.filter((v) => ['app-data', 'uploads'].includes(v.name)),
      mounts: pod.containers[0]!.volumeMounts.filter((m) => ['app-data', 'uploads'].includes(m.name)),
    });

    const r = await lifeboat(['--config', config, 'k8s', 'render', ...IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    const cron = parse(r.stdout);
    for (const o of cron) await validate(o);
    const podOf = (name: string) =>
      (
        byKind(cron, 'CronJob').find((c) => c.metadata.name === name)!.spec as {
          jobTemplate: { spec: { template: { spec: Pod } } };
        }
      ).jobTemplate.spec.template.spec;
    assert.deepEqual(own(podOf('lifeboat-backup-app')), { volumes, mounts });
    assert.deepEqual(own(podOf('lifeboat-drill-app')), { volumes: [], mounts: [] });
    // The one path outside both volumes, and nothing else, is warned about; the render still succeeds.
    assert.equal(
      r.stderr.trim(),
      'warn: render: jobs.app.sources.uploads: /etc/app/conf.yaml is on no volume of jobs.app.kubernetes.volumes; the pod will not see it',
    );

    const service = parse(await render(['--mode', 'service', ...IMAGE], {}, config));
    for (const o of service) await validate(o);
    const deployment = byKind(service, 'Deployment')[0]!.spec as { template: { spec: Pod } };
    assert.deepEqual(own(deployment.template.spec), { volumes, mounts });
    assert.ok(deployment.template.spec.volumes.some((v) => v.name === 'history'));
  });

  test('a schedule with a ${VAR}: refused for CronJobs, which bake it in; rendered for serve, which reads it when it runs', async (t) => {
    const dir = await tempDir(t);
    const config = path.join(dir, 'lifeboat.yaml');
    await writeFile(
      config,
      [
        'storages: { s: { type: local, path: /b } }',
        'server: { token: "${T}" }',
        'jobs:',
        '  a:',
        '    source: { type: postgres, url: "postgres://db/app" }',
        '    storages: [s]',
        '    schedule: { cron: "0 ${HOUR:-1} * * *", timezone: "${TZ}" }',
        '    retention: { keepDaily: 7, timezone: "${TZ}" }',
        '',
      ].join('\n'),
    );
    const cron = await lifeboat(['--config', config, 'k8s', 'render', ...IMAGE]);
    assert.equal(cron.code, 2, cron.stderr);
    assert.match(
      cron.stderr,
      /^error: render CronJobs: jobs\.a\.schedule\.cron is "0 \$\{HOUR:-1\} \* \* \*": a CronJob's schedule is written into its manifest/,
    );
    assert.equal(cron.stderr.trim().split('\n').length, 1, cron.stderr);
    assert.equal(cron.stdout, '');
    // Not "unknown time zone https://tz.invalid/": the stand-ins are valid, and serve reads the rest.
    const service = parse(await render(['--mode', 'service', ...IMAGE], {}, config));
    for (const o of service) await validate(o);
    const env = (
      byKind(service, 'Deployment')[0]!.spec as { template: { spec: PodSpec } }
    ).template.spec.containers[0]!.env.map((e) => e.name);
    for (const name of ['HOUR', 'T', 'TZ']) assert.ok(env.includes(name), `${name} in the env`);
  });

  test('refused with exit 2 and one line: a literal secret, a bad kubernetes: field or volume, service mode without a token', async (t) => {
    const dir = await tempDir(t);
    const pg =
      'storages: { s: { type: local, path: /b } }\njobs:\n  a:\n    source: { type: postgres, url: "postgres://db/app" }\n    storages: [s]\n    schedule: { cron: "0 1 * * *" }\n';
    const cases: Array<[string, string[], RegExp]> = [
      [
        'storages: { s: { type: local, path: /b } }\njobs:\n  a:\n    source: { type: postgres, url: "postgres://u:pa55word@db/app" }\n    storages: [s]\n',
        [],
        /a secret is written literally/,
      ],
      [
        'storages: { s: { type: local, path: /b } }\njobs:\n  a:\n    source: { type: postgres, url: "postgres://db/app" }\n    storages: [s]\n    kubernetes: { resources: { limits: { memory: lots } } }\n',
        [],
        /jobs\.a\.kubernetes\.resources\.limits\.memory: expected a quantity/,
      ],
      [
        'storages: { s: { type: local, path: /b } }\njobs:\n  a:\n    source: { type: postgres, url: "postgres://db/app" }\n    storages: [s]\n',
        ['--mode', 'service'],
        /render service: server\.token is not set/,
      ],
      [
        `${pg}    kubernetes: { volumes: [{ name: d, mountPath: /d, hostPath: { path: /d }, nfs: { server: nas, path: /d } }] }\n`,
        [],
        /jobs\.a\.kubernetes\.volumes\[0\]: expected exactly one of persistentVolumeClaim, hostPath, nfs/,
      ],
      [
        `${pg}    kubernetes: { volumes: [{ name: scratch, mountPath: /d, hostPath: { path: /d } }] }\n`,
        [],
        /jobs\.a\.kubernetes\.volumes\[0\]\.name: is reserved/,
      ],
      [
        `${pg}    kubernetes: { volumes: [{ name: tmp, mountPath: /scratch, hostPath: { path: /d } }] }\n`,
        [],
        /render: volumes scratch and tmp are both mounted at \/scratch/,
      ],
      [
        `server: { token: "\${T}" }\n${pg}    kubernetes: { volumes: [{ name: d, mountPath: /d, hostPath: { path: /d } }] }\n` +
          '  b:\n    source: { type: sqlite, path: /d/x.db }\n    storages: [s]\n' +
          '    kubernetes: { volumes: [{ name: d, mountPath: /d, hostPath: { path: /other } }] }\n',
        ['--mode', 'service'],
        /render: jobs\.b\.kubernetes\.volumes: d is defined differently in jobs\.a/,
      ],
    ];
    for (const [i, [yaml, args, expected]] of cases.entries()) {
      const config = path.join(dir, `c${i}.yaml`);
      await writeFile(config, yaml);
      const r = await lifeboat(['--config', config, 'k8s', 'render', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, expected);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });
});
