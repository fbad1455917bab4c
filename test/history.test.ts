/**
 * The run history: one suite that the SQLite file (src/history/sqlite-history.ts) and the in-memory
 * history (src/history/memory-history.ts) both pass, then what only the file does: survive
 * reopening, close runs a killed process left "running", refuse files it cannot use.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';

import { LifeboatError } from '../src/util/errors.js';
import { createMemoryHistory } from '../src/history/memory-history.js';
import { openSqliteHistory } from '../src/history/sqlite-history.js';
import type { RunHistory } from '../src/history/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-history-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => path.join(dir, `h${++files}`, 'history.sqlite');

function historySuite(name: string, open: () => RunHistory) {
  describe(`RunHistory: ${name}`, () => {
    test('start records a running run; finish completes it; fields round-trip', () => {
      const h = open();
      const id = h.start({
        job: 'app',
        kind: 'backup',
        trigger: 'schedule',
        startedAt: '2026-05-01T02:30:00Z',
      });
      assert.deepEqual(h.list(), [
        {
          id,
          job: 'app',
          kind: 'backup',
          trigger: 'schedule',
          startedAt: '2026-05-01T02:30:00.000Z',
          result: 'running',
        },
      ]);
      h.finish(id, {
        result: 'success',
        finishedAt: '2026-05-01T02:31:00.000Z',
        backupId: '20260501T023000Z',
        bytes: 123_456_789_012,
        durationMs: 60_000,
        details: { databases: ['app', 'crm'], rto: { ms: 1.5 } },
      });
      assert.deepEqual(h.list(), [
        {
          id,
          job: 'app',
          kind: 'backup',
          trigger: 'schedule',
          startedAt: '2026-05-01T02:30:00.000Z',
          finishedAt: '2026-05-01T02:31:00.000Z',
          result: 'success',
          backupId: '20260501T023000Z',
          bytes: 123_456_789_012,
          durationMs: 60_000,
          details: { databases: ['app', 'crm'], rto: { ms: 1.5 } },
        },
      ]);
      h.close();
    });

    test('finish keeps what start recorded unless the outcome replaces it', () => {
      const h = open();
      const id = h.start({
        job: 'app',
        kind: 'drill',
        trigger: 'api',
        startedAt: '2026-05-01T03:00:00Z',
        backupId: 'b1',
      });
      h.finish(id, {
        result: 'failure',
        finishedAt: '2026-05-01T03:05:00Z',
        error: 'drill app: smoke FAILED',
      });
      const [run] = h.list();
      assert.equal(run?.backupId, 'b1');
      assert.equal(run?.error, 'drill app: smoke FAILED');
      assert.equal(run?.finishedAt, '2026-05-01T03:05:00.000Z');
      h.finish(9999, { result: 'success', finishedAt: '2026-05-01T03:05:00Z' }); // unknown id: nothing
      assert.equal(h.list().length, 1);
      h.close();
    });

    test('list is newest first and filters by job, kind and limit', () => {
      const h = open();
      const ids = [
        h.start({ job: 'app', kind: 'backup', trigger: 'schedule', startedAt: '2026-05-01T01:00:00Z' }),
        h.start({ job: 'crm', kind: 'backup', trigger: 'schedule', startedAt: '2026-05-01T03:00:00Z' }),
        h.start({ job: 'app', kind: 'drill', trigger: 'schedule', startedAt: '2026-05-01T02:00:00Z' }),
        // same millisecond as the first: the later id is newer
        h.start({ job: 'app', kind: 'backup', trigger: 'retry', startedAt: '2026-05-01T01:00:00.000Z' }),
        // a non-UTC offset is stored as UTC, so it sorts by time, not by text
        h.start({ job: 'app', kind: 'backup', trigger: 'api', startedAt: '2026-05-01T00:30:00-03:00' }),
      ];
      assert.deepEqual(
        h.list().map((r) => r.id),
        [ids[4], ids[1], ids[2], ids[3], ids[0]],
      );
      assert.deepEqual(
        h.list({ job: 'app', kind: 'backup' }).map((r) => r.id),
        [ids[4], ids[3], ids[0]],
      );
      assert.deepEqual(
        h.list({ job: 'app', limit: 2 }).map((r) => r.id),
        [ids[4], ids[2]],
      );
      assert.deepEqual(h.list({ kind: 'verify' }), []);
      assert.deepEqual(h.list({ limit: 0 }), []);
      h.close();
    });

    test('last finds the newest finished run, optionally with a result', () => {
      const h = open();
      const run = (startedAt: string, result: 'success' | 'failure' | undefined) => {
        const id = h.start({ job: 'app', kind: 'backup', trigger: 'schedule', startedAt });
        if (result) h.finish(id, { result, finishedAt: startedAt });
        return id;
      };
      assert.equal(h.last('app', 'backup'), undefined);
      const ok1 = run('2026-05-01T01:00:00Z', 'success');
      const bad = run('2026-05-02T01:00:00Z', 'failure');
      run('2026-05-03T01:00:00Z', undefined); // still running: never "last"
      assert.equal(h.last('app', 'backup')?.id, bad);
      assert.equal(h.last('app', 'backup', 'success')?.id, ok1);
      assert.equal(h.last('app', 'backup', 'aborted'), undefined);
      assert.equal(h.last('app', 'drill'), undefined);
      assert.equal(h.last('other', 'backup'), undefined);
      h.close();
    });

    test('prune removes finished runs that started before the cutoff, never running ones', () => {
      const h = open();
      const mk = (startedAt: string, finish: boolean) => {
        const id = h.start({ job: 'app', kind: 'prune', trigger: 'schedule', startedAt });
        if (finish) h.finish(id, { result: 'success', finishedAt: startedAt });
        return id;
      };
      mk('2026-01-01T00:00:00Z', true);
      mk('2026-02-01T00:00:00Z', true);
      const running = mk('2026-02-15T00:00:00Z', false);
      const kept = mk('2026-03-01T00:00:00Z', true);
      assert.equal(h.prune(new Date('2026-03-01T00:00:00Z')), 2);
      assert.deepEqual(
        h.list().map((r) => r.id),
        [kept, running],
      );
      assert.equal(h.prune(new Date('2026-03-01T00:00:00Z')), 0);
      h.close();
    });

    test('returned records are copies', () => {
      const h = open();
      const id = h.start({
        job: 'app',
        kind: 'backup',
        trigger: 'schedule',
        startedAt: '2026-05-01T01:00:00Z',
      });
      h.finish(id, { result: 'success', finishedAt: '2026-05-01T01:00:00Z', details: { a: 1 } });
      const [r] = h.list();
      r!.job = 'changed';
      (r!.details as { a: number }).a = 2;
      assert.equal(h.list()[0]?.job, 'app');
      assert.deepEqual(h.last('app', 'backup')?.details, { a: 1 });
      h.close();
    });
  });
}

historySuite('memory', createMemoryHistory);
historySuite('sqlite', () => openSqliteHistory(newFile()));

describe('RunHistory: the SQLite file', () => {
  test('survives closing and reopening; ids keep growing', () => {
    const file = newFile();
    const h1 = openSqliteHistory(file);
    const id = h1.start({
      job: 'app',
      kind: 'backup',
      trigger: 'schedule',
      startedAt: '2026-05-01T02:30:00Z',
    });
    h1.finish(id, { result: 'success', finishedAt: '2026-05-01T02:31:00Z', bytes: 42, details: { x: [1] } });
    h1.close();
    h1.close(); // twice is fine

    const h2 = openSqliteHistory(file);
    assert.equal(h2.last('app', 'backup', 'success')?.bytes, 42);
    assert.deepEqual(h2.list()[0]?.details, { x: [1] });
    const id2 = h2.start({ job: 'app', kind: 'drill', trigger: 'api', startedAt: '2026-05-01T03:00:00Z' });
    assert.ok(id2 > id);
    h2.close();
  });

  test('runs a killed process left running are closed as aborted on open', () => {
    const file = newFile();
    const h1 = openSqliteHistory(file);
    h1.start({ job: 'app', kind: 'backup', trigger: 'schedule', startedAt: '2026-05-01T02:30:00Z' });
    h1.close(); // as if the process died mid-run

    const h2 = openSqliteHistory(file, { now: () => new Date('2026-05-01T09:00:00Z') });
    const [run] = h2.list();
    assert.equal(run?.result, 'aborted');
    assert.equal(run?.finishedAt, '2026-05-01T09:00:00.000Z');
    assert.match(run?.error ?? '', /interrupted/);
    h2.close();
  });

  test('uses WAL, records its schema version and indexes runs by job, kind and start', () => {
    const file = newFile();
    openSqliteHistory(file).close();
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
      assert.deepEqual(
        db
          .prepare('SELECT version FROM schema_version')
          .all()
          .map((r) => ({ ...r })),
        [{ version: 1 }],
      );
      const plan = db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT * FROM runs WHERE job = 'a' AND kind = 'backup' ORDER BY started_at DESC`,
        )
        .all() as Array<{ detail: string }>;
      assert.match(plan.map((p) => p.detail).join('; '), /USING INDEX runs_job_kind_started/);
    } finally {
      db.close();
    }
  });

  test('refuses a file from a newer Lifeboat, and a file that is not a database, in one line', () => {
    const newer = newFile();
    openSqliteHistory(newer).close();
    const db = new DatabaseSync(newer);
    db.prepare('INSERT INTO schema_version (version) VALUES (99)').run();
    db.close();
    assert.throws(
      () => openSqliteHistory(newer),
      (err: unknown) => err instanceof LifeboatError && /newer Lifeboat \(schema 99/.test(err.message),
    );

    const junk = path.join(dir, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database, just text that is long enough to have a header'.repeat(20));
    assert.throws(
      () => openSqliteHistory(junk),
      (err: unknown) =>
        err instanceof LifeboatError &&
        err.message.startsWith(`open run history ${junk}: `) &&
        !err.message.includes('\n'),
    );
  });
});
