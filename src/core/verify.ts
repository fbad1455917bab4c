/**
 * Re-reads a backup's stored bytes and checks them against its manifest: every artifact exists,
 * has the recorded size and SHA-256, and its `.sha256` sidecar agrees. Returns every problem found
 * (it does not stop at the first), so an operator sees all bad objects at once.
 */
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Manifest } from '../catalog/manifest.js';
import { authenticatingDecoders, decodingChain, startDecoders, startIdentityCheck } from '../codecs/chain.js';
import type { SourceRestoreOptions } from '../sources/kind.js';
import { readText, type Storage } from '../storages/storage.js';
import { isLifeboatError, LifeboatError } from '../util/errors.js';
import { hashStream } from '../util/hash-tap.js';
import { fileChunks } from '../util/file-chunks.js';

export interface ObjectProblem {
  key: string;
  problem: 'missing' | 'size' | 'sha256' | 'sidecar';
  detail: string;
}

/** A process that reads a copy of an artifact's bytes as they are hashed, and fails on bad ones. */
export interface ByteCheck {
  stdin: Writable | null;
  stages: Array<Promise<void>>;
}

export interface VerifyHooks {
  signal?: AbortSignal;
  /**
   * Also feeds every artifact to this check (age authenticating the ciphertext); its error is
   * thrown. `file`: the artifact is a local file, which the check may read itself (then its
   * `stdin` is null and it runs alongside the hash instead of being fed by it).
   */
  check?: (key: string, file?: string) => ByteCheck;
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
    // A local file is hashed through one reused buffer (util/file-chunks.ts): a fifth of the CPU.
    const local = storage.localPath?.(artifact.key);
    const stream = local
      ? await fileChunks(local, hooks.signal)
      : await storage.get(artifact.key, { signal: hooks.signal });
    const check = hooks.check?.(artifact.key, local);
    let got: { size: number; sha256: string };
    try {
      got = await hashStream(check?.stdin ? teeInto(stream, check.stdin) : stream, (n) =>
        hooks.onBytes?.(artifact.key, n),
      );
    } catch (err) {
      check?.stdin?.destroy();
      if (check) await Promise.allSettled(check.stages);
      throw err;
    }
    // Bytes that fail their checksum are reported as such; the check only speaks for intact ones.
    const checked = check ? await Promise.allSettled(check.stages) : [];
    const intact = got.size === artifact.size && got.sha256 === artifact.sha256;
    const failed = checked.find((s) => s.status === 'rejected');
    if (intact && failed) throw failed.reason;
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

/**
 * Yields `source` unchanged while writing each chunk to `into` too, then ends it. Each write is
 * waited for before the next chunk is read: the chunks may share one reused buffer.
 */
async function* teeInto(source: AsyncIterable<Uint8Array>, into: Writable): AsyncGenerator<Uint8Array> {
  // A check that stops reading (it failed) reports through its own outcome, not a write error.
  into.on('error', () => {});
  for await (const chunk of source) {
    yield chunk;
    if (!into.destroyed) await new Promise<void>((resolve) => into.write(chunk, () => resolve()));
  }
  into.end();
}

/**
 * Checks every artifact; throws an integrity error naming each bad object. An encrypted backup is
 * also decrypted on the way (output discarded): age authenticates every chunk, so ciphertext
 * altered together with its checksums, or a wrong identity, fails here, before the restore
 * sends a single statement to the target. With a signed manifest (`signed`: its signature was
 * checked in this run) nobody can alter the ciphertext together with its checksums, so only the
 * identity is checked here (on each artifact's header) and the restore decrypts as it streams.
 */
export async function verifyBeforeRestore(
  storage: Storage,
  manifest: Pick<Manifest, 'id' | 'artifacts' | 'compression' | 'encryption'>,
  opts: Pick<SourceRestoreOptions, 'signal' | 'log' | 'onBytes' | 'keys' | 'signed'>,
): Promise<void> {
  const codecs = decodingChain(manifest, opts.keys);
  const authenticating = authenticatingDecoders(codecs);
  const signal = opts.signal ?? new AbortController().signal;
  const check = !authenticating.length
    ? undefined
    : opts.signed
      ? () => startIdentityCheck(authenticating, signal)!
      : // Decrypted by age reading the file itself, alongside the hash, where the bytes are local.
        (_key: string, file?: string) => startDecoders(authenticating, signal, file, true)!;
  const problems: ObjectProblem[] = await verifyBackup(storage, manifest, {
    signal: opts.signal,
    onBytes: opts.onBytes,
    check,
    onObject: (_key, problem) => {
      if (problem) opts.log?.(`sha256 mismatch: ${problem.key} (${problem.detail})`);
    },
  });
  if (problems.length > 0) {
    throw new LifeboatError(
      'integrity',
      `verify backup ${manifest.id}: ${problems.map((p) => `${p.key} (${p.problem})`).join(', ')}`,
      {
        hint: 'nothing was restored; restore an older backup or re-run lifeboat verify for details',
      },
    );
  }
  opts.log?.(
    !authenticating.length
      ? 'sha256 OK'
      : opts.signed
        ? 'sha256 OK, identity OK (signed: decrypted as it is restored)'
        : 'sha256 OK, decrypt OK',
  );
}
