/**
 * Unit tests for configuration: parsing and validation (src/config/load.ts, schema.ts), `${VAR}`
 * expansion (src/config/expand.ts) and secret registration. Every error must name the exact path of
 * the bad field, and no error may echo a secret.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { buildSource, buildStorages } from '../src/config/compose.js';
import { expandEnv } from '../src/config/expand.js';
import { formatIssue, loadConfig, parseConfig } from '../src/config/load.js';
import { configSchema } from '../src/config/schema.js';
import { LifeboatError } from '../src/util/errors.js';
import { Redactor } from '../src/util/redact.js';

let dir: string | undefined;
async function writeConfig(text: string): Promise<string> {
  dir ??= await mkdtemp(path.join(tmpdir(), 'lifeboat-config-test-'));
  const file = path.join(dir, `lifeboat-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  return file;
}
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The SPEC §2 example (values that start with "${" inside flow mappings are quoted). */
const FULL_CONFIG = `
storages:
  local:   { type: local, path: /backups }
  offsite:
    type: s3
    bucket: homelab-backup-postgres
    prefix: ""
    endpoint: http://minio:9000
    region: us-east-1
    forcePathStyle: true
    accessKeyId: \${S3_ACCESS_KEY_ID}
    secretAccessKey: \${S3_SECRET_ACCESS_KEY}

jobs:
  postgres:
    source:
      type: postgres
      url: \${DATABASE_URL}
      databases: all
      exclude: ["*_queue", "*_cache", "*_cable"]
      dumpall: false
      format: plain
    compression: { type: zstd, level: 3 }
    encryption: { recipients: [age1xvhljfgnj4cylp4gw0n4qjq54yqly3clj9kr3nv8tcvm78yl4exsn508sk] }
    storages: [local, offsite]
    layout: "postgresql-18/{yyyy}/{MM}/{dd}"
    name: "full"
    schedule: { cron: "30 2 * * *", timezone: America/Sao_Paulo }
    retention: { keepWithin: 14d, keepLast: 3, keepDaily: 14, keepWeekly: 8, keepMonthly: 12, minKeep: 1 }
    drill:
      schedule: { cron: "0 3 * * 0", timezone: America/Sao_Paulo }
      expect: { databases: [grafana, authelia] }
      checks:
        - { name: users present, database: app, sql: "select count(*) from users", expect: ">= 1" }

notify:
  - { type: webhook, url: "\${ALERT_WEBHOOK}", on: [failure, drill-failure, stale] }
server: { port: 8080, token: "\${LIFEBOAT_TOKEN}" }
`;

const DB_PASSWORD = 'Pg-Pa55word-xyzzy';
const S3_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const TOKEN = 'lb-token-0123456789abcdef';

const FULL_ENV: NodeJS.ProcessEnv = {
  S3_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  S3_SECRET_ACCESS_KEY: S3_SECRET,
  DATABASE_URL: `postgres://backup:${DB_PASSWORD}@db.internal:5432/app`,
  ALERT_WEBHOOK: 'https://alerts.example.com/hook',
  LIFEBOAT_TOKEN: TOKEN,
};

/** A config tree as YAML would give it; tests patch it freely, so it is loosely typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tree = Record<string, any>;

/** A minimal valid tree; `patch` edits it before validation. */
function minimal(patch?: (tree: Tree) => void): Tree {
  const tree: Tree = {
    storages: { local: { type: 'local', path: '/backups' } },
    jobs: {
      app: {
        source: { type: 'postgres', url: 'postgres://backup@db:5432/app' },
        storages: ['local'],
        retention: { keepDaily: 7 },
      },
    },
  };
  patch?.(tree);
  return tree;
}

