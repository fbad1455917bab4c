/**
 * Prune: applies the retention policy to a job's committed backups in one storage, and removes
 * leftovers once they are older than a grace period (a backup still being written must not lose
 * its files). A backup is removed manifest first, so an interrupted prune never leaves a manifest
 * pointing at missing objects.
 *
 * Leftovers are only what Lifeboat provably wrote: the keys named by the intent of a run of this
 * job that never committed (catalog/intent.ts), then that intent, plus interrupted writes (temp
 * files, incomplete multipart uploads). A file no intent names is never removed, whatever its
 * name or age: an operator's own backups, another tool's, or leftovers from before intents
 * existed. Those under the job's folder with an artifact-like name are reported as not Lifeboat's.
 *
 * Retention counts only good backups (see retention.ts). Here "good" is checked cheaply, from a
 * listing: every artifact and its `.sha256` sidecar present, each artifact with the size its
 * manifest records, and the run not partial. Bytes are read for one backup only, and only when a
 * good backup is to be removed: the newest good one, which must really be good (see below).
 * Invalid manifests (unparseable, no artifacts, id or job not matching the file name) are reported
 * and never acted on: they are not removed, and unreferenced artifacts in their folder are kept.
 */
import path from 'node:path';
import { CATALOG_PREFIX, staticPrefix, DEFAULT_LAYOUT, idTime, renderTemplate } from '../catalog/layout.js';
import { listBackups, listDrillReports, type UnreadableManifest } from '../catalog/catalog.js';
import { listIntents } from '../catalog/intent.js';
import { checkManifestSignature, listSignatures, signatureKey } from '../catalog/signature.js';
import { manifestKey } from '../catalog/layout.js';
import type { Manifest } from '../catalog/manifest.js';
import { describeLock, isObjectLocked } from '../storages/object-lock.js';
import type { ObjectInfo, Storage } from '../storages/storage.js';
import { isLifeboatError } from '../util/errors.js';
import type { PublicKey } from '../util/minisign.js';
import type { CodecKeys } from '../codecs/chain.js';
import { sweepJobBlobs } from './prune-blobs.js';
import { deleteObjects, type PruneOutcome } from './prune-delete.js';
import { verifyBackup } from './verify.js';
import { withJobLock } from './job-lock.js';
import {
  applyRetention,
  type RetentionDecision,
  type RetentionItem,
  type RetentionPolicy,
} from './retention.js';

export const DEFAULT_GRACE_MS = 24 * 3600 * 1000;

/** File names Lifeboat writes as artifacts or sidecars: the unreferenced ones no intent names are reported. */
const ARTIFACT_NAME = /\.(sql|dump|tar|db)(\.zst|\.gz)?(\.age)?(\.sha256)?$/;

export interface PrunePlan {
  job: string;
  storage: string;
  decisions: Array<RetentionDecision & { manifest: Manifest }>;
  /** Keys an interrupted run of this job wrote (named by its intent, past the grace period, in no manifest). */
  orphans: string[];
  /**
   * Intents to remove once the keys listed with each are gone: of runs that never committed (the
   * keys are their orphans) and of committed runs that did not get to delete theirs (no keys).
   * `folders`: every key the run named that is neither referenced nor possibly still being
   * written, present or not — their empty folders are Lifeboat's to remove (a run killed between
   * creating its folder and its first file leaves the folder and no key in it).
   */
  intents: Array<{ key: string; keys: string[]; folders: string[] }>;
  /** Intents that could not be read: left alone, their keys too. */
  badIntents: Array<{ key: string; error: string }>;
  /** Unreferenced files with artifact-like names under the job's folder that no intent names: never removed. */
  foreign: string[];
  /** Manifests of the job that could not be read or are invalid: reported, never removed. */
  invalid: UnreadableManifest[];
  /** Unreferenced artifacts kept because they lie in an invalid manifest's folder. */
  protected: Array<{ key: string; manifest: string }>;
  /** Artifact keys that a manifest staying in the storage references: never deleted with another backup. */
  stillReferenced: Set<string>;
  /** Manifest signatures present (catalog/signature.ts): each goes right after its manifest. */
  signatures: Set<string>;
}

