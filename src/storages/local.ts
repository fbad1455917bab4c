/**
 * A storage in a local directory (or a mounted volume). Writes go to a temp file in the target
 * folder, are fsynced, then hard-linked into place — link() fails if the name exists, so
 * "never overwrite" is atomic — and the folder is fsynced so the name survives a crash.
 */
import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { LifeboatError, fromSystemError } from '../util/errors.js';
import { validateKey, type ObjectInfo, type Storage } from './storage.js';

/** Temp files carry this prefix; list() hides them and cleanupIncomplete() removes old ones. */
export const TEMP_PREFIX = '.lifeboat-tmp-';

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts, whichever is first. */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  let onAbort = () => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Missing, or a file where a folder should be: either way there is no object at the key. */
const isAbsent = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

async function fsyncPath(p: string): Promise<void> {
  const handle = await open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Opens a new temp file in `dir`, creating the folder first. A concurrent delete may remove a
 * folder that has just become empty (removeEmptyFolders) between the two steps: then once more.
 */
async function createTempFile(dir: string, temp: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dir, { recursive: true });
    try {
      return await open(temp, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

/**
 * Removes `dir` and its parents up to (not including) `root` while they are empty, so deleted and
 * failed backups leave no trail of empty date and id folders. Stops at the first one in use.
 */
async function removeEmptyFolders(dir: string, root: string): Promise<void> {
  for (let d = dir; d.startsWith(root + path.sep); d = path.dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (or already gone, or not ours to remove)
    }
  }
}

export function createLocalStorage(opts: { name: string; path: string }): Storage {
  const root = path.resolve(opts.path);
  const full = (key: string) => {
    validateKey(key);
    return path.join(root, ...key.split('/'));
  };

  async function* walk(
    dir: string,
    keyPrefix: string,
  ): AsyncGenerator<{ entry: Dirent; file: string; key: string }> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isAbsent(err)) return;
      throw fromSystemError(err, `list ${dir}`);
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) yield* walk(file, key + '/');
      else if (entry.isFile()) yield { entry, file, key };
    }
  }

  const storage: Storage = {
    name: opts.name,
    location: root,
    capabilities: { atomicCreateOnly: true },

    async put(key, body, { signal } = {}) {
      const target = full(key);
      const dir = path.dirname(target);
      const temp = path.join(
        dir,
        `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${path.basename(target)}`,
      );
      let handle: FileHandle;
      try {
        handle = await createTempFile(dir, temp);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ENOTDIR') {
          throw new LifeboatError('failed', `write ${key} to ${root}: a file is in the way of its folder`, {
            cause: err,
          });
        }
        throw fromSystemError(err, `write ${key} to ${root}`);
      }
      let size = 0;
      const out = createWriteStream('', { fd: handle, highWaterMark: 1 << 20 });
      try {
        const piped = pipeline(
          body,
          async function* count(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
            for await (const chunk of source) {
              size += chunk.length;
              yield chunk;
            }
          },
          out,
          { signal },
        );
        piped.catch(() => {});
        // pipeline() notices an abort only when the body yields; a stalled body must not hang us.
        await untilAborted(piped, signal);
        await fsyncPath(temp);
        try {
          await link(temp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new LifeboatError(
              'exists',
              `write ${key}: an object already exists at this key in ${root}`,
              {
                hint: 'Lifeboat never overwrites; something else wrote this key meanwhile (another job with the same layout and no {job}?)',
              },
            );
          }
          throw err;
        }
        await unlink(temp);
        await fsyncPath(dir);
        return { size };
      } catch (err) {
        out.destroy();
        // Wait for the file to be closed (or opened, then closed) before removing it.
        if (!out.closed) await once(out, 'close').catch(() => {});
        await unlink(temp).catch(() => {});
        await removeEmptyFolders(dir, root);
        throw fromSystemError(err, `write ${key} to ${root}`);
      }
    },

    async replace(key, bytes, { signal } = {}) {
      // Temp file, fsync, rename over the target: rename() swaps the name atomically.
      const target = full(key);
      const dir = path.dirname(target);
      const temp = path.join(
        dir,
        `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${path.basename(target)}`,
      );
      try {
        const handle = await createTempFile(dir, temp);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        signal?.throwIfAborted();
        await rename(temp, target);
        await fsyncPath(dir);
      } catch (err) {
        await unlink(temp).catch(() => {});
        throw fromSystemError(err, `replace ${key} in ${root}`);
      }
    },

    async get(key, { signal } = {}) {
      const file = full(key);
      try {
        const info = await stat(file);
        if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      } catch (err) {
        if (isAbsent(err)) {
          throw new LifeboatError('not-found', `read ${key}: no such object in ${root}`);
        }
        throw fromSystemError(err, `read ${key} from ${root}`);
      }
      return createReadStream(file, { highWaterMark: 1 << 20, signal });
    },

    async stat(key) {
      try {
        const info = await stat(full(key));
        return info.isFile() ? { key, size: info.size, modified: info.mtime } : undefined;
      } catch (err) {
        if (isAbsent(err)) return undefined;
        throw fromSystemError(err, `stat ${key} in ${root}`);
      }
    },

    async *list(prefix, { signal } = {}) {
      // Walk only the deepest folder the prefix names, then filter by the rest of the prefix.
      const slash = prefix.lastIndexOf('/');
      const dirPart = slash >= 0 ? prefix.slice(0, slash + 1) : '';
      for await (const { entry, file, key } of walk(path.join(root, dirPart), dirPart)) {
        signal?.throwIfAborted();
        if (!key.startsWith(prefix) || entry.name.startsWith(TEMP_PREFIX)) continue;
        try {
          const info = await stat(file);
          yield { key, size: info.size, modified: info.mtime } satisfies ObjectInfo;
        } catch (err) {
          if (!isAbsent(err)) throw fromSystemError(err, `stat ${key}`);
        }
      }
    },

    async delete(key) {
      const file = full(key);
      try {
        await unlink(file);
      } catch (err) {
        if (!isAbsent(err)) throw fromSystemError(err, `delete ${key} from ${root}`);
      }
      await removeEmptyFolders(path.dirname(file), root);
    },

    localPath(key) {
      return full(key);
    },

    async removeEmptyFolders(keys) {
      for (const dir of new Set(keys.map((key) => path.dirname(full(key)))))
        await removeEmptyFolders(dir, root);
    },

    async cleanupIncomplete(olderThan) {
      const removed: string[] = [];
      for await (const { entry, file, key } of walk(root, '')) {
        if (!entry.name.startsWith(TEMP_PREFIX)) continue;
        const info = await stat(file).catch(() => undefined);
        if (info && info.mtime < olderThan) {
          await unlink(file).catch(() => {});
          removed.push(key);
          // The temp file may have been all its id folder held (a killed run): no empty trail.
          await removeEmptyFolders(path.dirname(file), root);
        }
      }
      return removed;
    },
  };
  return storage;
}
