/**
 * `lifeboat restore ID --source NAME --to s3://bucket/prefix | STORAGE | DIR` for a bucket source: every
 * object of the snapshot (or those matching --path globs) written from its blob, its bytes
 * checked against the index's SHA-256 as they pass (a mismatch fails before the object is
 * committed), with its content type and user metadata on S3. Keys already at the target are
 * refused, all named before anything is written, unless --force.
 */
import { mkdir, rename, rm, lstat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { codecChain, decodingChain } from '../../codecs/chain.js';
import { isRelativeKey, type Storage } from '../../storages/storage.js';
import { LifeboatError } from '../../util/errors.js';
import { pool } from '../../util/pool.js';
import type { SourceRestoreOptions, SourceRestoreResult } from '../kind.js';
import type { SourceBackup } from '../../catalog/manifest.js';
import { decodeArtifact } from '../../catalog/artifact-stream.js';
import { readBlob } from './blobs.js';
import { readIndex, type IndexEntry } from './index-file.js';
import type { BucketBackup } from './record.js';
import { excluded } from './snapshot.js';
import { restoreTarget } from './target.js';

const CONCURRENCY = 8;

/** The snapshot's entries, decoded from its index artifact. */
export async function* snapshotEntries(
  storage: Storage,
  part: SourceBackup,
  opts: { keys?: SourceRestoreOptions['keys']; signal: AbortSignal },
): AsyncGenerator<IndexEntry> {
  const artifact = part.artifacts.find((a) => a.role === 'index');
  if (!artifact)
    throw new LifeboatError(
      'integrity',
      `read ${part.job} ${part.id} source ${part.name}: the backup has no index`,
    );
  const codecs = decodingChain(part, opts.keys);
  const { stream, done } = await decodeArtifact(storage, codecs, artifact.key, opts.signal);
  yield* readIndex(stream, `read index ${artifact.key}`);
  await done;
}

/** The key below the backed-up prefix: what lands under the target's prefix or directory. */
export function relativeKey(part: BucketBackup, key: string): string {
  const prefix = part.source.prefix ?? '';
  return key.startsWith(prefix) ? key.slice(prefix.length) : key;
}

/** A relative key that cannot be a path below a directory; a trailing `/` is a directory marker. */
function unsafePath(rel: string): boolean {
  return !isRelativeKey(rel.replace(/\/$/, ''));
}

export async function restoreBucket(
  storage: Storage,
  backup: SourceBackup,
  opts: SourceRestoreOptions,
): Promise<SourceRestoreResult> {
  const part = backup as BucketBackup;
  // Every stored object's checksum first, as for every kind, before the index is even read.
  await opts.verify?.();
  const started = Date.now();
  const signal = opts.signal ?? new AbortController().signal;
  const log = opts.log ?? (() => {});
  const what = `restore ${part.job} ${part.id} source ${part.name}`;
  const codecs = codecChain(part, opts.keys);
  const chosen: Array<IndexEntry & { rel: string }> = [];
  for await (const e of snapshotEntries(storage, part, { keys: opts.keys, signal })) {
    const rel = relativeKey(part, e.key);
    if (opts.paths?.length && !opts.paths.some((g) => excluded(rel, [g]) || path.posix.matchesGlob(e.key, g)))
      continue;
    chosen.push({ ...e, rel });
  }
  if (opts.paths?.length && chosen.length === 0)
    throw new LifeboatError('usage', `${what}: no object matches --path ${opts.paths.join(', ')}`);
  let bytes = 0;
  const count = (n: number) => {
    bytes += n;
    opts.onBytes?.(part.name, bytes);
  };
  const target = restoreTarget(part, opts);
  if (target.type === 's3') {
    const { client, prefix } = target;
    try {
      if (!opts.force) {
        const existing = new Set<string>();
        for await (const o of client.list(prefix, signal)) existing.add(o.key);
        refuseClashes(
          what,
          chosen.map((e) => prefix + e.rel).filter((k) => existing.has(k)),
          target.where,
        );
      }
      await pool(chosen, CONCURRENCY, signal, async (e, s) => {
        const body = await readBlob(storage, e, codecs, s);
        await client.put(prefix + e.rel, body, {
          contentType: e.contentType,
          metadata: e.metadata,
          overwrite: opts.force,
          signal: s,
        });
        count(e.size);
      });
    } finally {
      client.destroy();
    }
  } else {
    const { dir } = target;
    const unsafe = chosen.filter((e) => unsafePath(e.rel));
    for (const e of unsafe) log(`${what}: ${JSON.stringify(e.key)} is not a usable file path, skipped`);
    const files = chosen.filter((e) => !unsafePath(e.rel));
    if (!opts.force) {
      const clashes: string[] = [];
      for (const e of files)
        if (
          await lstat(path.join(dir, e.rel)).then(
            () => true,
            () => false,
          )
        )
          clashes.push(e.rel);
      refuseClashes(what, clashes, target.where);
    }
    await pool(files, CONCURRENCY, signal, async (e, s) => {
      const dest = path.join(dir, e.rel);
      if (e.rel.endsWith('/')) return void (await mkdir(dest, { recursive: true }));
      await mkdir(path.dirname(dest), { recursive: true });
      // Written beside its place and renamed when every byte checked out: never a half file.
      const tmp = `${dest}.lifeboat-${process.pid}.tmp`;
      try {
        await pipeline(await readBlob(storage, e, codecs, s), createWriteStream(tmp, { mode: 0o644 }), {
          signal: s,
        });
        await rename(tmp, dest);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      count(e.size);
    });
  }
  log(`${what}: ${chosen.length} objects restored to ${target.where}`);
  log('restore OK');
  return {
    databases: [`${chosen.length} objects`],
    createdRoles: [],
    durationMs: Date.now() - started,
    bytes,
  };
}

function refuseClashes(what: string, keys: string[], where: string): void {
  if (keys.length === 0) return;
  const shown = keys.slice(0, 3).join(', ') + (keys.length > 3 ? ` and ${keys.length - 3} more` : '');
  throw new LifeboatError(
    'exists',
    `${what}: ${keys.length} object(s) already exist in ${where} (${shown})`,
    {
      hint: 'restore to an empty prefix or directory, or add --force to overwrite them',
    },
  );
}
