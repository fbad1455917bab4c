/**
 * Manifest parsing (src/catalog/manifest.ts): what a manifest must hold for any command to act on
 * it, each refusal with its error code and the one line that names the key and the problem.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backupDatabases,
  chooseSource,
  firstSourceField,
  isPartial,
  MANIFEST_FORMAT,
  parseManifest,
  referencedRoles,
  sourceBackup,
  sourceSummaries,
  totalSize,
  type Manifest,
} from '../src/catalog/manifest.js';
import { LifeboatError } from '../src/util/errors.js';

const KEY = '.lifeboat/app/20261122T023000Z.json';
const SHA = 'a'.repeat(64);

function good(): Manifest {
  return {
    format: MANIFEST_FORMAT,
    version: 2,
    id: '20261122T023000Z',
    job: 'app',
    sources: {
      main: {
        kind: 'postgres',
        host: 'db',
        port: 5432,
        mode: 'database',
        databases: ['app'],
        serverVersion: '15.18',
        tool: { name: 'pg_dump', version: '15.18' },
        dumpFormat: 'plain',
      },
    },
    artifacts: [
      {
        key: 'app/2026/11/22/20261122T023000Z/app.sql.zst',
        source: 'main',
        role: 'database',
        size: 10,
        sha256: SHA,
      },
      {
        key: 'app/2026/11/22/20261122T023000Z/globals.sql.zst',
        source: 'main',
        role: 'globals',
        size: 0,
        sha256: SHA,
      },
    ],
    startedAt: '2026-11-22T02:30:00.000Z',
    finishedAt: '2026-11-22T02:30:05.000Z',
    durationMs: 5000,
    lifeboatVersion: '0.1.0',
  } as unknown as Manifest;
}

/** parseManifest of `m` (or raw text) must throw this code and exactly this message. */
function refused(input: unknown, code: string, message: string) {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  assert.throws(
    () => parseManifest(text, KEY),
    (err: unknown) => {
      assert.ok(err instanceof LifeboatError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.message, `read manifest ${KEY}: ${message}`);
      return true;
    },
  );
}

const edit = (change: (m: Record<string, unknown>) => void) => {
  const m = good() as unknown as Record<string, unknown>;
  change(m);
  return m;
};
const editArtifact = (change: (a: Record<string, unknown>) => void) =>
  edit((m) => change((m.artifacts as Array<Record<string, unknown>>)[0]!));

