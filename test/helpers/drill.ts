/**
 * Test helpers for restore drills: what scratch clusters left behind (temp dirs, server processes),
 * tampering with a stored backup behind Lifeboat's back, and reading drill reports from a storage.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { open, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { DrillReport } from '../../src/catalog/drill-report.js';
import { filesUnder } from './lifeboat.js';

/**
 * Scratch clusters of drills live in lifeboat-pg-drill-{pid}-* temp dirs, {pid} being the drilling
 * process (src/drill/scratch-local.ts). Tests of other files may drill at the same time, so only
 * traces whose owner has exited count as left behind.
 */
const SCRATCH_OWNER = /lifeboat-pg-drill-(\d+)-/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const ownerOf = (text: string) => {
  const owner = SCRATCH_OWNER.exec(text)?.[1];
  return owner === undefined ? undefined : Number(owner);
};

/**
 * Scratch cluster traces whose owner passes `which`: temp dirs (data, socket, log) and processes
 * whose command line or working directory points into one (the postmaster chdirs into its data dir,
 * and its children inherit that; a deleted dir still shows in /proc as "… (deleted)").
 */
export async function scratchTracesOf(which: (owner: number) => boolean): Promise<Set<string>> {
  const match = (text: string) => {
    const owner = ownerOf(text);
    return owner !== undefined && which(owner);
  };
  const traces = new Set<string>();
  for (const name of await readdir(os.tmpdir())) {
    if (match(name)) traces.add(`dir ${path.join(os.tmpdir(), name)}`);
  }
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
      .replace(/\0/g, ' ')
      .trim();
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (match(cmdline) || match(cwd)) traces.add(`process ${pid} (${cmdline || '?'}) in ${cwd || '?'}`);
  }
  return traces;
}

/** What exited drills left of their scratch clusters. */
export function scratchTraces(): Promise<Set<string>> {
  return scratchTracesOf((owner) => !alive(owner));
}

/** Traces that were not there in `baseline` (leftovers of an earlier, crashed run are not this run's). */
export async function newScratchTraces(baseline: Set<string>): Promise<string[]> {
  return [...(await scratchTraces())].filter((t) => !baseline.has(t));
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function readManifestFile(storageDir: string, job: string, id: string): Promise<Manifest> {
  return JSON.parse(
    await readFile(path.join(storageDir, '.lifeboat', job, `${id}.json`), 'utf8'),
  ) as Manifest;
}

/**
 * Rewrites a stored manifest behind Lifeboat's back. The manifest carries no checksum of its own
 * (its artifacts' do), so this is how a test makes the recorded row counts disagree with the dump.
 */
export async function editManifest(
  storageDir: string,
  job: string,
  id: string,
  edit: (m: Manifest) => void,
): Promise<void> {
  const manifest = await readManifestFile(storageDir, job, id);
  edit(manifest);
  await writeFile(
    path.join(storageDir, '.lifeboat', job, `${id}.json`),
    JSON.stringify(manifest, null, 2) + '\n',
  );
}

/** Flips one bit in the middle of a stored object. */
export async function flipByte(file: string): Promise<void> {
  const size = (await stat(file)).size;
  const fh = await open(file, 'r+');
  try {
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, Math.floor(size / 2));
    buf[0] = buf[0]! ^ 0x01;
    await fh.write(buf, 0, 1, Math.floor(size / 2));
  } finally {
    await fh.close();
  }
}

/**
 * The test hook for "a dump that cannot restore": replaces an artifact with `sql` compressed with
 * zstd, and rewrites its sidecar and the manifest's size and sha256 to match, so every checksum
 * passes and only the restore itself can notice.
 */
export async function replaceWithValidGarbage(
  storageDir: string,
  job: string,
  id: string,
  key: string,
  sql: string,
): Promise<void> {
  const bytes = execFileSync('zstd', ['-q', '-c'], { input: sql });
  await writeFile(path.join(storageDir, key), bytes);
  await writeFile(path.join(storageDir, `${key}.sha256`), `${sha256(bytes)}  ${path.posix.basename(key)}\n`);
  const manifestFile = path.join(storageDir, '.lifeboat', job, `${id}.json`);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
  const artifact = manifest.artifacts.find((a) => a.key === key)!;
  artifact.size = bytes.length;
  artifact.sha256 = sha256(bytes);
  delete artifact.raw;
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
}

/** Every drill report in a local storage directory, oldest first. */
export async function drillReports(storageDir: string): Promise<Array<{ key: string; report: DrillReport }>> {
  const keys = (await filesUnder(storageDir)).filter((f) => /^\.lifeboat\/.*\.drill-.*\.json$/.test(f));
  const out = [];
  for (const key of keys.sort((a, b) => a.split('.drill-')[1]!.localeCompare(b.split('.drill-')[1]!)))
    out.push({ key, report: JSON.parse(await readFile(path.join(storageDir, key), 'utf8')) as DrillReport });
  return out;
}
