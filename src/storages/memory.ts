/**
 * A storage in a Map, for tests: fast, no I/O, and strict about the Storage contract (create-only,
 * nothing visible until the whole body arrived, idempotent delete). It can also hold objects under
 * a simulated Object Lock, so prune's "retained" path is testable without an S3 server.
 */
import { Readable } from 'node:stream';
import { LifeboatError } from '../util/errors.js';
import { ObjectLockedError } from './object-lock.js';
import { validateKey, type ObjectInfo, type Storage } from './storage.js';

interface Entry {
  bytes: Buffer;
  modified: Date;
}

export interface MemoryStorage extends Storage {
  /** Protects `key` from deletion until `until`, as S3 Object Lock retention would. */
  lock(key: string, until: Date): void;
  /** Sets an object's modification time (to test grace periods). */
  touch(key: string, modified: Date): void;
}

export function createMemoryStorage(opts: { name?: string } = {}): MemoryStorage {
  const name = opts.name ?? 'memory';
  const location = `memory:${name}`;
  const objects = new Map<string, Entry>();
  const locks = new Map<string, Date>();
  const missing = (key: string) =>
    new LifeboatError('not-found', `read ${key}: no such object in ${location}`);

  const storage: MemoryStorage = {
    name,
    location,
    capabilities: { atomicCreateOnly: true },

    async put(key, body, { signal } = {}) {
      validateKey(key);
      signal?.throwIfAborted();
      const chunks: Buffer[] = [];
      const aborted = new Promise<never>((_, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      aborted.catch(() => {});
      const it =
        Symbol.asyncIterator in body
          ? (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
          : (body as Iterable<Uint8Array>)[Symbol.iterator]();
      try {
        for (;;) {
          // Races the body so a stalled producer cannot keep an aborted put pending.
          const next = await Promise.race([Promise.resolve(it.next()), aborted]);
          if (next.done) break;
          chunks.push(Buffer.from(next.value));
        }
      } finally {
        void Promise.resolve(it.return?.()).catch(() => {});
      }
      signal?.throwIfAborted();
      // Check and insert with no await between them: create-only is atomic.
      if (objects.has(key)) {
        throw new LifeboatError(
          'exists',
          `write ${key}: an object already exists at this key in ${location}`,
        );
      }
      const bytes = Buffer.concat(chunks);
      objects.set(key, { bytes, modified: new Date() });
      return { size: bytes.length };
    },

    async replace(key, bytes) {
      validateKey(key);
      objects.set(key, { bytes: Buffer.from(bytes), modified: new Date() });
    },

    async get(key) {
      validateKey(key);
      const entry = objects.get(key);
      if (!entry) throw missing(key);
      return Readable.from([entry.bytes]);
    },

    async stat(key) {
      validateKey(key);
      const entry = objects.get(key);
      return entry ? { key, size: entry.bytes.length, modified: entry.modified } : undefined;
    },

    async *list(prefix, { signal } = {}) {
      for (const [key, entry] of [...objects]) {
        signal?.throwIfAborted();
        if (key.startsWith(prefix))
          yield { key, size: entry.bytes.length, modified: entry.modified } satisfies ObjectInfo;
      }
    },

    async delete(key, { evenIfRetained } = {}) {
      validateKey(key);
      const until = locks.get(key);
      if (objects.has(key) && !evenIfRetained && until && until.getTime() > Date.now())
        throw new ObjectLockedError(key, location, { until, mode: 'COMPLIANCE' });
      objects.delete(key);
    },

    async deleteMany(keys) {
      const failures: Array<{ key: string; error: unknown }> = [];
      for (const key of keys)
        await storage.delete(key).catch((error: unknown) => failures.push({ key, error }));
      return failures;
    },

    lock(key, until) {
      locks.set(key, until);
    },

    touch(key, modified) {
      const entry = objects.get(key);
      if (entry) entry.modified = modified;
    },
  };
  return storage;
}
