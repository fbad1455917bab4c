/**
 * The Storage interface every backend implements (local directory, S3, in-memory for tests).
 * Keys are '/'-separated, relative to the storage's root, never starting with '/'.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

/**
 * What put() accepts: any byte stream (a Readable, an async generator) or a plain array of chunks.
 * A stream made by wholeFile() (whole-file.ts) is a local file's: a storage may read the file instead.
 */
export type Body = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** put()'s options. */
export interface PutOptions {
  signal?: AbortSignal;
}

export interface StorageCapabilities {
  /** put() refuses an existing key atomically (not by a separate check that can race). */
  atomicCreateOnly: boolean;
}

export interface Storage {
  /** The name used in config, e.g. "offsite". */
  readonly name: string;
  /** Where it points, safe to print: "/backups", "s3://bucket/prefix". Never holds credentials. */
  readonly location: string;
  readonly capabilities: StorageCapabilities;

  /**
   * Stores `body` at `key`. The object becomes visible only once every byte is durable; if the body
   * errors, the signal aborts or the storage fails, nothing is left at `key` (nor a temp file).
   * Never overwrites: an existing key fails with code 'exists'. Returns the stored size.
   */
  put(key: string, body: Body, opts?: PutOptions): Promise<{ size: number }>;

  /**
   * Optional: replaces a small object in one step, so a reader sees the old bytes or the new, never
   * neither. Only the job lock uses it, to push its expiry forward; backups never overwrite.
   */
  replace?(key: string, bytes: Uint8Array, opts?: { signal?: AbortSignal }): Promise<void>;

  /** Reads an object. A missing key fails with code 'not-found'. */
  get(key: string, opts?: { signal?: AbortSignal }): Promise<Readable>;

  /** Metadata of one object, or undefined when it does not exist. */
  stat(key: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined>;

  /** Every object whose key starts with `prefix`, in no particular order. Temp files are not listed. */
  list(prefix: string, opts?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo>;

  /**
   * Removes an object; removing a missing key succeeds (idempotent). An object under S3 Object
   * Lock is refused (ObjectLockedError) unless `evenIfRetained`: then, as S3 allows, a delete marker
   * hides it while its retained version stays. Only the job lock uses that; a backup must not vanish
   * from listings while its bytes stay.
   */
  delete(key: string, opts?: { signal?: AbortSignal; evenIfRetained?: boolean }): Promise<void>;

  /**
   * Optional: removes many objects in few requests (S3's DeleteObjects, ≤ 1,000 keys each).
   * Missing keys succeed, as with delete(). Keys that could not be removed are returned with their
   * error (an ObjectLockedError for one under Object Lock retention) instead of thrown; it throws
   * only when a whole request fails. Callers without it loop over delete().
   */
  deleteMany?(
    keys: string[],
    opts?: { signal?: AbortSignal },
  ): Promise<Array<{ key: string; error: unknown }>>;

  /**
   * Optional: a path on this machine holding the object's bytes, so child processes can read it
   * directly (no copy through Node). Only local storages have it.
   */
  localPath?(key: string): string;

  /** Optional housekeeping: removes leftovers of interrupted writes older than `olderThan`. */
  cleanupIncomplete?(olderThan: Date, opts?: { signal?: AbortSignal }): Promise<string[]>;

  /**
   * Optional, for storages with real folders (local): removes the folders that would hold `keys`
   * while they are empty, up to the root. A run killed between creating an artifact's folder and
   * writing its first file leaves one that no key exists in, so deleting the keys never reaches
   * it. Folders holding anything stay.
   */
  removeEmptyFolders?(keys: string[]): Promise<void>;
}

/** Reads a whole (small) object into a string. */
export async function readText(
  storage: Storage,
  key: string,
  opts?: { signal?: AbortSignal },
): Promise<string> {
  const stream = await storage.get(key, opts);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** Stores a small object from a string (still create-only and atomic). */
export function putText(storage: Storage, key: string, text: string, opts?: { signal?: AbortSignal }) {
  return storage.put(key, [Buffer.from(text, 'utf8')], opts);
}

/**
 * A key that names a place below a root, as an object key or a path: not empty, no leading `/`,
 * no empty, `.` or `..` segment (so a trailing `/` or `//` is refused too). The one segment check
 * for storages, manifests and restores into a directory.
 */
export function isRelativeKey(key: string): boolean {
  return (
    key !== '' && !key.startsWith('/') && !key.split('/').some((p) => p === '' || p === '.' || p === '..')
  );
}

export function validateKey(key: string): void {
  if (!isRelativeKey(key)) throw new Error(`invalid object key "${key}"`);
}
