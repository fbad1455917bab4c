/**
 * The per-job lock: one run of a job at a time (a backup or a prune), across processes and hosts
 * that share a storage. The lock is an object, `.lifeboat/{job}/lock.json`, created create-only
 * (local: link(); S3: PutObject with `If-None-Match: *`), so of several runs started at once
 * exactly one gets it and the others are refused with a line naming the holder. That also makes
 * backup id allocation race-free: only the holder picks an id.
 *
 * A holder refreshes the lock's expiry while it runs and deletes the lock on every exit path. A
 * lock left by a killed run is stale once its expiry has passed, or at once when it was taken on
 * this host by a process that no longer exists; the next run breaks it with a warning.
 *
 * Breaking is itself guarded: to break the lock with token T a run must first create
 * `.lifeboat/{job}/lock-break-T.json` (create-only), so of two runs that find the same stale lock,
 * only one removes it; a token is never reused, so a late breaker can never remove a newer lock.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { CATALOG_PREFIX, safeSegment } from '../catalog/layout.js';
import { putText, readText, type Storage } from '../storages/storage.js';
import { isLifeboatError, LifeboatError, oneLine } from '../util/errors.js';
import { sleep } from '../util/sleep.js';
import { LIFEBOAT_VERSION } from '../util/version.js';

export const LOCK_FORMAT = 'lifeboat-lock';
/** How long a lock holds without a refresh. A killed run on another host blocks the job this long. */
export const DEFAULT_LOCK_TTL_MS = 5 * 60_000;

export type LockKind = 'backup' | 'prune';

export interface LockRecord {
  format: typeof LOCK_FORMAT;
  version: 1;
  job: string;
  kind: LockKind;
  /** Unique per acquisition: tells this run's lock from a later one at the same key. */
  token: string;
  /** The OS user that ran Lifeboat. */
  owner: string;
  host: string;
  pid: number;
  created: string;
  expires: string;
  lifeboatVersion: string;
}

/**
 * Lock objects are removed even on an S3 bucket with Object Lock, where each version is retained:
 * a delete marker hides the key (what the lock needs) and the small retained versions expire.
 */
const FORCE = { evenIfRetained: true } as const;

export function lockKey(job: string): string {
  return `${CATALOG_PREFIX}${safeSegment(job)}/lock.json`;
}

/** Where a run breaking the stale lock with `token` marks that it does (see breakStale). */
export function breakMarkerKey(job: string, token: string): string {
  return `${breakMarkerPrefix(job)}${safeSegment(token)}.json`;
}

const breakMarkerPrefix = (job: string) => `${CATALOG_PREFIX}${safeSegment(job)}/lock-break-`;

export interface JobLockOptions {
  kind: LockKind;
  signal?: AbortSignal;
  /** The clock that dates the lock and judges others' expiry (prune passes its `now`). */
  now?: () => Date;
  ttlMs?: number;
  /** Between refreshes; default a third of the ttl, so two can fail before the lock expires. */
  refreshMs?: number;
  /** Where "broke a stale lock" and refresh trouble are reported. */
  warn?: (line: string) => void;
  /** This process as the lock records it (tests pretend to be another host or process). */
  host?: string;
  pid?: number;
  /** Whether a process of this host is alive; default: signal 0. */
  isAlive?: (pid: number) => boolean;
}

