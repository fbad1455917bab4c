/**
 * `lifeboat list [JOB] [--from STORAGE|DIR|s3://…]`: committed backups, read from the storages
 * themselves. With several storages (a job writing to each), every backup is listed once, with the
 * storages that hold it.
 */
import { latestDrillReports } from '../../catalog/catalog.js';
import { listAcross } from '../../catalog/copies.js';
import {
  backupDatabases,
  firstSourceField,
  isPartial,
  sourceSummaries,
  totalSize,
} from '../../catalog/manifest.js';
import { drillSummary, type DrillReport } from '../../catalog/drill-report.js';
import type { Context } from '../context.js';
import { formatBytes, formatDuration } from '../progress.js';

export async function listCommand(
  ctx: Context,
  job: string | undefined,
  opts: { from?: string },
  signal: AbortSignal,
): Promise<number> {
  const { storages } = await ctx.readStorages(opts.from, opts.from ? undefined : job);
  const { backups, unreadable } = await listAcross(storages, job, signal);
  const several = storages.length > 1;
  for (const u of unreadable)
    ctx.output.warn(`list: skipping ${u.key}${several ? ` in ${u.storage.name}` : ''}: ${u.error}`);
  const now = Date.now();
  // A drill's report sits beside the copy it drilled: the newest one of any storage counts.
  const drills = new Map<string, DrillReport>();
  for (const storage of storages) {
    for (const [k, report] of await latestDrillReports(storage, job, signal)) {
      const seen = drills.get(k);
      if (!seen || Date.parse(seen.startedAt) < Date.parse(report.startedAt)) drills.set(k, report);
    }
  }
  const rows = backups.map(({ manifest: m, copies }) => ({
    job: m.job,
    id: m.id,
    startedAt: m.startedAt,
    ageSeconds: Math.round((now - Date.parse(m.finishedAt)) / 1000),
    size: totalSize(m),
    durationMs: m.durationMs,
    // The first source's mode and server version, as before backups had several; `sources` has all.
    mode: firstSourceField(m, 'mode'),
    databases: backupDatabases(m),
    sources: sourceSummaries(m),
    // A partial backup misses databases that were dropped during its run: never a good backup.
    ...(isPartial(m) ? { partial: true, missing: (m.missing ?? []).map((x) => x.database) } : {}),
    serverVersion: firstSourceField(m, 'serverVersion'),
    storages: copies.map((c) => c.storage.name),
    artifacts: m.artifacts.map((a) => ({ key: a.key, size: a.size, sha256: a.sha256 })),
    lastDrill: drills.has(`${m.job}/${m.id}`) ? drillSummary(drills.get(`${m.job}/${m.id}`)!, now) : null,
  }));
  const where = storages.map((s) => s.location).join(', ');
  const human = rows.length
    ? [
        [
          'JOB',
          'ID',
          'AGE',
          'SIZE',
          'DURATION',
          'DATABASES',
          ...(several ? ['STORAGES'] : []),
          'LAST DRILL',
        ].join('\t'),
        ...rows.map((r) =>
          [
            r.job,
            r.id,
            formatDuration(r.ageSeconds * 1000),
            formatBytes(r.size),
            formatDuration(r.durationMs),
            r.databases.join(',') + (r.partial ? ` (PARTIAL, missing: ${(r.missing ?? []).join(',')})` : ''),
            ...(several ? [r.storages.join(',')] : []),
            r.lastDrill ? `${r.lastDrill.outcome} ${formatDuration(r.lastDrill.ageSeconds * 1000)} ago` : '-',
          ].join('\t'),
        ),
      ]
    : [`no committed backups${job ? ` of ${job}` : ''} in ${where}`];
  ctx.output.result(human, {
    storage: storages[0]!.location,
    storages: storages.map((s) => ({ name: s.name, location: s.location })),
    backups: rows,
  });
  return 0;
}
