/**
 * `lifeboat verify --deep` (issue 13): beyond the checksums, the content is read back. A files
 * source's archive is compared member by member with its index; an SQLite source's database passes
 * integrity_check and holds the recorded row counts. Each tampering below keeps the manifest and
 * sidecar consistent with the new bytes, so a plain verify passes and only --deep finds it. A
 * restore of the corrupt database (--force) fails on its temp copy and leaves the target as it was.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { replaceArtifact } from './helpers/tamper.js';

describe('verify --deep reads the content back', async () => {
  const dir = await tempDir({ after }, 'lifeboat-deep-');
  const data = path.join(dir, 'data');
  await mkdir(path.join(data, 'repos'), { recursive: true });
  await writeFile(path.join(data, 'repos/HEAD'), 'ref: refs/heads/main\n');
  await writeFile(path.join(data, 'app.ini'), '[server]\n');
  const db = path.join(dir, 'state.db');
  const sql = new DatabaseSync(db);
  sql.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT); CREATE INDEX kv_v ON kv (v);');
  for (let i = 0; i < 2000; i++)
    sql.prepare('INSERT INTO kv VALUES (?, ?)').run(`k${i}`, 'v'.repeat(100) + i);
  sql.close();
  const backups = path.join(dir, 'backups');
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
      `jobs:\n  site:\n    sources:\n` +
      `      files: { type: files, paths: [${JSON.stringify(data)}] }\n` +
      `      state: { type: sqlite, path: ${JSON.stringify(db)} }\n` +
      `    storages: [disk]\n`,
  );

  async function backup(): Promise<string> {
    const r = await lifeboat(['--config', config, 'backup', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as Array<{ id: string }>)[0]!.id;
  }

  /** A plain verify passes; --deep exits 4 naming `key` with `detail`. */
  async function onlyDeepFinds(id: string, key: string, detail: RegExp): Promise<void> {
    const plain = await lifeboat(['--config', config, 'verify', id]);
    assert.equal(plain.code, 0, plain.stderr);
    const deep = await lifeboat(['--config', config, 'verify', id, '--deep']);
    assert.equal(deep.code, 4, deep.stderr);
    const lines = errorLines(deep.stderr);
    assert.equal(lines.length, 2, deep.stderr);
    assert.ok(lines[0]!.startsWith(`error: verify site ${id}: content FAILED: ${key} (`), lines[0]);
    assert.match(lines[0]!, detail);
    assert.equal(
      lines[1],
      `error: verify: 1 backup(s) failed: ${key} (content FAILED) (hint: do not restore from these; run a new backup and check the storage)`,
    );
  }

  test('an intact backup: every member matches the index, the database checks out', async () => {
    const id = await backup();
    const r = await lifeboat(['--config', config, 'verify', id, '--deep']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /sha256 OK \(3 artifact\(s\)\); files files: 4 members match the index; sqlite state: integrity_check ok, row counts match \(1 database\(s\)\)/,
    );
  });

  test('an archive whose content differs from its index', async () => {
    const id = await backup();
    // The same tree with one file changed, archived by GNU tar as the source would.
    await writeFile(path.join(data, 'app.ini'), '[server]\nEVIL = 1\n');
    const tar = execFileSync('tar', ['-cf', '-', '--format=pax', '-C', '/', data.slice(1)]);
    await writeFile(path.join(data, 'app.ini'), '[server]\n');
    const key = await replaceArtifact(
      backups,
      'site',
      id,
      (a) => a.role === 'file',
      execFileSync('zstd', ['-q', '-c'], { input: tar }),
    );
    await onlyDeepFinds(
      id,
      key,
      new RegExp(`member\\(s\\) differ from the index: .*app\\.ini: (size|sha256) `),
    );
  });

  test('a database with fewer rows than the manifest records', async () => {
    const id = await backup();
    const other = path.join(dir, 'fewer.db');
    const s = new DatabaseSync(other);
    s.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT); INSERT INTO kv VALUES (1, 2);');
    s.close();
    const stored = execFileSync('zstd', ['-q', '-c', other]);
    const key = await replaceArtifact(backups, 'site', id, (a) => a.database === 'state.db', stored);
    await onlyDeepFinds(id, key, /table kv: 1 rows, manifest says 2000/);
  });

  test('a corrupt database', async () => {
    const id = await backup();
    const bytes = await readFile(db);
    // Page 3 onwards (the table's and the index's b-trees) overwritten: integrity_check fails.
    bytes.fill(0x5a, 4096 * 2, 4096 * 4);
    const key = await replaceArtifact(
      backups,
      'site',
      id,
      (a) => a.database === 'state.db',
      execFileSync('zstd', ['-q', '-c'], { input: bytes }),
    );
    await onlyDeepFinds(id, key, /integrity_check|malformed/);

    // Restored over an existing file with --force: checked in the temp file beside it, which is
    // removed; the target, never renamed away, stays as it was.
    const into = path.join(dir, 'restore-into');
    await mkdir(into);
    const target = path.join(into, 'state.db');
    await writeFile(target, 'the database in place\n');
    const r = await lifeboat([
      '--config',
      config,
      'restore',
      id,
      '--source',
      'state',
      '--to',
      target,
      '--force',
    ]);
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /integrity_check|malformed/);
    assert.equal(await readFile(target, 'utf8'), 'the database in place\n');
    assert.deepEqual(await readdir(into), ['state.db']);
  });
});