export interface JobLock {
  /** Aborts (with the reason) when the lock is lost: removed, taken over, or expired unrefreshed. */
  readonly lost: AbortSignal;
  /** Pushes the expiry forward now (the heartbeat calls it every `refreshMs`). */
  refresh(): Promise<void>;
  /** Stops the heartbeat and deletes the lock if it is still ours. Never throws. */
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** The lock at the key, or undefined when there is none. A lock that cannot be parsed is dated by its mtime. */
async function readLock(
  storage: Storage,
  key: string,
  ttlMs: number,
  signal?: AbortSignal,
): Promise<LockRecord | undefined> {
  let text: string;
  try {
    text = await readText(storage, key, { signal });
  } catch (err) {
    if (isLifeboatError(err, 'not-found')) return undefined;
    throw err;
  }
  try {
    const r = JSON.parse(text) as LockRecord;
    if (r.format === LOCK_FORMAT && typeof r.token === 'string' && !Number.isNaN(Date.parse(r.expires)))
      return r;
  } catch {
    // fall through: not a lock Lifeboat wrote
  }
  const info = await storage.stat(key, { signal });
  if (!info) return undefined;
  return {
    format: LOCK_FORMAT,
    version: 1,
    job: '?',
    kind: 'backup',
    token: `unreadable-${info.modified.getTime()}-${info.size}`,
    owner: '?',
    host: '?',
    pid: 0,
    created: info.modified.toISOString(),
    expires: new Date(info.modified.getTime() + ttlMs).toISOString(),
    lifeboatVersion: '?',
  };
}

/** Why `holder` is stale, or undefined while it holds. */
function staleReason(holder: LockRecord, now: Date, host: string, isAlive: (pid: number) => boolean) {
  if (Date.parse(holder.expires) <= now.getTime()) return `expired at ${holder.expires}`;
  if (holder.host === host && holder.pid > 0 && !isAlive(holder.pid)) return `process ${holder.pid} is gone`;
  return undefined;
}

const describeHolder = (h: LockRecord) => `a ${h.kind} on ${h.host} (pid ${h.pid}) since ${h.created}`;

/** Writes the lock over itself in one step where the storage can (see Storage.replace). */
async function rewrite(storage: Storage, key: string, text: string): Promise<void> {
  if (storage.replace) return storage.replace(key, Buffer.from(text, 'utf8'));
  await storage.delete(key, FORCE);
  await putText(storage, key, text);
}

/** Takes the lock in one storage, breaking a stale one; throws a one-line refusal when it is held. */
async function acquireOne(
  storage: Storage,
  job: string,
  record: LockRecord,
  opts: Required<Pick<JobLockOptions, 'now' | 'ttlMs' | 'host' | 'isAlive'>> & JobLockOptions,
): Promise<void> {
  const key = lockKey(job);
  const { signal } = opts;
  const text = JSON.stringify(record, null, 2) + '\n';
  let holder: LockRecord | undefined;
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await putText(storage, key, text, { signal });
      await sweepBreakMarkers(storage, job, opts);
      return;
    } catch (err) {
      if (!isLifeboatError(err, 'exists')) throw err;
    }
    holder = await readLock(storage, key, opts.ttlMs, signal);
    if (!holder) continue; // released meanwhile
    const why = staleReason(holder, opts.now(), opts.host, opts.isAlive);
    if (!why) break;
    if (await breakStale(storage, job, holder, opts)) {
      opts.warn?.(
        `lock ${job} in ${storage.name}: broke the stale lock of ${describeHolder(holder)} (${why})`,
      );
    } else {
      await sleep(50 * attempt, signal); // another run is breaking it: let it finish
    }
  }
  throw new LifeboatError(
    'failed',
    `lock ${job} in ${storage.name}: held by ${holder ? describeHolder(holder) : 'another run'}`,
    {
      hint: `one run of a job at a time; try again when it ends (an abandoned lock expires at ${holder?.expires ?? 'its expiry'})`,
    },
  );
}

/**
 * Removes `stale` if it is still the lock and still stale, under its break marker. Returns whether
 * this run removed it (false: another run is breaking it, or it changed).
 */
async function breakStale(
  storage: Storage,
  job: string,
  stale: LockRecord,
  opts: Required<Pick<JobLockOptions, 'now' | 'ttlMs' | 'host' | 'isAlive'>> & JobLockOptions,
): Promise<boolean> {
  const marker = breakMarkerKey(job, stale.token);
  const { signal } = opts;
  try {
    await putText(storage, marker, JSON.stringify({ host: opts.host, pid: opts.pid ?? process.pid }), {
      signal,
    });
  } catch (err) {
    if (!isLifeboatError(err, 'exists')) throw err;
    if (await markerAbandoned(storage, marker, opts)) await storage.delete(marker, FORCE);
    return false;
  }
  try {
    const again = await readLock(storage, lockKey(job), opts.ttlMs, signal);
    if (again?.token !== stale.token || !staleReason(again, opts.now(), opts.host, opts.isAlive))
      return false;
    await storage.delete(lockKey(job), { signal, ...FORCE });
    return true;
  } finally {
    // Safe to drop now: the token is gone for good, so this marker can never be needed again.
    await storage.delete(marker, FORCE).catch(() => {});
  }
}

/**
 * Removes the break markers of earlier locks, right after this run took the lock. A breaker killed
 * after removing a stale lock leaves its marker behind, and nothing else would ever remove it. Safe:
 * every marker names a token that is no longer the lock (ours is new), so a breaker still at work on
 * one gives up when it reads the lock again. Best effort: a leftover costs nothing but a key.
 */
async function sweepBreakMarkers(storage: Storage, job: string, opts: JobLockOptions): Promise<void> {
  try {
    for await (const o of storage.list(breakMarkerPrefix(job), opts)) await storage.delete(o.key, FORCE);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
  }
}

/**
 * Whether the break marker was left by a breaker killed mid-way: one of this host whose process is
 * gone (the next run breaks the lock at once, as it would the lock itself), or any older than a ttl.
 * Without the first rule a run killed while breaking blocked the job until the ttl ran out.
 */