describe('parseManifest', () => {
  test('a valid manifest comes back as it was written', () => {
    assert.deepEqual(parseManifest(JSON.stringify(good()), KEY), good());
    const partial = edit((m) => (m.partial = true));
    assert.equal(parseManifest(JSON.stringify(partial), KEY).partial, true);
    assert.equal(parseManifest(JSON.stringify(edit((m) => (m.partial = false))), KEY).partial, false);
  });

  test('the stored format name is the one every Lifeboat wrote: a manifest from disk reads', () => {
    // Literal on purpose: the name is on disk in every backup, so changing the constant must fail here.
    assert.equal(MANIFEST_FORMAT, 'lifeboat-manifest');
    const text = JSON.stringify(good()).replace(JSON.stringify(MANIFEST_FORMAT), '"lifeboat-manifest"');
    assert.equal(parseManifest(text, KEY).format, 'lifeboat-manifest');
  });

  test('not JSON, or not a Lifeboat manifest: integrity errors', () => {
    refused('{not json', 'integrity', 'not valid JSON');
    refused('null', 'integrity', 'not a Lifeboat manifest');
    refused('[]', 'integrity', 'not a Lifeboat manifest');
    refused(
      edit((m) => (m.format = 'other')),
      'integrity',
      'not a Lifeboat manifest',
    );
    refused(
      edit((m) => (m.version = '1')),
      'integrity',
      'not a Lifeboat manifest',
    );
    refused(
      edit((m) => delete m.version),
      'integrity',
      'not a Lifeboat manifest',
    );
    refused(
      edit((m) => (m.artifacts = 'x')),
      'integrity',
      'not a Lifeboat manifest',
    );
    refused(
      edit((m) => (m.id = '')),
      'integrity',
      'not a Lifeboat manifest',
    );
    refused(
      edit((m) => delete m.job),
      'integrity',
      'not a Lifeboat manifest',
    );
  });

  test('a newer manifest version is a usage error with an upgrade hint; the current one reads', () => {
    refused(
      edit((m) => (m.version = 3)),
      'usage',
      'written by a newer Lifeboat (manifest version 3)',
    );
    try {
      parseManifest(JSON.stringify(edit((m) => (m.version = 3))), KEY);
    } catch (err) {
      assert.equal((err as LifeboatError).hint, 'upgrade Lifeboat to read this backup');
    }
    assert.equal(parseManifest(JSON.stringify(good()), KEY).version, 2);
  });

  test('version 1: its one source reads as the source named main, tool and dump format with it', () => {
    const v1 = {
      ...good(),
      version: 1,
      sources: undefined,
      source: {
        kind: 'postgres',
        host: 'db',
        port: 5432,
        mode: 'database',
        databases: ['app'],
        serverVersion: '15.18',
      },
      tool: { name: 'pg_dump', version: '15.18' },
      dumpFormat: 'plain',
      artifacts: good().artifacts.map(({ source: _s, ...a }) => a),
      missing: [{ database: 'gone', error: 'dropped' }],
    };
    const read = parseManifest(JSON.stringify(v1), KEY);
    assert.deepEqual(read.sources, good().sources);
    assert.deepEqual(read.artifacts, good().artifacts);
    assert.deepEqual(read.missing, [{ source: 'main', database: 'gone', error: 'dropped' }]);
    assert.equal('source' in read || 'tool' in read || 'dumpFormat' in read, false);
    assert.equal(read.version, 1);
  });

  test('version 1 without a usable source object: a PostgreSQL source named main', () => {
    // Version 1 never checked `source`, so a backup it wrote without one must still read.
    for (const source of [undefined, null, 'db'])
      assert.deepEqual(
        parseManifest(
          JSON.stringify({
            ...good(),
            version: 1,
            sources: undefined,
            source,
            tool: { name: 'pg_dump', version: '15.18' },
            dumpFormat: 'custom',
          }),
          KEY,
        ).sources,
        { main: { kind: 'postgres', tool: { name: 'pg_dump', version: '15.18' }, dumpFormat: 'custom' } },
        String(source),
      );
  });

  test('version 2: at least one source, each with a kind; every artifact names one of them', () => {
    refused(
      edit((m) => (m.sources = {})),
      'integrity',
      'it names no source',
    );
    refused(
      edit((m) => delete m.sources),
      'integrity',
      'it names no source',
    );
    refused(
      edit((m) => (m.sources = null)),
      'integrity',
      'it names no source',
    );
    refused(
      edit((m) => (m.sources = { main: { tool: {} } })),
      'integrity',
      'source "main": kind must be a string',
    );
    refused(
      edit((m) => (m.sources = { main: null })),
      'integrity',
      'source "main": kind must be a string',
    );
    // The name must be the string itself: 1 is not the source named "1", nor a missing one "undefined".
    for (const [source, name] of [
      [1, '1'],
      [undefined, 'undefined'],
    ] as const)
      refused(
        edit((m) => {
          m.sources = { [name]: { kind: 'postgres' } };
          for (const a of m.artifacts as Array<Record<string, unknown>>) a.source = source;
        }),
        'integrity',
        'artifact "app/2026/11/22/20261122T023000Z/app.sql.zst": source must name one of the manifest\'s sources',
      );
    for (const source of [undefined, 'other', 'toString'])
      refused(
        editArtifact((a) => (a.source = source)),
        'integrity',
        'artifact "app/2026/11/22/20261122T023000Z/app.sql.zst": source must name one of the manifest\'s sources',
      );
  });

  test('id and job must be strings; a backup lists at least one artifact', () => {
    refused(
      edit((m) => (m.id = 7)),
      'integrity',
      'id and job must be strings',
    );
    refused(
      edit((m) => (m.job = ['app'])),
      'integrity',
      'id and job must be strings',
    );
    refused(
      edit((m) => (m.artifacts = [])),
      'integrity',
      'it lists no artifacts, so it is not a backup',
    );
  });

  test('each artifact: a relative key outside the catalog, a whole size, a sha256', () => {
    const name = 'artifact "app/2026/11/22/20261122T023000Z/app.sql.zst"';
    for (const key of ['', '/etc/passwd', '.lifeboat/app/x.json', 'a//b', 'a/./b', 'a/../b', '../b', 'a/'])
      refused(
        editArtifact((a) => (a.key = key)),
        'integrity',
        `artifact ${JSON.stringify(key)}: not a valid object key`,
      );
    refused(
      editArtifact((a) => (a.key = 5)),
      'integrity',
      `artifact ${JSON.stringify({ key: 5, source: 'main', role: 'database', size: 10, sha256: SHA })}: not a valid object key`,
    );
    refused(
      edit((m) => ((m.artifacts as unknown[])[1] = null)),
      'integrity',
      'artifact null: not a valid object key',
    );
    // Keys merely containing the catalog's name, dots or "..": fine.
    for (const key of ['x/.lifeboat/a', 'a/.hidden', 'a..b/c', 'lifeboat/a'])
      assert.equal(
        parseManifest(JSON.stringify(editArtifact((a) => (a.key = key))), KEY).artifacts[0]!.key,
        key,
      );

    for (const size of [-1, 1.5, '10', null, Number.MAX_SAFE_INTEGER + 2])
      refused(
        editArtifact((a) => (a.size = size)),
        'integrity',
        `${name}: size must be a whole number`,
      );
    for (const sha256 of [
      'A'.repeat(64),
      'a'.repeat(63),
      'a'.repeat(65),
      `${'a'.repeat(63)}g`,
      64,
      ` ${'a'.repeat(64)}`,
      // Not a string, though it would print as 64 hex digits.
      ['a'.repeat(64)],
    ])
      refused(
        editArtifact((a) => (a.sha256 = sha256)),
        'integrity',
        `${name}: sha256 must be 64 hex digits`,
      );
  });

  test('startedAt must be a time; partial must be a boolean', () => {
    // 2026 and ['2026-11-22'] would parse as times once turned into strings: only strings are times.
    for (const startedAt of [undefined, 'yesterday', 1764000000, 2026, ['2026-11-22']])
      refused(
        edit((m) => (m.startedAt = startedAt)),
        'integrity',
        `startedAt ${JSON.stringify(startedAt)} is not a time`,
      );
    refused(
      edit((m) => (m.partial = 'yes')),
      'integrity',
      'partial must be true or false',
    );
  });

  test('referencedRoles: every role the dumps name, once each, sorted; malformed entries ignored', () => {
    const m = good();
    assert.deepEqual(referencedRoles(m), [], 'no artifact records roles (an older manifest)');
    m.artifacts[0]!.roles = ['writer', 'app_owner', '', 7 as unknown as string];
    m.artifacts[1]!.roles = 'reader' as unknown as string[];
    m.artifacts.push({ ...m.artifacts[0]!, key: 'app/x/other.sql.zst', roles: ['reader', 'writer'] });
    assert.deepEqual(referencedRoles(m), ['app_owner', 'reader', 'writer']);
  });

  test('isPartial: marked partial, or some database missing; absent fields mean complete', () => {
    assert.equal(isPartial({}), false);
    assert.equal(isPartial({ partial: false, missing: [] }), false);
    assert.equal(isPartial({ partial: true }), true);
    assert.equal(isPartial({ partial: true, missing: [] }), true);
    assert.equal(
      isPartial({ missing: [{ database: 'gone', error: 'database "gone" does not exist' }] }),
      true,
    );
    assert.equal(isPartial({ partial: false, missing: [{ database: 'gone', error: 'x' }] }), true);
    assert.equal(
      isPartial({ missing: 'gone' as unknown as [] }),
      false,
      'a malformed missing field is ignored',
    );
  });

  test('totalSize adds the stored sizes', () => {
    assert.equal(totalSize(good()), 10);
    assert.equal(
      totalSize(edit((m) => ((m.artifacts as Array<{ size: number }>)[1]!.size = 32)) as unknown as Manifest),
      42,
    );
  });
});

