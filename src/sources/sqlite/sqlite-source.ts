/**
 * `type: sqlite`: one artifact per database file, each a consistent online copy (online-copy.ts)
 * made into a private temp directory, integrity-checked and counted there, then read by the first
 * codec straight from the file (removed as soon as it is open). Named by the file's name (`state.db` → `state.db.zst`).
 */
import { glob, mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TableCount } from '../../catalog/manifest.js';
import { LifeboatError } from '../../util/errors.js';
import type { DumpStream, PlannedArtifact, Source, SourcePlan } from '../source.js';
import type { SqliteSourceConfig } from './config.js';
import { checkDatabaseFile, onlineCopy } from './online-copy.js';
import type { SqliteSourceRecord } from './record.js';

const GLOB_CHARS = /[*?[\]{}]/;

async function resolveFiles(patterns: string[], what: string): Promise<string[]> {
  const files: string[] = [];
  for (const p of patterns) {
    if (!path.isAbsolute(p)) throw new LifeboatError('config', `${what} ${p}: not an absolute path`);
    if (!GLOB_CHARS.test(p)) {
      files.push(p);
      continue;
    }
    const found: string[] = [];
    for await (const m of glob(p)) found.push(path.resolve(m));
    if (found.length === 0) throw new LifeboatError('unreachable', `${what} ${p}: matches nothing`);
    files.push(...found.sort());
  }
  return [...new Set(files)];
}

export function createSqliteSource(cfg: SqliteSourceConfig): Source {
  const patterns = cfg.paths ?? [cfg.path!];
  const what = 'read sqlite database';
  return {
    description: `sqlite ${patterns.join(', ')}`,
    async plan(): Promise<SourcePlan> {
      const files = await resolveFiles(patterns, what);
      for (const f of files) await checkDatabaseFile(f, what);
      const names = files.map((f) => path.basename(f));
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup)
        throw new LifeboatError('config', `${what} ${patterns.join(', ')}: two databases are named ${dup}`, {
          hint: 'back them up as two sources',
        });
      const record: SqliteSourceRecord = {
        kind: 'sqlite',
        tool: { name: 'node:sqlite VACUUM INTO', version: process.versions.sqlite ?? 'unknown' },
        databases: names,
        files: files.map((f, i) => ({ name: names[i]!, path: f })),
      };
      return {
        record,
        extension: '',
        artifacts: files.map((f, i) => sqliteArtifact(f, names[i]!, cfg.busyTimeout * 1000)),
        summary: `${files.length} SQLite database${files.length === 1 ? '' : 's'} (${names.join(', ')}), SQLite ${record.tool.version}`,
      };
    },
  };
}

function sqliteArtifact(file: string, name: string, busyWaitMs: number): PlannedArtifact {
  let tables: TableCount[] | undefined;
  return {
    role: 'file',
    database: name,
    baseName: name,
    async open(signal): Promise<DumpStream> {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sqlite-'));
      try {
        const copy = path.join(dir, name);
        tables = (await onlineCopy(file, copy, { busyWaitMs, signal, what: `back up sqlite ${file}` }))
          .tables;
        // Opened, then removed below: the open file keeps its bytes until it is closed, and a
        // stopped run leaves no copy behind. The first codec reads the file itself (fd).
        const handle = await open(copy, 'r');
        const stream = handle.createReadStream();
        // The copy is made and checked: nothing of the producer is left running.
        return { stream, osPipe: false, fd: handle.fd, done: Promise.resolve() };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    tables: () => tables,
  };
}
