/**
 * Object Lock awareness for S3 deletes. On a bucket with Object Lock, a plain DeleteObject of a
 * locked object "succeeds" by writing a delete marker: the backup would vanish from every listing
 * while its bytes stay until the retention ends. So before deleting on such a bucket, Lifeboat asks
 * HeadObject for the retention and legal hold and refuses with ObjectLockedError instead; prune
 * reports that as "retained until …". A delete the server refuses anyway (AccessDenied) is also
 * checked against GetObjectRetention / GetObjectLegalHold, for servers whose HEAD omits the lock.
 */
import {
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3';
import type { LifeboatError } from '../../util/errors.js';
import { ObjectLockedError } from '../object-lock.js';
import type { S3Bucket } from './bucket.js';
import { s3ErrorName, s3ErrorStatus } from './errors.js';

/** HeadObject calls at once when checking many keys. */
const HEAD_CONCURRENCY = 8;

interface Lock {
  until?: Date;
  mode?: string;
  legalHold?: boolean;
}

/** Keeps only a lock that still holds now. */
function activeLock(lock: Lock): Lock | undefined {
  const until = lock.until && lock.until.getTime() > Date.now() ? lock.until : undefined;
  return until || lock.legalHold ? { ...lock, until } : undefined;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface LockCheck {
  /** The keys among `keys` still under a lock, each with the error to report. */
  lockedAmong(keys: string[], signal?: AbortSignal): Promise<Map<string, ObjectLockedError>>;
  /** The error for a delete the server refused: ObjectLockedError if a lock explains it. */
  refused(key: string, err: unknown, signal?: AbortSignal): Promise<LifeboatError>;
}

export function createLockCheck(b: S3Bucket): LockCheck {
  // Whether the bucket has Object Lock on, asked once: only then are deletes checked one by one.
  let enabled: Promise<boolean> | undefined;
  const bucketLocks = () =>
    (enabled ??= b.client.send(new GetObjectLockConfigurationCommand({ Bucket: b.bucket })).then(
      (r) => r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled',
      (err) => {
        const name = s3ErrorName(err);
        if (name === 'ObjectLockConfigurationNotFoundError' || name === 'NotImplemented') return false;
        // Unknown (no permission to ask, a blip): check each delete rather than hide a locked backup.
        enabled = undefined;
        return true;
      },
    ));

  /** The lock on the current version of `key`, as HeadObject reports it (needs s3:GetObjectRetention). */
  async function headLock(key: string, signal?: AbortSignal): Promise<Lock | undefined> {
    try {
      const head = await b.client.send(new HeadObjectCommand({ Bucket: b.bucket, Key: b.key(key) }), {
        abortSignal: signal,
      });
      return activeLock({
        until: head.ObjectLockRetainUntilDate,
        mode: head.ObjectLockMode,
        legalHold: head.ObjectLockLegalHoldStatus === 'ON',
      });
    } catch (err) {
      if (s3ErrorStatus(err) === 404) return undefined;
      throw b.fail(err, `delete ${key} from ${b.location}`);
    }
  }

  return {
    async lockedAmong(keys, signal) {
      const locked = new Map<string, ObjectLockedError>();
      if (keys.length === 0 || !(await bucketLocks())) return locked;
      const locks = await mapLimit(keys, HEAD_CONCURRENCY, (key) => headLock(key, signal));
      keys.forEach((key, i) => {
        const lock = locks[i];
        if (lock) locked.set(key, new ObjectLockedError(key, b.location, lock));
      });
      return locked;
    },

    async refused(key, err, signal) {
      const ask = <T>(p: Promise<T>) => p.catch(() => undefined);
      const Key = b.key(key);
      const [retention, hold] = await Promise.all([
        ask(b.client.send(new GetObjectRetentionCommand({ Bucket: b.bucket, Key }), { abortSignal: signal })),
        ask(b.client.send(new GetObjectLegalHoldCommand({ Bucket: b.bucket, Key }), { abortSignal: signal })),
      ]);
      const lock = activeLock({
        until: retention?.Retention?.RetainUntilDate,
        mode: retention?.Retention?.Mode,
        legalHold: hold?.LegalHold?.Status === 'ON',
      });
      return lock
        ? new ObjectLockedError(key, b.location, lock)
        : b.fail(err, `delete ${key} from ${b.location}`);
    },
  };
}