export async function planPrune(
  storage: Storage,
  job: { name: string; layout?: string },
  policy: RetentionPolicy,
  opts: {
    now?: Date;
    graceMs?: number;
    timeZone?: string;
    signal?: AbortSignal;
    /** Ids whose bytes this process has just hashed (the backup it wrote): not read again. */
    verified?: string[];
    /** false: judge goodness from the listing only (tests of the pure listing rules). */
    checkBytes?: boolean;
    /** With signing configured: a backup whose manifest is not signed by this key is not good. */
    signedBy?: PublicKey;
  } = {},
): Promise<PrunePlan> {
  const now = opts.now ?? new Date();
  const layout = job.layout ?? DEFAULT_LAYOUT;
  // Every manifest of every job counts as a reference: layouts of two jobs may share folders.
  const catalog = await listBackups(storage, undefined, opts.signal);
  const manifests = catalog.manifests.filter((m) => m.job === job.name);
  const invalid = catalog.unreadable.filter((u) => u.job === job.name);

  const prefix = staticPrefix(layout, job.name);
  const listed = new Map<string, ObjectInfo>();
  for await (const obj of storage.list(prefix, { signal: opts.signal })) listed.set(obj.key, obj);
  // Artifacts outside the job's prefix (the layout changed since) are looked up one by one.
  const info = async (key: string) =>
    key.startsWith(prefix) ? listed.get(key) : await storage.stat(key, { signal: opts.signal });

  const byId = new Map(manifests.map((m) => [m.id, m]));
  const items: RetentionItem[] = [];
  for (const m of manifests)
    items.push({ id: m.id, time: new Date(m.startedAt), problem: await whyNotGood(m, info) });
  const decide = () =>
    applyRetention(items, policy, { timeZone: opts.timeZone, now }).map((d) => ({
      ...d,
      manifest: byId.get(d.id)!,
    }));
  let decisions = decide();
  // A flipped byte keeps the size, so the listing cannot see it. Before a good backup goes, the one
  // that stays as the newest good backup is read and hashed (unless this process just wrote it):
  // a corrupt one is marked not good and the decision made again, until one holds up.
  const verified = new Set(opts.verified ?? []);
  for (;;) {
    if (!decisions.some((d) => !d.keep && d.problem === undefined)) break;
    const newest = decisions.find((d) => d.problem === undefined);
    if (!newest || verified.has(newest.id) || opts.checkBytes === false) break;
    const problem = await bytesProblem(storage, newest.manifest, opts);
    if (problem === undefined) break;
    items.find((i) => i.id === newest.id)!.problem = problem;
    decisions = decide();
  }

  const referenced = new Set<string>();
  const stillReferenced = new Set<string>();
  const removed = new Set(decisions.filter((d) => !d.keep).map((d) => d.id));
  for (const m of catalog.manifests) {
    const stays = m.job !== job.name || !removed.has(m.id);
    for (const a of m.artifacts) {
      for (const key of [a.key, `${a.key}.sha256`]) {
        referenced.add(key);
        if (stays) stillReferenced.add(key);
      }
    }
  }
  // Every intent of every job: a key any of them names is Lifeboat's, never another's file.
  const intents = await listIntents(storage, opts.signal);
  const named = new Set(intents.flatMap((e) => e.intent?.keys ?? []));
  const committed = new Set(
    [...catalog.manifests, ...catalog.unreadable].map((m) => manifestKey(m.job, m.id)),
  );
  const cutoff = now.getTime() - (opts.graceMs ?? DEFAULT_GRACE_MS);
  const orphans = new Set<string>();
  const dead: PrunePlan['intents'] = [];
  const badIntents: PrunePlan['badIntents'] = [];
  const live = new Set<string>();
  for (const e of intents) {
    const old = e.modified.getTime() < cutoff;
    if (e.job !== job.name || !e.intent) {
      if (e.job === job.name) badIntents.push({ key: e.key, error: e.error! });
      for (const k of e.intent?.keys ?? []) live.add(k);
    } else if (committed.has(manifestKey(e.job, e.id))) {
      // The manifest references the run's keys; the intent is only a delete that did not happen.
      if (old) dead.push({ key: e.key, keys: [], folders: [] });
    } else if (old) {
      // A run killed as it committed may have signed a manifest it never wrote.
      dead.push({ key: e.key, keys: [...e.intent.keys, signatureKey(e.job, e.id)], folders: [] });
    } else for (const k of e.intent.keys) live.add(k); // possibly a run still writing
  }
  // A signature without its manifest and without an intent: its prune or its run was cut off
  // between the two. Lifeboat's own file in its own folder, so it goes once the grace period ends.
  const signatures = await listSignatures(storage, job.name, opts.signal);
  const intentIds = new Set(intents.filter((e) => e.job === job.name).map((e) => e.id));
  for (const s of signatures)
    if (!committed.has(manifestKey(s.job, s.id)) && !intentIds.has(s.id) && s.modified.getTime() < cutoff)
      orphans.add(s.key);
  for (const d of dead) {
    // Only what exists, no manifest references and no other run may still be writing.
    const keys: string[] = [];
    d.folders = d.keys.filter((k) => !referenced.has(k) && !live.has(k));
    for (const k of d.folders) if (await info(k)) keys.push(k);
    d.keys = keys;
    // The catalog folder (a signature's) is never one to remove.
    d.folders = d.folders.filter((k) => !k.startsWith(CATALOG_PREFIX));
    for (const k of keys) orphans.add(k);
  }

  const folders = catalog.unreadable.map((u) => ({ key: u.key, folder: folderOf(layout, u) }));
  const kept: PrunePlan['protected'] = [];
  const foreign: string[] = [];
  for (const obj of listed.values()) {
    if (obj.key.startsWith(CATALOG_PREFIX) || referenced.has(obj.key) || named.has(obj.key)) continue;
    if (!ARTIFACT_NAME.test(path.posix.basename(obj.key))) continue;
    // Possibly a whole, hand-restorable backup whose manifest is damaged: said so.
    const owner = folders.find((f) => obj.key.startsWith(f.folder));
    if (owner) kept.push({ key: obj.key, manifest: owner.key });
    else foreign.push(obj.key);
  }
  return {
    job: job.name,
    storage: storage.name,
    decisions,
    orphans: [...orphans].sort(),
    intents: dead,
    badIntents,
    foreign: foreign.sort(),
    invalid,
    protected: kept.sort((a, b) => (a.key < b.key ? -1 : 1)),
    stillReferenced,
    signatures: new Set(signatures.map((s) => s.key)),
  };
}

