/**
 * Test helpers for failure scenarios: a table big enough that a dump takes a moment, waiting for a
 * condition, writing a config file, and what a directory holds afterwards.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalCluster } from '../../src/sources/postgres/local-cluster.js';
import { filesUnder } from './lifeboat.js';

/** ~60 bytes of incompressible-ish text per row: 400k rows ≈ 25 MB of dump. */
export async function createBigTable(cluster: LocalCluster, database: string, rows = 400_000): Promise<void> {
  await cluster.psql(
    `create table if not exists big (id bigint primary key, a text, b text);
     insert into big select g, md5(g::text), md5((g * 7)::text) from generate_series(1, ${rows}) g;`,
    { database },
  );
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export async function writeConfig(dir: string, yaml: string): Promise<string> {
  const file = path.join(dir, 'lifeboat.yaml');
  await writeFile(file, yaml);
  return file;
}

const BRIEF_TEMP = /^\.lifeboat-tmp-.*-(lock(-break-[^/]*)?|[0-9TZ-]+\.pending)\.json$/;

/** Files in a storage directory, split into what matters for "nothing half-done". */
export async function storageContents(dir: string) {
  const files = await filesUnder(dir);
  return {
    files,
    manifests: files.filter(
      (f) =>
        f.startsWith('.lifeboat/') &&
        f.endsWith('.json') &&
        !/\/lock(-break-[^/]*)?\.json$/.test(f) &&
        !f.endsWith('.pending.json'),
    ),
    /** Intents of runs that neither committed nor cleaned up (killed). */
    intents: files.filter((f) => f.startsWith('.lifeboat/') && f.endsWith('.pending.json')),
    // Temp files of data (artifacts, manifests): "bytes are flowing". The brief temp files of the job
    // lock and of the run's intent are left out, or a wait for a dump to stream would end before the
    // dump started.
    temp: files.filter(
      (f) => /^\.lifeboat-tmp-/.test(path.basename(f)) && !BRIEF_TEMP.test(path.basename(f)),
    ),
    artifacts: files.filter(
      (f) => !f.startsWith('.lifeboat/') && !path.basename(f).startsWith('.lifeboat-tmp-'),
    ),
  };
}

/**
 * Waits until the next UTC day when fewer than `marginMs` remain of this one, so that runs a test
 * expects to share a date-only folder do not straddle midnight.
 */
export async function awayFromUtcMidnight(marginMs = 5 * 60_000): Promise<void> {
  const now = Date.now();
  const left = 86_400_000 - (now % 86_400_000);
  if (left < marginMs) await sleep(left + 1000);
}