/** good() with a second source: an SQLite file named `notes`, holding one artifact. */
function twoSources(): Manifest {
  const m = good();
  m.sources.notes = { kind: 'sqlite', tool: { name: 'sqlite3', version: '3.45.1' }, path: '/srv/notes.db' };
  m.artifacts.push({
    key: 'app/2026/11/22/20261122T023000Z/notes.db.zst',
    source: 'notes',
    role: 'file',
    size: 7,
    sha256: SHA,
  });
  return m;
}

describe('one source of a backup', () => {
  test('sourceBackup: the backup fields a restore reads, the source record, only its artifacts', () => {
    const m = { ...twoSources(), encryption: { type: 'age' as const, recipients: ['age1x'] } };
    const notes = sourceBackup(m, 'notes');
    assert.deepEqual(notes, {
      id: '20261122T023000Z',
      job: 'app',
      compression: m.compression,
      encryption: { type: 'age', recipients: ['age1x'] },
      startedAt: '2026-11-22T02:30:00.000Z',
      finishedAt: '2026-11-22T02:30:05.000Z',
      name: 'notes',
      source: m.sources.notes,
      artifacts: [m.artifacts[2]],
    });
    assert.deepEqual(
      sourceBackup(m, 'main')?.artifacts.map((a) => a.key),
      m.artifacts.slice(0, 2).map((a) => a.key),
    );
  });

  test('sourceBackup: a name the backup does not hold, even an inherited property, is undefined', () => {
    for (const name of ['other', 'toString', '__proto__', 'constructor'])
      assert.equal(sourceBackup(twoSources(), name), undefined, name);
  });

  test('chooseSource: the only source without a name; a named one; otherwise a usage error', () => {
    assert.equal(chooseSource(good(), undefined).name, 'main');
    assert.equal(chooseSource(good(), 'main').name, 'main');
    assert.equal(chooseSource(twoSources(), 'notes').name, 'notes');
    assert.equal(chooseSource(twoSources(), 'main').artifacts.length, 2);
    const usage = (m: Manifest, name: string | undefined, message: string) =>
      assert.throws(
        () => chooseSource(m, name),
        (err: unknown) => {
          assert.ok(err instanceof LifeboatError, String(err));
          assert.equal(err.code, 'usage');
          assert.equal(err.message, message);
          return true;
        },
      );
    usage(
      twoSources(),
      undefined,
      'restore app 20261122T023000Z: the backup holds 2 sources (main, notes); name one with --source',
    );
    // Without a name a backup of two sources needs one, even when one is called "undefined".
    const named = twoSources();
    named.sources.undefined = named.sources.notes!;
    delete named.sources.notes;
    usage(
      named,
      undefined,
      'restore app 20261122T023000Z: the backup holds 2 sources (main, undefined); name one with --source',
    );
    usage(good(), 'nope', 'restore app 20261122T023000Z: no source named "nope" (the backup holds main)');
    usage(
      twoSources(),
      'toString',
      'restore app 20261122T023000Z: no source named "toString" (the backup holds main, notes)',
    );
  });

  test("backupDatabases: every source's databases in order; a source without a list adds none", () => {
    const m = twoSources();
    assert.deepEqual(backupDatabases(m), ['app']);
    m.sources.notes!.databases = ['notes'];
    m.sources.more = { kind: 'postgres', tool: { name: 'pg_dump', version: '17.2' }, databases: ['a', 'b'] };
    assert.deepEqual(backupDatabases(m), ['app', 'notes', 'a', 'b']);
    m.sources.main!.databases = 'app' as unknown as string[];
    assert.deepEqual(backupDatabases(m), ['notes', 'a', 'b'], 'a malformed list is ignored');
  });

  test('firstSourceField: a string field of the first source only', () => {
    const m = twoSources();
    assert.equal(firstSourceField(m, 'mode'), 'database');
    assert.equal(firstSourceField(m, 'port'), undefined, 'a number is not a string');
    assert.equal(firstSourceField(m, 'path'), undefined, 'the second source is not looked at');
    assert.equal(firstSourceField({ sources: {} }, 'mode'), undefined);
  });

  test('sourceSummaries: per source its kind, and its databases when it lists them', () => {
    const m = twoSources();
    assert.deepEqual(sourceSummaries(m), {
      main: { kind: 'postgres', databases: ['app'] },
      notes: { kind: 'sqlite' },
    });
    m.sources.notes!.databases = 'x' as unknown as string[];
    assert.deepEqual(sourceSummaries(m).notes, { kind: 'sqlite' }, 'a malformed list is left out');
  });
});