/**
 * Why a backup is not good once read: its signature (with signing configured, verify, restore and
 * drills refuse a manifest without a good one), then its bytes; undefined when it holds up.
 */
async function bytesProblem(
  storage: Storage,
  manifest: Manifest,
  opts: { signal?: AbortSignal; signedBy?: PublicKey },
): Promise<string | undefined> {
  if (opts.signedBy) {
    try {
      await checkManifestSignature(storage, manifest, opts.signedBy, opts.signal);
    } catch (err) {
      if (!isLifeboatError(err, 'integrity')) throw err;
      return `signature FAILED: ${err.message.replace(/^.*?signature FAILED: /, '')}`;
    }
  }
  const problems = await verifyBackup(storage, manifest, { signal: opts.signal });
  const p = problems[0];
  if (!p) return undefined;
  return `corrupt: ${p.problem === 'missing' ? `${p.key} is missing` : `${p.problem} mismatch in ${p.key}`}`;
}

/** Why a backup is not good, judged from the listing alone; undefined when it is complete. */
async function whyNotGood(
  m: Manifest,
  info: (key: string) => Promise<ObjectInfo | undefined>,
): Promise<string | undefined> {
  if (m.partial) {
    const missing = (m.missing ?? []).map((x) => x.database);
    return `partial${missing.length ? `: ${missing.join(', ')} not backed up` : ''}`;
  }
  for (const a of m.artifacts) {
    const obj = await info(a.key);
    if (!obj) return `incomplete: ${a.key} is missing`;
    if (obj.size !== a.size) return `incomplete: ${a.key} has ${obj.size} bytes, the manifest says ${a.size}`;
    // "<64 hex>  <name>\n", give or take the line ending: a truncated sidecar cannot be checked.
    const sidecar = await info(`${a.key}.sha256`);
    const expected = 66 + Buffer.byteLength(path.posix.basename(a.key));
    if (!sidecar) return `incomplete: ${a.key}.sha256 is missing`;
    if (sidecar.size < expected || sidecar.size > expected + 2)
      return `incomplete: ${a.key}.sha256 has ${sidecar.size} bytes, expected ${expected + 1}`;
  }
  return undefined;
}

/**
 * The folder an unreadable manifest's artifacts were written to: the job's layout rendered for the
 * id in the file name, up to the first {db} (which the manifest would have told). Ends with "/",
 * or is "" (the whole storage) when the layout starts with {db}.
 */
function folderOf(layout: string, u: { job: string; id: string }): string {
  const db = layout.indexOf('{db}');
  const rendered = renderTemplate(db < 0 ? layout : layout.slice(0, db), {
    job: u.job,
    id: u.id,
    at: idTime(u.id),
  });
  const folder = db < 0 ? rendered : rendered.slice(0, rendered.lastIndexOf('/') + 1);
  const parts = folder.split('/').filter((p) => p !== '');
  return parts.length ? `${parts.join('/')}/` : '';
}