async function markerAbandoned(
  storage: Storage,
  marker: string,
  opts: Required<Pick<JobLockOptions, 'now' | 'ttlMs' | 'host' | 'isAlive'>> & JobLockOptions,
): Promise<boolean> {
  const { signal } = opts;
  let breaker: { host?: unknown; pid?: unknown } = {};
  try {
    breaker = JSON.parse(await readText(storage, marker, { signal })) as typeof breaker;
  } catch (err) {
    if (isLifeboatError(err, 'not-found')) return false; // the breaker finished meanwhile
    // unreadable: judged by its age alone
  }
  const { host, pid } = breaker;
  if (host === opts.host && typeof pid === 'number' && pid > 0 && !opts.isAlive(pid)) return true;
  const info = await storage.stat(marker, { signal });
  return !!info && info.modified.getTime() + opts.ttlMs < opts.now().getTime();
}

/**
 * Takes the job's lock in every storage (in order; none is held if one is refused) and starts the
 * heartbeat. The caller must release() it on every path.
 */
export async function acquireJobLock(
  storages: Storage[],
  job: string,
  options: JobLockOptions,
): Promise<JobLock> {
  const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const opts = {
    ...options,
    ttlMs,
    now: options.now ?? (() => new Date()),
    host: options.host ?? hostname(),
    isAlive: options.isAlive ?? processAlive,
  };
  const created = opts.now();
  let record: LockRecord = {
    format: LOCK_FORMAT,
    version: 1,
    job,
    kind: opts.kind,
    token: randomBytes(12).toString('hex'),
    owner: osUser(),
    host: opts.host,
    pid: opts.pid ?? process.pid,
    created: created.toISOString(),
    expires: new Date(created.getTime() + ttlMs).toISOString(),
    lifeboatVersion: LIFEBOAT_VERSION,
  };
  const held: Storage[] = [];
  const lostController = new AbortController();
  let refreshing: Promise<void> | undefined;

  const deleteOwn = async () => {
    for (const storage of held) {
      try {
        const current = await readLock(storage, lockKey(job), ttlMs, AbortSignal.timeout(30_000));
        if (current?.token === record.token)
          await storage.delete(lockKey(job), { signal: AbortSignal.timeout(30_000), ...FORCE });
      } catch (err) {
        opts.warn?.(
          `unlock ${job} in ${storage.name}: ${oneLine(err)} (the lock expires at ${record.expires})`,
        );
      }
    }
  };

  async function refreshAll(): Promise<void> {
    const now = opts.now();
    const next: LockRecord = { ...record, expires: new Date(now.getTime() + ttlMs).toISOString() };
    for (const storage of held) {
      const current = await readLock(storage, lockKey(job), ttlMs);
      if (current?.token !== record.token || Date.parse(record.expires) <= now.getTime()) {
        const err = new LifeboatError(
          'failed',
          `lock ${job} in ${storage.name}: lost while running (${current ? `now held by ${describeHolder(current)}` : 'removed'})`,
          {
            hint: 'another run broke it as stale; check that the storage and clocks were reachable and right',
          },
        );
        lostController.abort(err);
        throw err;
      }
      await rewrite(storage, lockKey(job), JSON.stringify(next, null, 2) + '\n');
    }
    record = next;
  }

  const refresh = () => (refreshing ??= refreshAll().finally(() => (refreshing = undefined)));

  try {
    for (const storage of storages) {
      await acquireOne(storage, job, record, opts);
      held.push(storage);
    }
  } catch (err) {
    await deleteOwn();
    throw err;
  }
  const timer = setInterval(
    () => {
      if (lostController.signal.aborted) return;
      refresh().catch((err: unknown) => {
        if (!lostController.signal.aborted)
          opts.warn?.(
            `refresh lock of ${job}: ${oneLine(err)} (trying again; it expires at ${record.expires})`,
          );
      });
    },
    options.refreshMs ?? ttlMs / 3,
  );
  // The lock must not keep a finished process alive; release() is what ends it.
  timer.unref();
  return {
    lost: lostController.signal,
    refresh,
    async release() {
      clearInterval(timer);
      await refreshing?.catch(() => {});
      await deleteOwn();
      held.length = 0;
    },
  };
}

/** Runs `fn` holding the job's lock; `fn`'s signal aborts if the lock is lost or `opts.signal` aborts. */
export async function withJobLock<T>(
  storages: Storage[],
  job: string,
  opts: JobLockOptions,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const lock = await acquireJobLock(storages, job, opts);
  try {
    return await fn(opts.signal ? AbortSignal.any([opts.signal, lock.lost]) : lock.lost);
  } finally {
    await lock.release();
  }
}