/** Runs fn, expects a config LifeboatError, and returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
    assert.equal(err.code, 'config');
    assert.ok(
      !err.message.includes('\n'),
      `error message should be one line: ${JSON.stringify(err.message)}`,
    );
    return err.message;
  }
  assert.fail('expected a config error');
}

async function configErrorAsync(fn: () => Promise<unknown>): Promise<LifeboatError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
    assert.equal(err.code, 'config');
    return err;
  }
  assert.fail('expected a config error');
}

describe('loadConfig: the full SPEC §2 example', () => {
  test('parses, expands every variable and applies defaults', async () => {
    const file = await writeConfig(FULL_CONFIG);
    const config = await loadConfig(file, FULL_ENV, new Redactor());

    assert.deepEqual(config.storages.local, { type: 'local', path: '/backups' });
    assert.deepEqual(config.storages.offsite, {
      type: 's3',
      bucket: 'homelab-backup-postgres',
      prefix: '',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: S3_SECRET,
    });

    const job = config.jobs.postgres!;
    assert.deepEqual(job.sources.main, {
      type: 'postgres',
      url: FULL_ENV.DATABASE_URL,
      databases: 'all',
      exclude: ['*_queue', '*_cache', '*_cable'],
      dumpall: false,
      format: 'plain',
    });
    assert.deepEqual(job.compression, { type: 'zstd', level: 3 });
    assert.deepEqual(job.encryption, {
      type: 'age',
      recipients: ['age1xvhljfgnj4cylp4gw0n4qjq54yqly3clj9kr3nv8tcvm78yl4exsn508sk'],
    });
    assert.deepEqual(job.storages, ['local', 'offsite']);
    assert.equal(job.layout, 'postgresql-18/{yyyy}/{MM}/{dd}');
    assert.equal(job.name, 'full');
    assert.deepEqual(job.schedule, { cron: '30 2 * * *', timezone: 'America/Sao_Paulo' });
    assert.deepEqual(job.retention, {
      keepWithin: '14d',
      keepLast: 3,
      keepDaily: 14,
      keepWeekly: 8,
      keepMonthly: 12,
      minKeep: 1,
    });
  });

  test('drill, notify and server parse with their defaults', async () => {
    const file = await writeConfig(FULL_CONFIG);
    const config = await loadConfig(file, FULL_ENV, new Redactor());
    assert.deepEqual(config.jobs.postgres!.drill, {
      schedule: { cron: '0 3 * * 0', timezone: 'America/Sao_Paulo' },
      expect: { databases: ['grafana', 'authelia'] },
      checks: [{ name: 'users present', database: 'app', sql: 'select count(*) from users', expect: '>= 1' }],
      httpChecks: [],
    });
    assert.deepEqual(config.notify, [
      {
        type: 'webhook',
        url: 'https://alerts.example.com/hook',
        on: ['failure', 'drill-failure', 'stale'],
        timeoutSeconds: 10,
      },
    ]);
    assert.deepEqual(config.server, {
      port: 8080,
      token: TOKEN,
      protectReads: false,
      historyRetention: '90d',
      jitterSeconds: 0,
      retries: { attempts: 3, baseDelaySeconds: 30, maxDelaySeconds: 600 },
      graceSeconds: 30,
    });
  });

  test('server.token: an empty default leaves the API read-only; a set variable is the token', async () => {
    const file = await writeConfig('server: { token: "${LIFEBOAT_TOKEN:-}" }\n');
    const unset = await loadConfig(file, {}, new Redactor());
    assert.equal(unset.server?.token, undefined);
    const set = await loadConfig(file, { LIFEBOAT_TOKEN: 'tok-1' }, new Redactor());
    assert.equal(set.server?.token, 'tok-1');
    await assert.rejects(
      loadConfig(await writeConfig('server: { token: "${LIFEBOAT_TOKEN}" }\n'), {}, new Redactor()),
      /server\.token: environment variable LIFEBOAT_TOKEN is not set/,
    );
  });

  test('s3 storages parse and build (compose.ts); the location never holds credentials', async () => {
    const file = await writeConfig(FULL_CONFIG);
    const config = await loadConfig(file, FULL_ENV, new Redactor());
    assert.equal(config.storages.offsite!.type, 's3');
    const offsite = buildStorages(config).offsite!;
    assert.equal(offsite.location, 's3://homelab-backup-postgres');
    assert.equal(offsite.capabilities.atomicCreateOnly, true);
  });

  test('defaults: parseConfig of nothing is an empty config; compression zstd, minKeep 1, s3 region', () => {
    assert.deepEqual(parseConfig(undefined), { storages: {}, jobs: {} });
    const config = parseConfig(
      minimal((t) => {
        t.storages.b = { type: 's3', bucket: 'bk' };
      }),
    );
    const job = config.jobs.app!;
    assert.deepEqual(job.compression, { type: 'zstd' });
    assert.equal(job.retention!.minKeep, 1);
    assert.deepEqual(job.sources.main, {
      type: 'postgres',
      url: 'postgres://backup@db:5432/app',
      exclude: [],
      dumpall: false,
      format: 'plain',
    });
    assert.deepEqual(config.storages.b, {
      type: 's3',
      bucket: 'bk',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
    });
  });
});

describe('parseConfig: errors name the exact field path', () => {
  const cases: Array<{ name: string; patch: (t: Tree) => void; message: string }> = [
    {
      name: 'keepDaily: "x"',
      patch: (t) => (t.jobs.app.retention.keepDaily = 'x'),
      message: 'config: jobs.app.retention.keepDaily: expected a whole number',
    },
    {
      name: 'keepDaily: 1.5',
      patch: (t) => (t.jobs.app.retention.keepDaily = 1.5),
      message: 'config: jobs.app.retention.keepDaily: expected a whole number',
    },
    {
      name: 'keepDaily: -1',
      patch: (t) => (t.jobs.app.retention.keepDaily = -1),
      message: 'config: jobs.app.retention.keepDaily: expected 0 or more',
    },
    {
      name: 'keepWithin: "2 weeks"',
      patch: (t) => (t.jobs.app.retention.keepWithin = '2 weeks'),
      message: 'config: jobs.app.retention.keepWithin: expected a duration like 14d, 36h, 2w or 1y6m',
    },
    {
      name: 'an unknown field in a job',
      patch: (t) => (t.jobs.app.retention.keepDialy = 3),
      message: 'config: jobs.app.retention: unknown field keepDialy',
    },
    {
      name: 'two unknown fields in a source',
      patch: (t) => Object.assign(t.jobs.app.source, { port: 5432, host: 'db' }),
      message: 'config: jobs.app.source: unknown fields port, host',
    },
    {
      name: 'an unknown top-level field',
      patch: (t) => (t.storage = {}),
      message: 'config: config: unknown field storage',
    },
    {
      name: 'an unknown storage type',
      patch: (t) => (t.storages.local.type = 'ftp'),
      message: 'config: storages.local.type: expected type local or s3',
    },
    {
      name: 'a missing required field',
      patch: (t) => delete t.storages.local.path,
      message: 'config: storages.local.path: required',
    },
    {
      name: 'a bad storage name inside the job list',
      patch: (t) => (t.jobs.app.storages = ['local', 'bad name']),
      message:
        'config: jobs.app.storages[1]: expected letters, digits, "_", "." or "-", starting with a letter or digit',
    },
    {
      name: 'an empty storage list',
      patch: (t) => (t.jobs.app.storages = []),
      message: 'config: jobs.app.storages: expected at least one storage name',
    },
    {
      name: 'compression level not a whole number',
      patch: (t) => (t.jobs.app.compression = { type: 'zstd', level: 2.5 }),
      message: 'config: jobs.app.compression.level: expected a whole number',
    },
    {
      name: 'an unknown source type',
      patch: (t) => (t.jobs.app.source.type = 'mysql'),
      message: 'config: jobs.app.source.type: expected type postgres, sqlite, files, bucket or kubernetes',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(
        configError(() => parseConfig(minimal(c.patch))),
        c.message,
      );
    });
  }

  test('a job that references a missing storage', () => {
    const tree = minimal((t) => (t.jobs.app.storages = ['local', 'offsite']));
    assert.equal(
      configError(() => parseConfig(tree, 'lifeboat.yaml')),
      'lifeboat.yaml: jobs.app.storages[1]: no storage named "offsite" (have: local)',
    );
    const none = minimal((t) => (t.storages = {}));
    assert.equal(
      configError(() => parseConfig(none)),
      'config: jobs.app.storages[0]: no storage named "local" (have: none)',
    );
  });

  test('kubernetes sources: defaults, and a wrong field named by its path', () => {
    const config = parseConfig(
      minimal((t) => (t.jobs.app.source = { type: 'kubernetes', namespaces: ['a'] })),
    );
    assert.deepEqual(config.jobs.app!.sources.main, {
      type: 'kubernetes',
      namespaces: ['a'],
      excludeNamespaces: [],
      kinds: ['ConfigMap', 'Secret'],
      exclude: [],
      helmReleases: false,
    });
    const wrong = (source: object) =>
      configError(() => parseConfig(minimal((t) => (t.jobs.app.source = { type: 'kubernetes', ...source }))));
    assert.equal(
      wrong({ namespaces: ['a'], anything: true }),
      'config: jobs.app.source: unknown field anything',
    );
    assert.equal(
      wrong({ namespaces: 'some' }),
      'config: jobs.app.source.namespaces: expected a list of namespace names, or all',
    );
    assert.equal(
      wrong({ namespaces: 'all', kinds: ['configmaps'] }),
      'config: jobs.app.source.kinds[0]: expected Kind or group/version/Kind, e.g. ConfigMap or apps/v1/Deployment',
    );
  });

  test('sqlite and files sources: defaults, and a wrong field named by its path', () => {
    const config = parseConfig(
      minimal((t) => {
        t.jobs.app.source = undefined;
        t.jobs.app.sources = {
          state: { type: 'sqlite', path: '/srv/k3s/state.db' },
          token: { type: 'files', paths: ['/srv/k3s/token'] },
        };
      }),
    );
    assert.deepEqual(config.jobs.app!.sources.state, {
      type: 'sqlite',
      path: '/srv/k3s/state.db',
      busyTimeout: 30,
    });
    assert.deepEqual(config.jobs.app!.sources.token, {
      type: 'files',
      paths: ['/srv/k3s/token'],
      exclude: [],
      onUnreadable: 'fail',
    });
    assert.throws(
      () =>
        parseConfig(
          minimal((t) => (t.jobs.app.source = { type: 'sqlite', path: '/a.db', paths: ['/b.db'] })),
        ),
      /jobs\.app\.source: expected one of path or paths/,
    );
    assert.throws(
      () =>
        parseConfig(
          minimal((t) => (t.jobs.app.source = { type: 'files', paths: ['/x'], onUnreadable: 'skip' })),
        ),
      /jobs\.app\.source\.onUnreadable: /,
    );
  });

  test('formatIssue renders array indexes in brackets', () => {
    const result = configSchema.safeParse(minimal((t) => (t.jobs.app.source.exclude = ['ok', 7])));
    assert.equal(result.success, false);
    assert.match(formatIssue(result.error!.issues[0]!), /^jobs\.app\.source\.exclude\[1\]: /);
  });
});

describe('parseConfig: what would pass check and then fail is refused, naming the field', () => {
  const refused: Array<[string, (t: Tree) => void, string]> = [
    [
      'layout "../../x/{id}"',
      (t) => (t.jobs.app.layout = '../../x/{id}'),
      'jobs.app.layout: "../../x/{id}" has a "." or ".." folder; a layout stays inside the storage (hint: layout: "" is the storage root)',
    ],
    ['layout "."', (t) => (t.jobs.app.layout = '.'), 'jobs.app.layout: "." has a "." or ".." folder'],
    [
      'layout "a/./b"',
      (t) => (t.jobs.app.layout = 'a/./b'),
      'jobs.app.layout: "a/./b" has a "." or ".." folder',
    ],
    [
      'layout "x/..\\y"',
      (t) => (t.jobs.app.layout = 'x/..\\y'),
      'jobs.app.layout: "x/..\\\\y" has a "." or ".." folder',
    ],
    [
      'absolute layout',
      (t) => (t.jobs.app.layout = '/srv/{job}'),
      'jobs.app.layout: "/srv/{job}" is an absolute path; a layout is a folder inside the storage (hint: drop the leading "/"; layout: "" is the storage root)',
    ],
    [
      'drive-letter layout',
      (t) => (t.jobs.app.layout = 'C:\\b\\{id}'),
      'jobs.app.layout: "C:\\\\b\\\\{id}" is an absolute path',
    ],
    ['unknown token', (t) => (t.jobs.app.layout = '{job}/{year}'), 'jobs.app.layout: unknown token {year}'],
    [
      'control character in layout',
      (t) => (t.jobs.app.layout = 'a\nb'),
      'jobs.app.layout: control characters are not allowed',
    ],
    [
      'name with folders',
      (t) => (t.jobs.app.name = '../../../n-{db}'),
      'jobs.app.name: "../../../n-{db}" contains a folder; a name is one file name (hint: put folders in layout)',
    ],
    ['name "a/b"', (t) => (t.jobs.app.name = 'a/b'), 'jobs.app.name: "a/b" contains a folder'],
    ['name ".."', (t) => (t.jobs.app.name = '..'), 'jobs.app.name: ".." is not a file name'],
    ['empty name', (t) => (t.jobs.app.name = ''), 'jobs.app.name: expected a file name'],
    [
      'keepWithin 99999999999999999999y',
      (t) => (t.jobs.app.retention.keepWithin = '99999999999999999999y'),
      'jobs.app.retention.keepWithin: expected at most 1000y',
    ],
    [
      'keepWithin 12001m',
      (t) => (t.jobs.app.retention.keepWithin = '12001m'),
      'jobs.app.retention.keepWithin: expected at most 1000y',
    ],
    [
      'historyRetention 1001y',
      (t) => (t.server = { historyRetention: '1001y' }),
      'server.historyRetention: expected at most 1000y',
    ],
    // Node fires a timer above 2^31-1 ms at once: a 30-day deadline would abort every run.
    [
      'runDeadline 30d',
      (t) => (t.server = { runDeadline: '30d' }),
      'server.runDeadline: expected at most 24d',
    ],
    [
      'graceSeconds 1e9',
      (t) => (t.server = { graceSeconds: 1e9 }),
      'server.graceSeconds: expected at most 2073600 seconds (24 days)',
    ],
    [
      'retries.maxDelaySeconds 1e9',
      (t) => (t.server = { retries: { maxDelaySeconds: 1e9 } }),
      'server.retries.maxDelaySeconds: expected at most 2073600 seconds',
    ],
    [
      'allowedHosts with a port',
      (t) => (t.server = { allowedHosts: ['example.com:8080'] }),
      'server.allowedHosts[0]: expected a host name without port, or "*"',
    ],
  ];
  for (const [name, patch, message] of refused) {
    test(name, () => {
      const got = configError(() => parseConfig(minimal(patch)));
      assert.ok(got.startsWith(`config: ${message}`), got);
    });
  }

  test('accepted: "" (the storage root), flat names, date folders, dots inside names', () => {
    for (const [layout, name] of [
      ['', '{db}_{yyyy}-{MM}-{dd}_{HH}-{mm}-{ss}'],
      ['postgresql-18/{yyyy}/{MM}/{dd}', 'full'],
      ['backups/{job}/', 'v1.2-{db}'],
      ['.hidden/..x/{id}', '...'],
    ] as const) {
      const job = parseConfig(minimal((t) => Object.assign(t.jobs.app, { layout, name }))).jobs.app!;
      assert.deepEqual([job.layout, job.name], [layout, name]);
    }
    assert.deepEqual(
      parseConfig(minimal((t) => (t.server = { runDeadline: '24d', allowedHosts: ['*', 'backup.lan'] })))
        .server?.allowedHosts,
      ['*', 'backup.lan'],
    );
  });
});

describe('expandEnv', () => {
  test('${VAR} and ${VAR:-default}', () => {
    const { value, expandedValues } = expandEnv(
      {
        a: '${A}',
        b: 'postgres://${USER_NAME}:${PASS}@${HOST:-localhost}:${PORT:-5432}/db',
        c: '${UNSET:-fallback}',
        d: '${EMPTY:-was empty}',
        list: ['${A}', 'plain', 3, true, null],
        n: 42,
        literal: '$A and $' + '{not closed',
      },
      { A: 'alpha', USER_NAME: 'u', PASS: 'pw-secret', PORT: '6543', EMPTY: '' },
    );
    assert.deepEqual(value, {
      a: 'alpha',
      b: 'postgres://u:pw-secret@localhost:6543/db',
      c: 'fallback',
      d: 'was empty',
      list: ['alpha', 'plain', 3, true, null],
      n: 42,
      literal: '$A and ${not closed',
    });
    // Values that came from the environment are recorded; defaults are not.
    assert.deepEqual(new Set(expandedValues), new Set(['alpha', 'u', 'pw-secret', '6543']));
    assert.ok(!expandedValues.includes('fallback'));
  });

  test('a deferred field keeps its text and reports the missing variable instead of throwing', () => {
    const tree = { jobs: { app: { source: { url: 'postgres://${PGHOSTNAME}/${DB}' }, layout: '${L}' } } };
    const env = { DB: 'db-secret', L: 'x' };
    const isSource = (keys: string[]) => keys[2] === 'source';
    const { value, deferred, expandedValues } = expandEnv(tree, env, { defer: isSource });
    assert.deepEqual(value, {
      jobs: { app: { source: { url: 'postgres://${PGHOSTNAME}/${DB}' }, layout: 'x' } },
    });
    assert.deepEqual(
      deferred.map((d) => [d.keys.join('.'), d.error.message]),
      [['jobs.app.source.url', 'jobs.app.source.url: environment variable PGHOSTNAME is not set']],
    );
    assert.deepEqual(expandedValues, ['x']);
    assert.throws(
      () => expandEnv({ ...tree, jobs: { app: { layout: '${NOPE}' } } }, env, { defer: isSource }),
      /NOPE/,
    );
  });

  test('an expanded value is not expanded again', () => {
    const { value } = expandEnv({ a: '${A}' }, { A: '${B}', B: 'secret' });
    assert.deepEqual(value, { a: '${B}' });
  });

  test('a missing variable names the field path and the variable', () => {
    assert.throws(
      () => expandEnv({ jobs: { app: { source: { url: '${DATABASE_URL}' } } } }, {}),
      (err: unknown) =>
        err instanceof LifeboatError &&
        err.code === 'config' &&
        err.message === 'jobs.app.source.url: environment variable DATABASE_URL is not set',
    );
    assert.throws(
      () => expandEnv({ jobs: { app: { storages: ['local', '${SECOND}'] } } }, {}),
      (err: unknown) =>
        err instanceof LifeboatError &&
        err.message === 'jobs.app.storages[1]: environment variable SECOND is not set' &&
        err.hint !== undefined &&
        err.hint.includes('SECOND'),
    );
  });

  test('loadConfig reports a missing variable with its field path', async () => {
    const file = await writeConfig(FULL_CONFIG);
    const env = { ...FULL_ENV };
    delete env.DATABASE_URL;
    // A source's variables are needed only where the source is used: loading succeeds, using it fails.
    const config = await loadConfig(file, env, new Redactor());
    assert.throws(
      () => buildSource('jobs.postgres.source', config.jobs.postgres!.sources.main!),
      (err: unknown) =>
        err instanceof LifeboatError &&
        err.code === 'config' &&
        err.message === 'jobs.postgres.source.url: environment variable DATABASE_URL is not set',
    );
    const outside = await writeConfig(FULL_CONFIG.replace('path: /backups', 'path: "${BACKUP_DIR}"'));
    const err = await configErrorAsync(() => loadConfig(outside, { ...FULL_ENV }, new Redactor()));
    assert.match(err.message, /storages\.local\.path: environment variable BACKUP_DIR is not set/);
  });

  test('an expanded value cannot inject YAML structure', async () => {
    const file = await writeConfig(
      [
        'storages:',
        '  local: { type: local, path: /backups }',
        'jobs:',
        '  app:',
        '    source:',
        '      type: postgres',
        '      url: ${DATABASE_URL}',
        '    storages: [local]',
      ].join('\n'),
    );
    const evil = 'postgres://h/db\n  evil: 1\n    dumpall: true';
    const config = await loadConfig(file, { DATABASE_URL: evil }, new Redactor());
    const source = config.jobs.app!.sources.main as Record<string, unknown>;
    assert.equal(source.url, evil);
    assert.equal(source.dumpall, false);
    assert.ok(!('evil' in source));
  });
});

describe('loadConfig: file problems', () => {
  test('a missing file is a config error with a hint', async () => {
    const missing = path.join(tmpdir(), `lifeboat-no-such-${process.pid}.yaml`);
    const err = await configErrorAsync(() => loadConfig(missing, {}, new Redactor()));
    assert.equal(err.message, `read config ${missing}: no such file`);
    assert.ok(err.hint);
  });

  test('a YAML syntax error names the file and the line', async () => {
    const file = await writeConfig(
      [
        'storages:',
        '  local: { type: local, path: /backups }',
        'jobs:',
        '  app: [',
        '    source: x',
        '',
      ].join('\n'),
    );
    const err = await configErrorAsync(() => loadConfig(file, {}, new Redactor()));
    assert.ok(err.message.startsWith(`parse ${file}`), err.message);
    assert.match(err.message, / line \d+/, `the message should name the line: ${err.message}`);
    assert.ok(!err.message.includes('\n'));
  });

  test('an empty file (or comments only) is a config error, not an empty config', async () => {
    for (const text of ['', '# lifeboat\n\n', '---\n']) {
      const file = await writeConfig(text);
      const err = await configErrorAsync(() => loadConfig(file, {}, new Redactor()));
      assert.equal(err.message, `read config ${file}: the file is empty`);
      assert.ok(err.hint);
    }
  });

  test('a YAML alias bomb, and an alias without anchor, are config errors with one line', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of [...'bcdefgh'].entries())
      levels.push(`${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`);
    const bomb = await writeConfig(levels.join('\n') + '\n');
    const err = await configErrorAsync(() => loadConfig(bomb, {}, new Redactor()));
    assert.equal(err.message, `parse ${bomb}: too many YAML aliases (the file expands without bound)`);
    const dangling = await writeConfig('storages: *nowhere\n');
    const err2 = await configErrorAsync(() => loadConfig(dangling, {}, new Redactor()));
    assert.ok(err2.message.startsWith(`parse ${dangling}`), err2.message);
    assert.ok(!err2.message.includes('\n'));
  });

  test('a validation error in a file is prefixed with the file name', async () => {
    const file = await writeConfig(
      [
        'storages:',
        '  local: { type: local, path: /backups }',
        'jobs:',
        '  app:',
        '    source: { type: postgres, url: "postgres://h/db" }',
        '    storages: [local]',
        '    retention: { keepDaily: x }',
      ].join('\n'),
    );
    const err = await configErrorAsync(() => loadConfig(file, {}, new Redactor()));
    assert.equal(err.message, `${file}: jobs.app.retention.keepDaily: expected a whole number`);
  });
});

describe('secrets', () => {
  test('loadConfig registers URL passwords, S3 secret keys and the server token', async () => {
    const file = await writeConfig(FULL_CONFIG);
    const redactor = new Redactor();
    await loadConfig(file, FULL_ENV, redactor);
    const text =
      `pg_dump: connection to db.internal failed for password ${DB_PASSWORD}\n` +
      `S3 signature used ${S3_SECRET}; auth header Bearer ${TOKEN}; ` +
      `url ${FULL_ENV.DATABASE_URL}`;
    const out = redactor.redact(text);
    for (const secret of [DB_PASSWORD, S3_SECRET, TOKEN]) {
      assert.ok(!out.includes(secret), `secret leaked: ${out}`);
    }
    assert.match(out, /password \*\*\*/);
    assert.match(out, /postgres:\/\/backup:\*\*\*@db\.internal:5432\/app/);
  });

  test('a percent-encoded URL password is registered in both forms', async () => {
    const file = await writeConfig(
      [
        'storages: { local: { type: local, path: /b } }',
        'jobs:',
        '  app:',
        '    source: { type: postgres, url: "${DATABASE_URL}" }',
        '    storages: [local]',
      ].join('\n'),
    );
    const redactor = new Redactor();
    await loadConfig(file, { DATABASE_URL: 'postgres://u:p%40ss%2Fw0rd@h/db' }, redactor);
    assert.equal(redactor.redact('auth p@ss/w0rd and p%40ss%2Fw0rd'), 'auth *** and ***');
  });

  test("a drill scratch server's URL password is registered too (serve loads the config the same way)", async () => {
    const file = await writeConfig(
      [
        'storages: { local: { type: local, path: /b } }',
        'jobs:',
        '  app:',
        '    source: { type: postgres, url: "postgres://h/db" }',
        '    storages: [local]',
        '    drill: { scratch: { url: "${SCRATCH_URL}" } }',
      ].join('\n'),
    );
    const redactor = new Redactor();
    await loadConfig(file, { SCRATCH_URL: 'postgres://drill:scr%40tch-pw@scratch/postgres' }, redactor);
    assert.equal(redactor.redact('auth scr@tch-pw and scr%40tch-pw'), 'auth *** and ***');
  });

  test('validation errors do not echo the secret values', async () => {
    const badFields: Array<[string, string]> = [
      ['a bad format next to the URL', 'format: sql'],
      ['an unknown port field next to the URL', 'port: 5432'],
      ['a bad dumpall value', 'dumpall: ${DB_PASSWORD_ONLY}'],
      ['a bad format holding the secret', 'format: ${DB_PASSWORD_ONLY}'],
      ['a bad type holding the secret', 'exclude: ${DB_PASSWORD_ONLY}'],
    ];
    for (const [what, line] of badFields) {
      const file = await writeConfig(
        [
          'storages:',
          '  local: { type: local, path: /backups }',
          '  offsite: { type: s3, bucket: b, secretAccessKey: "${S3_SECRET_ACCESS_KEY}" }',
          'jobs:',
          '  app:',
          '    source:',
          '      type: postgres',
          '      url: ${DATABASE_URL}',
          `      ${line}`,
          '    storages: [local]',
        ].join('\n'),
      );
      const err = await configErrorAsync(() =>
        loadConfig(file, { ...FULL_ENV, DB_PASSWORD_ONLY: DB_PASSWORD }, new Redactor()),
      );
      assert.match(err.message, /: jobs\.app\.source(\.\w+)?: /, `${what}: fails at the intended field`);
      assert.ok(!err.message.includes(DB_PASSWORD), `${what}: ${err.message}`);
      assert.ok(!err.message.includes(S3_SECRET), `${what}: ${err.message}`);
      assert.ok(!(err.hint ?? '').includes(DB_PASSWORD), `${what}: ${err.hint}`);
    }
  });

  test('a bad S3 endpoint error names the field without echoing the secret key', () => {
    const message = configError(() =>
      parseConfig(
        minimal((t) => {
          t.storages.offsite = { type: 's3', bucket: 'b', secretAccessKey: S3_SECRET, endpoint: 'not a url' };
        }),
      ),
    );
    assert.equal(message, 'config: storages.offsite.endpoint: expected a URL like http://minio:9000');
  });
});
