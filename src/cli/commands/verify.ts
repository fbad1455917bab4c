/** `lifeboat verify [ID|--all] [--job JOB]`: re-reads stored bytes and names every bad object. */
import { findBackup, listBackups } from '../../catalog/catalog.js';
import type { Manifest } from '../../catalog/manifest.js';
import { verifyBackup } from '../../core/verify.js';
import { LifeboatError } from '../../core/errors.js';
import type { Context } from '../context.js';
import { progressReporter } from '../progress.js';

export async function verifyCommand(
  ctx: Context,
  ref: string | undefined,
  opts: { all?: boolean; job?: string; from?: string },
  signal: AbortSignal,
): Promise<number> {
  if (ref && opts.all) throw new LifeboatError('usage', 'verify: give an ID or --all, not both');
  const { storage } = await ctx.readStorage(opts.from, opts.job);
  const listing = opts.all ? await listBackups(storage, opts.job, signal) : undefined;
  const manifests: Manifest[] = listing
    ? listing.manifests
    : [await findBackup(storage, ref ?? 'latest', opts.job, signal)];
  const progress = progressReporter(ctx.output, 'verify');
  const results: Array<{
    job: string;
    id: string;
    ok: boolean;
    problems: Array<{ key: string; problem: string; detail: string }>;
  }> = [];
  let bad = 0;
  // An unreadable or invalid manifest (e.g. one listing no artifacts) is not a good backup: it fails.
  for (const u of listing?.unreadable ?? []) {
    ctx.output.log('error', `verify ${u.job} ${u.id}: invalid manifest: ${u.key} (${u.error})`);
    bad++;
    results.push({
      job: u.job,
      id: u.id,
      ok: false,
      problems: [{ key: u.key, problem: 'manifest', detail: u.error }],
    });
  }
  for (const m of manifests) {
    const problems = await verifyBackup(storage, m, { signal, onBytes: progress });
    ctx.output.clearProgress();
    for (const p of problems)
      ctx.output.log(
        'error',
        `verify ${m.job} ${m.id}: ${p.problem === 'sha256' || p.problem === 'size' ? 'sha256 mismatch' : p.problem}: ${p.key} (${p.detail})`,
      );
    if (problems.length === 0)
      ctx.output.info(
        `verify ${m.job} ${m.id}: sha256 OK (${m.artifacts.length} artifact(s))${m.partial ? `; partial backup: ${(m.missing ?? []).map((x) => x.database).join(', ') || 'some databases'} not backed up` : ''}`,
      );
    bad += problems.length ? 1 : 0;
    results.push({ job: m.job, id: m.id, ok: problems.length === 0, problems });
  }
  ctx.output.result(
    results.map(
      (r) => `${r.job}\t${r.id}\t${r.ok ? 'OK' : `BAD\t${r.problems.map((p) => p.key).join(' ')}`}`,
    ),
    { storage: storage.location, backups: results },
  );
  if (bad) {
    const keys = results.flatMap((r) => r.problems.map((p) => p.key));
    throw new LifeboatError('integrity', `verify: ${bad} backup(s) failed: ${keys.join(', ')}`, {
      hint: 'do not restore from these; run a new backup and check the storage',
    });
  }
  return 0;
}
