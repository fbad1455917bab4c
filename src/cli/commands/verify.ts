/**
 * `lifeboat verify [ID|--all] [--job JOB]`: re-reads stored bytes and names every bad object. With
 * several storages, every copy is checked: a good copy elsewhere does not excuse a bad one.
 */
import { listBackups, readManifest } from '../../catalog/catalog.js';
import { findAcross } from '../../catalog/copies.js';
import type { Manifest } from '../../catalog/manifest.js';
import { verifyBackup } from '../../core/verify.js';
import { LifeboatError } from '../../core/errors.js';
import type { Storage } from '../../storages/storage.js';
import type { Context } from '../context.js';
import { progressReporter } from '../progress.js';

export async function verifyCommand(
  ctx: Context,
  ref: string | undefined,
  opts: { all?: boolean; job?: string; from?: string },
  signal: AbortSignal,
): Promise<number> {
  if (ref && opts.all) throw new LifeboatError('usage', 'verify: give an ID or --all, not both');
  const { storages } = await ctx.readStorages(opts.from, opts.job);
  const several = storages.length > 1;
  const targets: Array<{ storage: Storage; manifest: Manifest }> = [];
  if (opts.all) {
    for (const storage of storages)
      for (const manifest of (await listBackups(storage, opts.job, signal)).manifests)
        targets.push({ storage, manifest });
  } else {
    const found = await findAcross(storages, ref ?? 'latest', opts.job, signal);
    for (const [i, copy] of found.copies.entries())
      targets.push({
        storage: copy.storage,
        manifest: i === 0 ? found.manifest : await readManifest(copy.storage, copy.entry, signal),
      });
  }
  const progress = progressReporter(ctx.output, 'verify');
  const results = [];
  let bad = 0;
  for (const { storage, manifest: m } of targets) {
    const what = `${m.job} ${m.id}${several ? ` in ${storage.name}` : ''}`;
    const problems = await verifyBackup(storage, m, { signal, onBytes: progress });
    ctx.output.clearProgress();
    for (const p of problems)
      ctx.output.log(
        'error',
        `verify ${what}: ${p.problem === 'sha256' || p.problem === 'size' ? 'sha256 mismatch' : p.problem}: ${p.key} (${p.detail})`,
      );
    if (problems.length === 0)
      ctx.output.info(`verify ${what}: sha256 OK (${m.artifacts.length} artifact(s))`);
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
    const keys = results.flatMap((r) => r.problems.map((p) => (several ? `${r.storage}:${p.key}` : p.key)));
    throw new LifeboatError('integrity', `verify: ${bad} backup(s) failed: ${keys.join(', ')}`, {
      hint: 'do not restore from these; run a new backup and check the storage',
    });
  }
  return 0;
}
