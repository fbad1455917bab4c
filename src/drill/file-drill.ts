/**
 * The drill of an SQLite or files source: restore it into a scratch directory (removed afterwards,
 * also on failure), then check it. SQLite: integrity_check, every recorded table's exact row
 * count, and the job's SQL checks against the restored file. Files: every entry of the stored
 * index is found in the extracted tree with its type, size, mode, link target and SHA-256.
 * Never throws for a failed drill: the result says where it stopped and why.
 */
import type { CodecKeys } from '../codecs/chain.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CheckResult } from '../catalog/drill-report.js';
import type { SourceBackup } from '../catalog/manifest.js';
import type { DrillConfig } from '../config/schema.js';
import { describeExpectation, parseExpectation } from '../config/expectation.js';
import { decodeArtifact } from '../catalog/artifact-stream.js';
import { codecChain } from '../codecs/chain.js';
import { restoreFiles } from '../sources/files/restore.js';
import { restoreSqlite } from '../sources/sqlite/restore.js';
import type { FilesBackup } from '../sources/files/record.js';
import type { IndexEntry } from '../sources/files/tar-index.js';
import { queryFirstValue } from '../sources/sqlite/online-copy.js';
import { judgeQueryCheck } from './checks.js';
import type { SqliteBackup } from '../sources/sqlite/record.js';
import type { Storage } from '../storages/storage.js';
import { oneLine } from '../util/errors.js';
import type { SourceDrillResult } from '../sources/kind.js';

export interface FileDrillOptions {
  storage: Storage;
  part: SourceBackup;
  drill?: DrillConfig;
  /** What decrypting an encrypted backup needs (the age identity file). */
  keys?: CodecKeys;
  signal: AbortSignal;
  log: (line: string) => void;
  warn: (line: string) => void;
}

export const FILE_DRILL_KINDS = new Set(['sqlite', 'files']);

export async function drillFileSource(opts: FileDrillOptions): Promise<SourceDrillResult> {
  const { part, signal, log } = opts;
  const timings = { scratchMs: 0, restoreMs: 0, checksMs: 0 };
  const t0 = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-drill-'));
  const scratch = { kind: 'local' as const, where: dir, serverVersion: '' };
  timings.scratchMs = Date.now() - t0;
  const bytes = part.artifacts.reduce((n, a) => n + a.size, 0);
  const result = (
    stage: SourceDrillResult['stage'],
    checks: CheckResult[],
    restored: boolean,
    error?: unknown,
  ) => ({
    stage,
    scratch,
    checks,
    bytes,
    restored,
    cleanup: [],
    timings,
    ...(error !== undefined ? { error } : {}),
  });
  try {
    const t1 = Date.now();
    const to = path.join(dir, part.name);
    const common = { to, verified: true, keys: opts.keys, signal, log };
    try {
      if (part.source.kind === 'sqlite') {
        const restored = await restoreSqlite(opts.storage, part as SqliteBackup, common);
        timings.restoreMs = Date.now() - t1;
        const t2 = Date.now();
        const checks = await sqliteChecks(
          part as SqliteBackup,
          restored.written ?? [],
          restored.tables ?? {},
          opts,
        );
        timings.checksMs = Date.now() - t2;
        return result('checks', checks, true);
      }
      await restoreFiles(opts.storage, part as FilesBackup, common);
      timings.restoreMs = Date.now() - t1;
    } catch (err) {
      log('restore FAILED');
      return result('restore', [], false, err);
    }
    const t2 = Date.now();
    const checks = await filesChecks(opts.storage, part as FilesBackup, to, signal, opts.keys);
    timings.checksMs = Date.now() - t2;
    return result('checks', checks, true);
  } catch (err) {
    return result('checks', [], true, err);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch((err: unknown) =>
      opts.warn(`remove drill scratch ${dir}: ${oneLine(err)}`),
    );
  }
}

