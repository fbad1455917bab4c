/**
 * `lifeboat verify --deep` of an SQLite source (its kind's `verifyContent`): each database decoded
 * into a private temp file, `PRAGMA integrity_check`, and every table's row count against the
 * manifest's. The temp directory is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeToFile } from '../../catalog/artifact-stream.js';
import type { SourceBackup } from '../../catalog/manifest.js';
import { decodingChain } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { isLifeboatError, oneLine } from '../../util/errors.js';
import type { SourceContentOptions, SourceContentResult } from '../kind.js';
import { checkRestored } from './online-copy.js';

export async function verifySqliteContent(
  storage: Storage,
  part: SourceBackup,
  opts: SourceContentOptions,
): Promise<SourceContentResult> {
  const problems: SourceContentResult['problems'] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-verify-'));
  try {
    let databases = 0;
    for (const a of part.artifacts.filter((x) => x.role === 'file')) {
      const file = path.join(dir, `${databases++}.db`);
      const codecs = decodingChain(part, opts.keys);
      await decodeToFile(storage, codecs, a.key, file, opts.signal);
      let tables;
      try {
        tables = (await checkRestored(file, { signal: opts.signal, what: `verify ${a.key}` })).tables;
      } catch (err) {
        if (!isLifeboatError(err, 'integrity')) throw err;
        problems.push({
          key: a.key,
          problem: 'content',
          detail: oneLine(err).replace(/^verify \S+ \S+: /, ''),
        });
        continue;
      }
      const now = new Map(tables.map((t) => [t.table, t.rows]));
      const wrong = (a.tables ?? []).filter((t) => now.get(t.table) !== t.rows);
      if (wrong.length)
        problems.push({
          key: a.key,
          problem: 'content',
          detail: wrong
            .map((t) => `table ${t.table}: ${now.get(t.table) ?? 'missing'} rows, manifest says ${t.rows}`)
            .join('; '),
        });
      await rm(file, { force: true });
    }
    return {
      problems,
      proven: `sqlite ${part.name}: integrity_check ok, row counts match (${databases} database(s))`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
