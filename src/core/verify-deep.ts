/**
 * `lifeboat verify --deep`: after the stored bytes matched their checksums, reads each source's
 * artifacts back through the codec chain (decompress, decrypt) and checks their content:
 *
 * - files:  the archive against its index, member by member (sources/files/index-check.ts);
 * - sqlite: each database decoded into a private temp file, `PRAGMA integrity_check`, and every
 *           table's row count against the manifest's;
 * - others: every artifact decodes to the end (zstd's frame checksums, age's authentication).
 *
 * Nothing is restored anywhere but a temp directory of its own, removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeArtifact, decodeToFile } from '../catalog/artifact-stream.js';
import { assertDecodable, codecChain, type CodecKeys } from '../codecs/chain.js';
import { sourceBackup, type ArtifactRecord, type Manifest, type SourceBackup } from '../catalog/manifest.js';
import { checkArchiveAgainstIndex } from '../sources/files/index-check.js';
import { checkRestored } from '../sources/sqlite/online-copy.js';
import type { Storage } from '../storages/storage.js';
import { isLifeboatError, oneLine } from '../util/errors.js';

export interface ContentProblem {
  key: string;
  problem: 'content';
  detail: string;
}

export interface DeepResult {
  problems: ContentProblem[];
  /** What was proven, one phrase per source: "files main: 52 members match the index". */
  proven: string[];
}

export interface DeepOptions {
  keys?: CodecKeys;
  signal: AbortSignal;
}

/** One artifact's decoded bytes; read `stream` to its end (or destroy it), then await `done`. */
async function decode(storage: Storage, part: SourceBackup, a: ArtifactRecord, opts: DeepOptions) {
  const codecs = codecChain(part, opts.keys);
  assertDecodable(codecs);
  return decodeArtifact(storage, codecs, a.key, opts.signal);
}

async function checkFiles(storage: Storage, part: SourceBackup, opts: DeepOptions, out: DeepResult) {
  const archive = part.artifacts.find((a) => a.role === 'file');
  const index = part.artifacts.find((a) => a.role === 'index');
  const key = archive?.key ?? part.artifacts[0]?.key ?? part.name;
  if (!archive || !index) {
    out.problems.push({
      key,
      problem: 'content',
      detail: `source ${part.name} holds no ${archive ? 'index' : 'archive'}`,
    });
    return;
  }
  const a = await decode(storage, part, archive, opts);
  const i = await decode(storage, part, index, opts).catch(async (err: unknown) => {
    a.stream.destroy();
    await a.done.catch(() => {});
    throw err;
  });
  try {
    const check = await checkArchiveAgainstIndex(a.stream, i.stream, `verify ${archive.key}`);
    await Promise.all([a.done, i.done]);
    if (check.differing > 0)
      out.problems.push({
        key: archive.key,
        problem: 'content',
        detail: `${check.differing} member(s) differ from the index: ${check.details.join('; ')}`,
      });
    else out.proven.push(`files ${part.name}: ${check.entries} members match the index`);
  } finally {
    a.stream.destroy();
    i.stream.destroy();
    await Promise.allSettled([a.done, i.done]);
  }
}

async function checkSqlite(storage: Storage, part: SourceBackup, opts: DeepOptions, out: DeepResult) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-verify-'));
  try {
    let databases = 0;
    for (const a of part.artifacts.filter((x) => x.role === 'file')) {
      const file = path.join(dir, `${databases++}.db`);
      const codecs = codecChain(part, opts.keys);
      assertDecodable(codecs);
      await decodeToFile(storage, codecs, a.key, file, opts.signal);
      let tables;
      try {
        tables = (await checkRestored(file, { signal: opts.signal, what: `verify ${a.key}` })).tables;
      } catch (err) {
        if (!isLifeboatError(err, 'integrity')) throw err;
        out.problems.push({
          key: a.key,
          problem: 'content',
          detail: oneLine(err).replace(/^verify \S+ \S+: /, ''),
        });
        continue;
      }
      const now = new Map(tables.map((t) => [t.table, t.rows]));
      const wrong = (a.tables ?? []).filter((t) => now.get(t.table) !== t.rows);
      if (wrong.length)
        out.problems.push({
          key: a.key,
          problem: 'content',
          detail: wrong
            .map((t) => `table ${t.table}: ${now.get(t.table) ?? 'missing'} rows, manifest says ${t.rows}`)
            .join('; '),
        });
      await rm(file, { force: true });
    }
    out.proven.push(`sqlite ${part.name}: integrity_check ok, row counts match (${databases} database(s))`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkDecodes(storage: Storage, part: SourceBackup, opts: DeepOptions, out: DeepResult) {
  for (const a of part.artifacts) {
    const { stream, done } = await decode(storage, part, a, opts);
    // Read to the end and dropped: the decoders' own checks (frame checksums, age's MACs) speak.
    for await (const chunk of stream) void chunk;
    try {
      await done;
    } catch (err) {
      if (isLifeboatError(err, 'aborted')) throw err;
      out.problems.push({ key: a.key, problem: 'content', detail: `does not decode: ${oneLine(err)}` });
    }
  }
  out.proven.push(`${part.source.kind} ${part.name}: ${part.artifacts.length} artifact(s) decode`);
}

export async function verifyContent(storage: Storage, m: Manifest, opts: DeepOptions): Promise<DeepResult> {
  const out: DeepResult = { problems: [], proven: [] };
  for (const name of Object.keys(m.sources)) {
    const part = sourceBackup(m, name)!;
    try {
      if (part.source.kind === 'files') await checkFiles(storage, part, opts, out);
      else if (part.source.kind === 'sqlite') await checkSqlite(storage, part, opts, out);
      else await checkDecodes(storage, part, opts, out);
    } catch (err) {
      // Content that cannot be read back (a cut archive, a database SQLite refuses) is a finding.
      if (!isLifeboatError(err, 'integrity')) throw err;
      const key = part.artifacts[0]?.key ?? name;
      out.problems.push({ key, problem: 'content', detail: oneLine(err) });
    }
  }
  return out;
}