/**
 * Files in the job's folder that no manifest references and no intent names: an operator's own
 * backups, another tool's, or leftovers from before intents existed. One line, a few names.
 */
export function foreignLine(keys: string[]): string {
  const shown =
    keys.slice(0, 3).join(', ') + (keys.length > 3 ? `, and ${keys.length - 3} more (--json lists all)` : '');
  return `leave ${keys.length} file(s) alone, not Lifeboat's (no backup or intent of it names them): ${shown}`;
}

export type { PruneOutcome };

export interface ExecuteOptions {
  /** The clock for the grace period, and for judging a lock left by another run as expired. */
  now?: Date;
  graceMs?: number;
  signal?: AbortSignal;
  /** Where breaking a stale job lock is reported. */
  warn?: (line: string) => void;
  /** What reading an encrypted job's bucket indexes needs (marking the blobs they use). */
  keys?: CodecKeys;
}

/**
 * Carries out a plan holding the job's lock (job-lock.ts): a prune never runs beside a backup of
 * the same job (it is refused while one runs), and a lock left by a killed run is broken here too.
 */
export async function executePrune(
  storage: Storage,
  plan: PrunePlan,
  opts: ExecuteOptions = {},
): Promise<PruneOutcome> {
  const { now } = opts;
  const lockOpts = {
    kind: 'prune' as const,
    signal: opts.signal,
    warn: opts.warn,
    ...(now && { now: () => now }),
  };
  return withJobLock([storage], plan.job, lockOpts, (signal) =>
    executeUnlocked(storage, plan, { ...opts, signal }),
  );
}

async function executeUnlocked(
  storage: Storage,
  plan: PrunePlan,
  opts: ExecuteOptions,
): Promise<PruneOutcome> {
  const outcome: PruneOutcome = {
    removedBackups: [],
    removedObjects: [],
    removedIncomplete: [],
    retained: [],
  };
  const objects: string[] = [];
  for (const d of plan.decisions) {
    if (d.keep) continue;
    const key = manifestKey(plan.job, d.id);
    try {
      await storage.delete(key, { signal: opts.signal });
    } catch (err) {
      // Object Lock refused: the backup stays whole (manifest and artifacts) until its lock ends.
      if (!isObjectLocked(err)) throw err;
      outcome.retained.push({ id: d.id, key, lock: describeLock(err) });
      continue;
    }
    const signature = signatureKey(plan.job, d.id);
    if (plan.signatures.has(signature)) objects.push(signature);
    for (const a of d.manifest.artifacts)
      for (const k of [a.key, `${a.key}.sha256`]) if (!plan.stillReferenced.has(k)) objects.push(k);
    outcome.removedBackups.push(d.id);
  }
  // Drill reports of removed backups go with them (they describe a backup that no longer exists).
  if (outcome.removedBackups.length) {
    const removed = new Set(outcome.removedBackups);
    for (const r of await listDrillReports(storage, plan.job, opts.signal))
      if (removed.has(r.backupId)) objects.push(r.key);
  }
  // Every manifest goes before any artifact, so no manifest ever names a missing object.
  await deleteObjects(storage, [...objects, ...plan.orphans], outcome, opts.signal);
  // An intent goes after its keys (one Object Lock kept stays named, for a later prune).
  const kept = new Set(outcome.retained.map((r) => r.key));
  const done = plan.intents.filter((i) => !i.keys.some((k) => kept.has(k)));
  // Before the intents go, so that a prune interrupted here tries again next time.
  await storage.removeEmptyFolders?.(done.flatMap((i) => i.folders));
  if (done.length)
    await deleteObjects(
      storage,
      done.map((i) => i.key),
      outcome,
      opts.signal,
    );
  // Under the lock, after the backups went: no backup of the job can start using a blob meanwhile.
  const blobs = await sweepJobBlobs(storage, plan.job, {
    now: opts.now ?? new Date(),
    graceMs: opts.graceMs ?? DEFAULT_GRACE_MS,
    keys: opts.keys,
    signal: opts.signal,
  });
  if (blobs) outcome.blobs = blobs;
  if (storage.cleanupIncomplete) {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.graceMs ?? DEFAULT_GRACE_MS));
    outcome.removedIncomplete.push(...(await storage.cleanupIncomplete(cutoff, { signal: opts.signal })));
  }
  return outcome;
}
