/**
 * Re-reads a backup's stored bytes and checks them against its manifest: every artifact exists,
 * has the recorded size and SHA-256, and its `.sha256` sidecar agrees. Returns every problem found
 * (it does not stop at the first), so an operator sees all bad objects at once.
 */
import path from 'node:path';
import type { Manifest } from '../catalog/manifest.js';
import { readText, type Storage } from '../storages/storage.js';
import { isLifeboatError } from '../util/errors.js';
import { hashStream } from '../util/hash-tap.js';

export interface ObjectProblem {
  key: string;
  problem: 'missing' | 'size' | 'sha256' | 'sidecar';
  detail: string;
}

export interface VerifyHooks {
  signal?: AbortSignal;
  onBytes?: (key: string, read: number) => void;
  onObject?: (key: string, problem?: ObjectProblem) => void;
}

async function checkSidecar(
  storage: Storage,
  key: string,
  sha256: string,
  signal?: AbortSignal,
): Promise<ObjectProblem | undefined> {
  const sidecarKey = `${key}.sha256`;
  let text: string;
  try {
    text = await readText(storage, sidecarKey, { signal });
  } catch (err) {
    if (isLifeboatError(err, 'not-found'))
      return { key: sidecarKey, problem: 'missing', detail: 'checksum file is missing' };
    throw err;
  }
  const expected = `${sha256}  ${path.posix.basename(key)}`;
  if (text.trim() !== expected)
    return { key: sidecarKey, problem: 'sidecar', detail: `expected "${expected}"` };
  return undefined;
}

export async function verifyBackup(
  storage: Storage,
  manifest: Pick<Manifest, 'artifacts'>,
  hooks: VerifyHooks = {},
): Promise<ObjectProblem[]> {
  const problems: ObjectProblem[] = [];
  const report = (key: string, problem?: ObjectProblem) => {
    if (problem) problems.push(problem);
    hooks.onObject?.(key, problem);
  };
  for (const artifact of manifest.artifacts) {
    const info = await storage.stat(artifact.key, { signal: hooks.signal });
    if (!info) {
      report(artifact.key, { key: artifact.key, problem: 'missing', detail: 'object is missing' });
      continue;
    }
    const stream = await storage.get(artifact.key, { signal: hooks.signal });
    const got = await hashStream(stream, (n) => hooks.onBytes?.(artifact.key, n));
    if (got.size !== artifact.size) {
      report(artifact.key, {
        key: artifact.key,
        problem: 'size',
        detail: `size ${got.size}, manifest says ${artifact.size}`,
      });
    } else if (got.sha256 !== artifact.sha256) {
      report(artifact.key, {
        key: artifact.key,
        problem: 'sha256',
        detail: `sha256 ${got.sha256}, manifest says ${artifact.sha256}`,
      });
    } else {
      report(artifact.key);
    }
    const sidecar = await checkSidecar(storage, artifact.key, artifact.sha256, hooks.signal);
    if (sidecar) report(sidecar.key, sidecar);
  }
  return problems;
}
