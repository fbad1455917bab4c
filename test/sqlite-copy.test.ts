/**
 * The SQLite online copy (src/sources/sqlite/online-copy.ts) against real databases and a real
 * writer process: the copy is one committed state (no torn transaction, nothing committed before
 * the copy started is missing), passes integrity_check and carries exact row counts; a database
 * held locked is waited for within the bound, then refused with one line; a missing file, a
 * directory and a non-database file are named before any copy starts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { onlineCopy } from '../src/sources/sqlite/online-copy.js';
import { LifeboatError } from '../src/util/errors.js';
import { tempDir } from './helpers/roundtrip.js';
import { startSqliteWriter, type SqliteWriter } from './helpers/sqlite-writer.js';

const signal = new AbortController().signal;
const opts = (what = 'read sqlite database') => ({ busyWaitMs: 2000, signal, what });

async function oneLineError(p: Promise<unknown>): Promise<LifeboatError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), err.message);
    return err;
  }
  assert.fail('expected a failure');
}

describe('sqlite online copy', async () => {
  const dir = await tempDir({ after }, 'lifeboat-sqlite-copy-');

  test('a copy taken while a writer commits is one committed state, integrity-checked, with row counts', async (t) => {
    const db = path.join(dir, 'live.db');
    const writer: SqliteWriter = await startSqliteWriter(db, { fillMb: 8 });
    t.after(() => writer.stop());
    await writer.waitForRows(20);
    const before = writer.committed();
    const dest = path.join(dir, 'live-copy.db');
    const result = await onlineCopy(db, dest, opts());
    const after = writer.committed();
    await writer.stop();

    const copy = new DatabaseSync(dest, { readOnly: true });
    const check = copy.prepare('PRAGMA integrity_check').get() as Record<string, string>;
    assert.equal(Object.values(check)[0], 'ok');
    const seqs = copy
      .prepare('select seq from events order by seq')
      .all()
      .map((r) => Number(r.seq));
    const audit = Number((copy.prepare('select count(*) as n from audit').get() as { n: number }).n);
    copy.close();
    // A prefix of the writer's rows: 1..n without a gap, and each transaction's two rows together.
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
    );
    assert.equal(audit, seqs.length, 'events and audit rows are written in one transaction');
    assert.ok(
      seqs.length >= before,
      `copy holds ${seqs.length} rows; ${before} were committed before it began`,
    );
    assert.ok(seqs.length <= after);
    const counts = Object.fromEntries(result.tables.map((c) => [c.table, c.rows]));
    assert.equal(counts.events, seqs.length);
    assert.equal(counts.audit, seqs.length);
    assert.ok((counts.filler ?? 0) > 0);
    assert.ok(result.tables.every((c) => c.exact && c.schema === 'main'));
    assert.match(result.sqliteVersion, /^3\.\d+/);
  });

  test('a database locked by another connection is waited for, then copied', async () => {
    const db = path.join(dir, 'locked-briefly.db');
    prepareRollbackDb(db);
    const holder = await startHolder(db, 600);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    const result = await onlineCopy(db, path.join(dir, 'locked-briefly-copy.db'), {
      ...opts(),
      busyWaitMs: 10_000,
    });
    await exited;
    assert.deepEqual(
      result.tables.map((c) => [c.table, c.rows]),
      [['t', 1]],
    );
  });

  test('a database locked for longer than the bound fails with one line, and leaves no copy', async () => {
    const db = path.join(dir, 'locked.db');
    prepareRollbackDb(db);
    const holder = await startHolder(db, 5000);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    const dest = path.join(dir, 'locked-copy.db');
    const err = await oneLineError(onlineCopy(db, dest, { ...opts(), busyWaitMs: 700 }));
    holder.kill();
    await exited;
    assert.equal(err.code, 'unreachable');
    assert.match(
      err.message,
      /^read sqlite database .*locked\.db: stayed locked for 1 s: database is locked/,
    );
    assert.equal(existsSync(dest), false);
  });

  test('a missing file, a directory and a file that is not a database: one line each', async () => {
    const missing = await oneLineError(onlineCopy(path.join(dir, 'nope.db'), path.join(dir, 'x1'), opts()));
    assert.equal(missing.message, `read sqlite database ${path.join(dir, 'nope.db')}: does not exist`);
    await mkdir(path.join(dir, 'a-dir'));
    const isDir = await oneLineError(onlineCopy(path.join(dir, 'a-dir'), path.join(dir, 'x2'), opts()));
    assert.equal(
      isDir.message,
      `read sqlite database ${path.join(dir, 'a-dir')}: a directory, not an SQLite database file`,
    );
    await writeFile(path.join(dir, 'token'), 'K10abc::server:secret\n');
    const notDb = await oneLineError(onlineCopy(path.join(dir, 'token'), path.join(dir, 'x3'), opts()));
    assert.equal(notDb.message, `read sqlite database ${path.join(dir, 'token')}: not an SQLite database`);
  });
});

/** A rollback-journal database (readers are blocked by an exclusive lock) with one row. */
function prepareRollbackDb(db: string): void {
  const setup = new DatabaseSync(db);
  setup.exec(`PRAGMA journal_mode = DELETE; CREATE TABLE t (x); INSERT INTO t VALUES (1);`);
  setup.close();
}

/** Starts a process that takes an exclusive lock on `db` and holds it `ms`; resolves once it holds it. */
async function startHolder(db: string, ms: number) {
  const child = spawn(
    process.execPath,
    [
      '--no-warnings',
      '-e',
      `const { DatabaseSync } = require('node:sqlite');
       const d = new DatabaseSync(process.argv[1]);
       d.exec('BEGIN EXCLUSIVE'); console.log('locked');
       setTimeout(() => { d.exec('COMMIT'); d.close(); }, Number(process.argv[2]));`,
      db,
      String(ms),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return child;
}