async function sqliteChecks(
  part: SqliteBackup,
  written: string[],
  restored: Record<string, Array<{ table: string; rows: number }>>,
  opts: FileDrillOptions,
): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  const files = part.artifacts.filter((a) => a.role === 'file');
  const fileOf = new Map(files.map((a, i) => [a.database ?? '', written[i]!]));
  for (const a of files) {
    const db = a.database ?? '';
    // restoreSqlite refuses a file that fails integrity_check, so reaching here means it passed.
    checks.push({ name: `integrity_check ${db}`, ok: true, expected: 'ok', actual: 'ok' });
    const now = new Map((restored[db] ?? []).map((t) => [t.table, t.rows]));
    for (const t of a.tables ?? []) {
      const actual = now.get(t.table);
      checks.push({
        name: `rows ${db}: ${t.table}`,
        ok: actual === t.rows,
        expected: String(t.rows),
        actual: actual === undefined ? 'table missing' : String(actual),
      });
    }
  }
  for (const check of opts.drill?.checks ?? []) {
    const file = check.database ? fileOf.get(check.database) : written[0];
    if (!file) {
      checks.push({
        name: check.name,
        ok: false,
        expected: describeExpectation(parseExpectation(check.expect)),
        actual: `no database ${check.database} in this source`,
      });
      continue;
    }
    const query = () =>
      queryFirstValue(file, check.sql, { signal: opts.signal, what: `drill check ${check.name}` });
    checks.push(await judgeQueryCheck(check.name, check.expect, query, opts.signal));
  }
  return checks;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Why the extracted `abs` does not match its index entry, or undefined. */
async function mismatch(e: IndexEntry, abs: string): Promise<string | undefined> {
  const st = await lstat(abs).catch(() => undefined);
  if (!st) return 'missing';
  const type = e.type === 'hardlink' ? 'file' : e.type;
  const actual = st.isFile()
    ? 'file'
    : st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? 'symlink'
        : st.isFIFO()
          ? 'fifo'
          : 'other';
  if (actual !== type) return `a ${actual}, expected a ${type}`;
  if (type === 'symlink') return (await readlink(abs)) === e.link ? undefined : 'symlink target differs';
  if (e.type !== 'hardlink' && (st.mode & 0o7777).toString(8).padStart(4, '0') !== e.mode)
    return `mode ${(st.mode & 0o7777).toString(8)}, expected ${e.mode}`;
  if (e.type === 'file') {
    if (st.size !== e.size) return `size ${st.size}, expected ${e.size}`;
    if ((await sha256File(abs)) !== e.sha256) return 'content differs (sha256)';
  }
  return undefined;
}

async function filesChecks(
  storage: Storage,
  part: FilesBackup,
  root: string,
  signal: AbortSignal,
  keys?: CodecKeys,
): Promise<CheckResult[]> {
  const index = part.artifacts.find((a) => a.role === 'index');
  if (!index)
    return [{ name: 'files match the index', ok: false, expected: 'an index', actual: 'none stored' }];
  const { stream, done } = await decodeArtifact(storage, codecChain(part, keys), index.key, signal);
  let entries = 0;
  let files = 0;
  const bad: string[] = [];
  let badCount = 0;
  // One line at a time: memory stays flat however many files the index names.
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (!line) continue;
    const e = JSON.parse(line) as IndexEntry;
    entries++;
    if (e.type === 'file') files++;
    const why = await mismatch(e, path.join(root, e.path));
    if (why) {
      badCount++;
      if (bad.length < 5) bad.push(`${e.path}: ${why}`);
    }
  }
  await done;
  return [
    {
      name: 'files match the index',
      ok: badCount === 0 && entries > 0,
      expected: `${entries} entries (${files} files) as indexed`,
      actual: badCount === 0 ? `${entries} entries match` : `${badCount} differ`,
      ...(bad.length ? { detail: bad.join('; ') } : {}),
    },
  ];
}
