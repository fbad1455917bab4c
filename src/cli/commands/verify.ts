/**
 * `lifeboat verify [ID|--all] [--job JOB] [--deep]`: re-reads stored bytes and names every bad object;
 * `--deep` then reads the content back too (core/verify-deep.ts). With several storages, every copy
 * is checked: a good copy elsewhere does not excuse a bad one.
 */
import { listBackups, readManifest, type UnreadableManifest } from '../../catalog/catalog.js';
import { findAcross } from '../../catalog/copies.js';
import type { Manifest } from '../../catalog/manifest.js';
import { verifyBackup } from '../../core/verify.js';
import { isLifeboatError, LifeboatError } from '../../util/errors.js';
import { checkManifestSignature } from '../../catalog/signature.js';
import { manifestKey } from '../../catalog/layout.js';
import { verifyingKey } from '../../config/signing.js';
import { codecKeysOf } from '../../config/compose.js';
import { verifyContent } from '../../core/verify-deep.js';
import { verifySources } from '../../core/verify-sources.js';
import type { PublicKey } from '../../util/minisign.js';
import type { Storage } from '../../storages/storage.js';
import type { Context } from '../context.js';
import { progressReporter } from '../progress.js';

export async function verifyCommand(
  ctx: Context,
  ref: string | undefined,
  opts: { all?: boolean; job?: string; from?: string; deep?: boolean },
  signal: AbortSignal,
): Promise<number> {
  if (ref && opts.all) throw new LifeboatError('usage', 'verify: give an ID or --all, not both');
  const { storages, config } = await ctx.readStorages(opts.from, opts.job);
  // Once signing is configured, a manifest must be signed by its key to verify.
  const signedBy = config ? await verifyingKey(config, ctx.redactor) : undefined;
  const several = storages.length > 1;
  const targets: Array<{ storage: Storage; manifest: Manifest }> = [];
  const unreadable: Array<UnreadableManifest & { storage: Storage }> = [];
  if (opts.all) {
    for (const storage of storages) {
      const listing = await listBackups(storage, opts.job, signal);
      for (const manifest of listing.manifests) targets.push({ storage, manifest });
      for (const u of listing.unreadable) unreadable.push({ ...u, storage });
    }
  } else {
    const found = await findAcross(storages, ref ?? 'latest', opts.job, signal);
    for (const [i, copy] of found.copies.entries())
      targets.push({
        storage: copy.storage,
        manifest: i === 0 ? found.manifest : await readManifest(copy.storage, copy.entry, signal),
      });
  }
  const progress = progressReporter(ctx.output, 'verify');
  // One run's shared reads (a bucket job's blob listing per storage, blobs already read back).
  const memo = new Map<string, unknown>();
  const results: Array<{
    job: string;
    id: string;
    storage: string;
    ok: boolean;
    problems: Array<{ key: string; problem: string; detail: string }>;
  }> = [];
  let bad = 0;
  // An unreadable or invalid manifest (e.g. one listing no artifacts) is not a good backup: it fails.
  for (const u of unreadable) {
    ctx.output.log(
      'error',
      `verify ${u.job} ${u.id}${several ? ` in ${u.storage.name}` : ''}: invalid manifest: ${u.key} (${u.error})`,
    );
    bad++;
    results.push({
      job: u.job,
      id: u.id,
      storage: u.storage.name,
      ok: false,
      problems: [{ key: u.key, problem: 'manifest', detail: u.error }],
    });
  }
  for (const { storage, manifest: m } of targets) {
    const what = `${m.job} ${m.id}${several ? ` in ${storage.name}` : ''}`;
    const problems: Array<{ key: string; problem: string; detail: string }> = [];
    if (signedBy) {
      const bad = await signatureProblem(storage, m, signedBy, signal);
      if (bad) {
        ctx.output.log('error', `verify ${what}: signature FAILED: ${bad.key} (${bad.detail})`);
        problems.push(bad);
      }
    }
    const objects = await verifyBackup(storage, m, { signal, onBytes: progress });
    ctx.output.clearProgress();
    for (const p of objects)
      ctx.output.log('error', `verify ${what}: ${problemLabel(p.problem)}: ${p.key} (${p.detail})`);
    problems.push(...objects);
    // What the kinds store beside their artifacts (a bucket's blobs), and content read back, only
    // once the stored bytes matched their checksums: a bad object is reported once.
    const proven: string[] = [];
    const keys = codecKeysOf(config, m.job);
    if (problems.length === 0) {
      const kinds = await verifySources(storage, m, { deep: Boolean(opts.deep), keys, memo, signal });
      for (const w of kinds.warnings) ctx.output.warn(`verify ${what}: ${w}`);
      for (const p of kinds.problems)
        ctx.output.log('error', `verify ${what}: ${problemLabel(p.problem)}: ${p.key} (${p.detail})`);
      problems.push(...kinds.problems);
      proven.push(...kinds.proven);
    }
    if (opts.deep && problems.length === 0) {
      const deep = await verifyContent(storage, m, { keys, signal });
      for (const p of deep.problems)
        ctx.output.log('error', `verify ${what}: content FAILED: ${p.key} (${p.detail})`);
      problems.push(...deep.problems);
      proven.push(...deep.proven);
    }
    if (problems.length === 0)
      ctx.output.info(
        `verify ${what}: sha256 OK (${m.artifacts.length} artifact(s))${signedBy ? ', signature OK' : ''}${proven.length ? `; ${proven.join('; ')}` : ''}${m.partial ? `; partial backup: ${(m.missing ?? []).map((x) => x.database).join(', ') || 'some databases'} not backed up` : ''}`,
      );
    bad += problems.length ? 1 : 0;
    results.push({ job: m.job, id: m.id, storage: storage.name, ok: problems.length === 0, problems });
  }
  ctx.output.result(
    results.map(
      (r) =>
        `${r.job}\t${r.id}\t${several ? `${r.storage}\t` : ''}${r.ok ? 'OK' : `BAD\t${r.problems.map((p) => p.key).join(' ')}`}`,
    ),
    { storage: storages[0]!.location, backups: results },
  );
  if (bad) {
    const keys = results.flatMap((r) =>
      r.problems.map(
        (p) =>
          `${several ? `${r.storage}:` : ''}${p.key}${p.problem === 'signature' ? ' (signature FAILED)' : p.problem === 'content' ? ' (content FAILED)' : ''}`,
      ),
    );
    throw new LifeboatError('integrity', `verify: ${bad} backup(s) failed: ${keys.join(', ')}`, {
      hint: 'do not restore from these; run a new backup and check the storage',
    });
  }
  return 0;
}

/** How a bad object is named on its line: the SPEC's `sha256 mismatch` marker for wrong bytes. */
function problemLabel(problem: string): string {
  if (problem === 'sha256' || problem === 'size') return 'sha256 mismatch';
  return problem === 'content' ? 'content FAILED' : problem;
}

/** Why the manifest's signature does not hold, or undefined when it does. */
async function signatureProblem(
  storage: Storage,
  m: Manifest,
  key: PublicKey,
  signal: AbortSignal,
): Promise<{ key: string; problem: 'signature'; detail: string } | undefined> {
  try {
    await checkManifestSignature(storage, m, key, signal);
    return undefined;
  } catch (err) {
    if (!isLifeboatError(err, 'integrity')) throw err;
    const detail = err.message.replace(/^.*?signature FAILED: /, '');
    return { key: manifestKey(m.job, m.id), problem: 'signature', detail };
  }
}
