/**
 * The run history of `lifeboat serve` in an embedded SQLite file (SPEC §4), so it survives
 * restarts. It only remembers runs; the backups themselves are always listed from storage, so
 * deleting this file loses nothing that restores.
 *
 * WAL mode lets the HTTP server read while a run writes; `schema_version` lets a later Lifeboat
 * migrate the file, and makes an older one refuse a file it does not understand.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { LifeboatError } from '../util/errors.js';
import type { RunFinish, RunHistory, RunKind, RunRecord, RunResult } from './types.js';
import { isoUtc, normalizeStart } from './record.js';

const SCHEMA_VERSION = 1;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job TEXT NOT NULL,
      kind TEXT NOT NULL,
      trigger TEXT NOT NULL,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      result TEXT NOT NULL,
      backup_id TEXT,
      bytes INTEGER,
      duration_ms INTEGER,
      error TEXT,
      details TEXT
    );
    CREATE INDEX runs_job_kind_started ON runs (job, kind, started_at);
    CREATE INDEX runs_started ON runs (started_at);
  `,
};

interface Row {
  id: number;
  job: string;
  kind: RunKind;
  trigger: RunRecord['trigger'];
  started_at: string;
  finished_at: string | null;
  result: RunResult;
  backup_id: string | null;
  bytes: number | null;
  duration_ms: number | null;
  error: string | null;
  details: string | null;
}

export interface SqliteHistoryOptions {
  /** When the file is opened; runs left "running" by a previous process are closed at this time. */
  now?: () => Date;
}

/**
 * Opens (creating if needed) the history file. Runs still marked "running" belong to a process that
 * died or was killed mid-run: they are marked aborted, so no run looks forever in progress.
 * Throws a one-line LifeboatError when the file is not a usable history.
 */
export function openSqliteHistory(file: string, opts: SqliteHistoryOptions = {}): RunHistory {
  let db: DatabaseSync;
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new DatabaseSync(file, { timeout: 5000 });
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL'); // WAL + NORMAL: a power cut may lose the last run, never corrupt
    migrate(db, file);
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw new LifeboatError('failed', `open run history ${file}: ${(err as Error).message}`, {
      cause: err,
      hint: 'move the file away (the backups are not in it) or set server.historyFile',
    });
  }
  const now = opts.now ?? (() => new Date());
  db.prepare(
    `UPDATE runs SET result = 'aborted', finished_at = ?, error = 'interrupted: lifeboat stopped during the run'
     WHERE result = 'running'`,
  ).run(now().toISOString());

  const insert = db.prepare(
    `INSERT INTO runs (job, kind, trigger, started_at, result, backup_id, bytes, duration_ms, error, details)
     VALUES (@job, @kind, @trigger, @startedAt, 'running', @backupId, @bytes, @durationMs, @error, @details)`,
  );
  const update = db.prepare(
    // Fields the outcome leaves out keep what start() recorded.
    `UPDATE runs SET result = @result, finished_at = @finishedAt, backup_id = coalesce(@backupId, backup_id),
       bytes = coalesce(@bytes, bytes), duration_ms = coalesce(@durationMs, duration_ms),
       error = coalesce(@error, error), details = coalesce(@details, details)
     WHERE id = @id`,
  );
  const lastStmt = db.prepare(
    `SELECT * FROM runs WHERE job = ? AND kind = ? AND result != 'running' AND (? IS NULL OR result = ?)
     ORDER BY started_at DESC, id DESC LIMIT 1`,
  );
  const pruneStmt = db.prepare(`DELETE FROM runs WHERE started_at < ? AND result != 'running'`);

  return {
    start(run) {
      const r = normalizeStart(run);
      const info = insert.run({
        job: r.job,
        kind: r.kind,
        trigger: r.trigger,
        startedAt: r.startedAt,
        backupId: r.backupId ?? null,
        bytes: r.bytes ?? null,
        durationMs: r.durationMs ?? null,
        error: r.error ?? null,
        details: r.details === undefined ? null : JSON.stringify(r.details),
      });
      return Number(info.lastInsertRowid);
    },

    finish(id, outcome: RunFinish) {
      update.run({
        id,
        result: outcome.result,
        finishedAt: isoUtc(outcome.finishedAt),
        backupId: outcome.backupId ?? null,
        bytes: outcome.bytes ?? null,
        durationMs: outcome.durationMs ?? null,
        error: outcome.error ?? null,
        details: outcome.details === undefined ? null : JSON.stringify(outcome.details),
      });
    },

    list(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.job !== undefined) {
        where.push('job = ?');
        params.push(filter.job);
      }
      if (filter.kind !== undefined) {
        where.push('kind = ?');
        params.push(filter.kind);
      }
      let sql = `SELECT * FROM runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC`;
      if (filter.limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
      return (db.prepare(sql).all(...(params as string[])) as unknown as Row[]).map(toRecord);
    },

    last(job, kind, result) {
      const row = lastStmt.get(job, kind, result ?? null, result ?? null) as unknown as Row | undefined;
      return row && toRecord(row);
    },

    prune(before) {
      return Number(pruneStmt.run(before.toISOString()).changes);
    },

    close() {
      if (db.isOpen) db.close();
    },
  };
}

function migrate(db: DatabaseSync, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as unknown as {
    version: number | null;
  };
  const current = row.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new LifeboatError(
      'failed',
      `open run history ${file}: written by a newer Lifeboat (schema ${current}, this one knows ${SCHEMA_VERSION})`,
      { hint: 'upgrade Lifeboat, or set server.historyFile to another file' },
    );
  }
  for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
    // One transaction per step: a migration that fails half-way leaves the file as it was.
    db.exec('BEGIN');
    try {
      db.exec(MIGRATIONS[v]!);
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}

function toRecord(row: Row): RunRecord {
  const record: RunRecord = {
    id: row.id,
    job: row.job,
    kind: row.kind,
    trigger: row.trigger,
    startedAt: row.started_at,
    result: row.result,
  };
  if (row.finished_at !== null) record.finishedAt = row.finished_at;
  if (row.backup_id !== null) record.backupId = row.backup_id;
  if (row.bytes !== null) record.bytes = row.bytes;
  if (row.duration_ms !== null) record.durationMs = row.duration_ms;
  if (row.error !== null) record.error = row.error;
  if (row.details !== null) record.details = JSON.parse(row.details) as Record<string, unknown>;
  return record;
}
