/**
 * SQLite and files sources through the real CLI on local disk (SPEC §5, issue 13): the k3s-shaped
 * job backs up while a writer commits, drills and restores both sources; an sqlite source's
 * `paths` glob backs up each database it matches, drilled and restored into a directory; a files
 * restore refuses a non-empty directory unless --force and takes a --path subset; a
 * permission-denied path, a missing path and a directory where a database file was expected each
 * fail with one line and commit nothing; so does an unreadable file in a files tree, which
 * `onUnreadable: warn` skips and names instead.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { listBackups } from '../src/catalog/catalog.js';
import type { FilesSourceRecord } from '../src/sources/files/record.js';
import { createLocalStorage } from '../src/storages/local.js';
import { k3sFlow } from './helpers/k3s-flow.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { storageContents, writeConfig } from './helpers/scenarios.js';

describe('sqlite and files sources on local disk', async () => {
  test('a k3s-shaped job: backup under a writer, drill, restore both', async (t) => {
    const dir = await tempDir(t, 'lifeboat-k3s-');
    const backups = path.join(dir, 'backups');
    await k3sFlow({
      dir,
      storagesYaml: `  disk: { type: local, path: ${JSON.stringify(backups)} }\n`,
      storage: 'disk',
      byHand: backups,
    });
  });

  test('sqlite paths with a glob: one artifact per database with its row counts, drilled, restored into a directory; a glob matching nothing is one line', async (t) => {
    const dir = await tempDir(t, 'lifeboat-sqlite-glob-');
    const data = path.join(dir, 'data');
    await mkdir(data);
    for (const [name, rows] of [
      ['a.db', 3],
      ['b.db', 5],
    ] as const) {
      const db = new DatabaseSync(path.join(data, name));
      db.exec('CREATE TABLE t (x INTEGER)');
      for (let i = 0; i < rows; i++) db.exec(`INSERT INTO t VALUES (${i})`);
      db.close();
    }
    await writeFile(path.join(data, 'notes.txt'), 'not a database\n');
    const backups = path.join(dir, 'backups');
    const yaml = (pattern: string) =>
      `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
      `jobs:\n  dbs:\n    source: { type: sqlite, paths: [${JSON.stringify(pattern)}] }\n    storages: [disk]\n`;
    const config = await writeConfig(dir, yaml(`${data}/*.db`));
    const backup = await lifeboat(['--config', config, 'backup']);
    assert.equal(backup.code, 0, backup.stderr);
    const [m] = (await listBackups(createLocalStorage({ name: 'disk', path: backups }), 'dbs')).manifests;
    assert.deepEqual(
      m!.artifacts.map((a) => [path.posix.basename(a.key), a.tables?.map((c) => `${c.table}:${c.rows}`)]),
      [
        ['a.db.zst', ['t:3']],
        ['b.db.zst', ['t:5']],
      ],
    );
    const drill = await lifeboat(['--config', config, 'drill', 'dbs']);
    assert.equal(drill.code, 0, drill.stderr);
    const into = path.join(dir, 'restored');
    const restore = await lifeboat(['--config', config, 'restore', 'latest', '--to', into]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual((await readdir(into)).sort(), ['a.db', 'b.db']);
    const b = new DatabaseSync(path.join(into, 'b.db'), { readOnly: true });
    try {
      assert.equal((b.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 5);
    } finally {
      b.close();
    }

    await mkdir(path.join(dir, 'none'));
    const none = await writeConfig(path.join(dir, 'none'), yaml(`${data}/*.sqlite`));
    const r = await lifeboat(['--config', none, 'backup']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [
      `error: backup dbs failed: read sqlite database ${data}/*.sqlite: matches nothing`,
    ]);
    assert.equal(
      (await listBackups(createLocalStorage({ name: 'disk', path: backups }), 'dbs')).manifests.length,
      1,
    );
  });

  test('files restore: refuses a non-empty directory, extracts into it with --force, restores a --path subset', async (t) => {
    const dir = await tempDir(t, 'lifeboat-files-restore-');
    const data = path.join(dir, 'data');
    await mkdir(path.join(data, 'repos/a'), { recursive: true });
    await writeFile(path.join(data, 'repos/a/HEAD'), 'ref\n');
    await writeFile(path.join(data, 'app.ini'), '[server]\n');
    const backups = path.join(dir, 'backups');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
        `jobs:\n  gitea:\n    source: { type: files, paths: [${JSON.stringify(data)}] }\n    storages: [disk]\n`,
    );
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    const into = path.join(dir, 'into');
    await mkdir(into);
    await writeFile(path.join(into, 'keep'), 'x');
    const refused = await lifeboat(['--config', config, 'restore', 'latest', '--to', into]);
    assert.equal(refused.code, 1);
    assert.deepEqual(errorLines(refused.stderr), [
      `error: restore gitea ${/restore gitea (\S+)/.exec(refused.stderr)![1]} source main: ${into} is not empty (hint: --force extracts over what is there)`,
    ]);
    assert.deepEqual(await readdir(into), ['keep']);
    const forced = await lifeboat(['--config', config, 'restore', 'latest', '--to', into, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await readFile(path.join(into, data.slice(1), 'app.ini'), 'utf8'), '[server]\n');
    assert.equal(await readFile(path.join(into, 'keep'), 'utf8'), 'x', 'what was there stays');
    const subset = path.join(dir, 'subset');
    const r = await lifeboat([
      '--config',
      config,
      'restore',
      'latest',
      '--to',
      subset,
      '--path',
      `${data}/repos/*`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(path.join(subset, data.slice(1))), ['repos']);
  });

  describe('a source that cannot be read: one line, nothing committed', async () => {
    const dir = await tempDir({ after }, 'lifeboat-k3s-fail-');
    await chmod(dir, 0o755);
    const server = path.join(dir, 'server');
    await mkdir(path.join(server, 'db'), { recursive: true });
    await chmod(server, 0o755);

    async function run(sources: string, uid?: number) {
      const backups = path.join(dir, `backups-${Math.random().toString(36).slice(2)}`);
      await mkdir(backups, { mode: 0o777 });
      await chmod(backups, 0o777);
      const cfgDir = await tempDir({ after }, 'lifeboat-k3s-cfg-');
      await chmod(cfgDir, 0o755);
      const config = await writeConfig(
        cfgDir,
        `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
          `jobs:\n  k3s:\n    sources:\n${sources}    storages: [disk]\n`,
      );
      await chmod(config, 0o644);
      const tmp = path.join(cfgDir, 'tmp');
      await mkdir(tmp, { mode: 0o777 });
      await chmod(tmp, 0o777);
      const r = await lifeboat(['--config', config, 'backup'], {
        ...(uid === undefined ? {} : { uid, gid: uid }),
        env: { TMPDIR: tmp },
      });
      return { r, files: (await storageContents(backups)).files, backups };
    }

    test('permission denied on the database file', async () => {
      const db = path.join(server, 'db/state.db');
      await writeFile(db, 'SQLite format 3\0');
      await chmod(db, 0o600);
      const { r, files } = await run(`      state: { type: sqlite, path: ${JSON.stringify(db)} }\n`, 65534);
      assert.equal(r.code, 3, r.stderr);
      assert.deepEqual(errorLines(r.stderr), [
        `error: backup k3s failed: read sqlite database ${db}: permission denied (hint: run Lifeboat as a user that can read the database and its directory)`,
      ]);
      assert.deepEqual(files, []);
    });

    test('a missing token file', async () => {
      const token = path.join(server, 'token');
      const { r, files } = await run(`      token: { type: files, paths: [${JSON.stringify(token)}] }\n`);
      assert.equal(r.code, 3, r.stderr);
      assert.deepEqual(errorLines(r.stderr), [
        `error: backup k3s failed: read files path ${token}: does not exist`,
      ]);
      assert.deepEqual(files, []);
    });

    test('an unreadable file in a files tree fails the run; onUnreadable: warn skips it and names it in the warnings and the manifest', async () => {
      const tree = path.join(dir, 'repos');
      await mkdir(path.join(tree, 'a'), { recursive: true });
      await chmod(tree, 0o755);
      await chmod(path.join(tree, 'a'), 0o755);
      await writeFile(path.join(tree, 'a/HEAD'), 'ref\n');
      await chmod(path.join(tree, 'a/HEAD'), 0o644);
      const locked = path.join(tree, 'a/private');
      await writeFile(locked, 'secret\n');
      await chmod(locked, 0o600);

      const failed = await run(`      repos: { type: files, paths: [${JSON.stringify(tree)}] }\n`, 65534);
      assert.equal(failed.r.code, 3, failed.r.stderr);
      assert.deepEqual(errorLines(failed.r.stderr), [
        `error: backup k3s failed: read files path ${locked}: permission denied (hint: run Lifeboat as a user that can read every path, or set onUnreadable: warn to skip such files)`,
      ]);
      assert.deepEqual(failed.files, []);

      const warned = await run(
        `      repos: { type: files, paths: [${JSON.stringify(tree)}], onUnreadable: warn }\n`,
        65534,
      );
      assert.equal(warned.r.code, 0, warned.r.stderr);
      assert.match(warned.r.stderr, new RegExp(`^warn: .*unreadable, skipped: ${locked}$`, 'm'));
      const storage = createLocalStorage({ name: 'disk', path: warned.backups });
      const [manifest] = (await listBackups(storage, 'k3s')).manifests;
      const record = manifest!.sources.repos as FilesSourceRecord;
      assert.deepEqual(record.warnings, [`unreadable, skipped: ${locked}`]);
      assert.equal(record.entries, 3, 'the tree, a/ and a/HEAD');
    });

    test('a directory where the database file was expected', async () => {
      const db = path.join(server, 'db');
      const { r, files } = await run(`      state: { type: sqlite, path: ${JSON.stringify(db)} }\n`);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(errorLines(r.stderr), [
        `error: backup k3s failed: read sqlite database ${db}: a directory, not an SQLite database file (hint: point path at the database file itself (a glob such as dir/*.db selects several))`,
      ]);
      assert.deepEqual(files, []);
    });
  });
});
