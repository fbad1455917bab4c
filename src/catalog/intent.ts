/**
 * A backup run's intent: `.lifeboat/{job}/{id}.pending.json`, written create-only before the run
 * writes its first artifact, naming every key it will write (artifacts and sidecars). It is how
 * prune knows what Lifeboat wrote: a run that commits writes its manifest, then deletes the intent;
 * a run that fails removes its artifacts, then the intent; a killed run leaves it, and prune later
 * removes the keys it names (if no manifest took them) and then the intent. A file no intent names
 * was not written by Lifeboat (or predates intents) and is never removed as a leftover.
 *
 * The name ends in `.pending.json`, which neither the manifest nor the drill report pattern of
 * catalog.ts matches, and which the job lock's `lock.json`/`lock-break-*.json` never take.
 */
import { hostname } from 'node:os';
import { LifeboatError, oneLine } from '../util/errors.js';
import { putText, readText, type ObjectInfo, type Storage } from '../storages/storage.js';
import { CATALOG_PREFIX, safeSegment } from './layout.js';

export const INTENT_FORMAT = 'lifeboat-intent';

const INTENT_KEY = /^\.lifeboat\/([^/]+)\/([0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?)\.pending\.json$/;

export interface Intent {
  format: typeof INTENT_FORMAT;
  version: 1;
  job: string;
  id: string;
  /** Every key the run may write, artifacts and their `.sha256` sidecars. */
  keys: string[];
  host: string;
  pid: number;
  started: string;
}

export function intentKey(job: string, id: string): string {
  return `${CATALOG_PREFIX}${safeSegment(job)}/${id}.pending.json`;
}

export function newIntent(job: string, id: string, keys: string[], started: Date): Intent {
  return {
    format: INTENT_FORMAT,
    version: 1,
    job,
    id,
    keys,
    host: hostname(),
    pid: process.pid,
    started: started.toISOString(),
  };
}

/** Create-only, like a manifest: an existing intent means another run holds this id. */
export async function writeIntent(storage: Storage, intent: Intent, signal?: AbortSignal): Promise<void> {
  const key = intentKey(intent.job, intent.id);
  if (!storage.capabilities.atomicCreateOnly && (await storage.stat(key, { signal }))) {
    throw new LifeboatError('exists', `write intent ${key}: it already exists in ${storage.name}`);
  }
  await putText(storage, key, JSON.stringify(intent, null, 2) + '\n', { signal });
}

export interface IntentEntry {
  key: string;
  /** From the file name. */
  job: string;
  id: string;
  /** When the storage stored it: before any of the run's artifacts. */
  modified: Date;
  /** Undefined when it could not be read or is not an intent for its file name (then `error`). */
  intent?: Intent;
  error?: string;
}

/** Every intent in the storage (of every job: their keys are Lifeboat's, whoever prunes). */
export async function listIntents(storage: Storage, signal?: AbortSignal): Promise<IntentEntry[]> {
  const found: ObjectInfo[] = [];
  for await (const obj of storage.list(CATALOG_PREFIX, { signal }))
    if (INTENT_KEY.test(obj.key)) found.push(obj);
  const entries: IntentEntry[] = [];
  for (const obj of found.sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const m = INTENT_KEY.exec(obj.key)!;
    const entry: IntentEntry = {
      key: obj.key,
      job: decodeURIComponent(m[1]!),
      id: m[2]!,
      modified: obj.modified,
    };
    try {
      entry.intent = parseIntent(await readText(storage, obj.key, { signal }), entry);
    } catch (err) {
      if (signal?.aborted) throw err;
      entry.error = oneLine(err);
    }
    entries.push(entry);
  }
  return entries;
}

function parseIntent(text: string, at: { key: string; job: string; id: string }): Intent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LifeboatError('integrity', `read intent ${at.key}: not valid JSON`);
  }
  const v = value as Partial<Intent> | null;
  const keysOk =
    Array.isArray(v?.keys) &&
    v.keys.every((k) => typeof k === 'string' && k !== '' && !k.startsWith(CATALOG_PREFIX));
  if (!v || v.format !== INTENT_FORMAT || !keysOk || v.job !== at.job || v.id !== at.id) {
    throw new LifeboatError(
      'integrity',
      `read intent ${at.key}: not a Lifeboat intent for job ${at.job} and id ${at.id}`,
    );
  }
  return v as Intent;
}
