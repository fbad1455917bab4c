/** `lifeboat list [JOB] [--from STORAGE|DIR|s3://…]`: committed backups, read from the storage itself. */
import { latestDrillReports, listBackups } from '../../catalog/catalog.js';
import { totalSize } from '../../catalog/manifest.js';
import { drillSummary } from '../../drill/report.js';
import type { Context } from '../context.js';
import { formatBytes, formatDuration } from '../progress.js';

export async function listCommand(
  ctx: Context,
  job: string | undefined,
  opts: { from?: string },
  signal: AbortSignal,
): Promise<number> {
  const { storage } = await ctx.readStorage(opts.from, opts.from ? undefined : job);
  const { manifests, unreadable } = await listBackups(storage, job, signal);
  for (const u of unreadable) ctx.output.warn(`list: skipping ${u.key}: ${u.error}`);
  const now = Date.now();
  const drills = await latestDrillReports(storage, job, signal);
  const rows = manifests.map((m) => ({
    job: m.job,
    id: m.id,
    startedAt: m.startedAt,
    ageSeconds: Math.round((now - Date.parse(m.finishedAt)) / 1000),
    size: totalSize(m),
    durationMs: m.durationMs,
    mode: m.source.mode,
    databases: m.source.databases,
    serverVersion: m.source.serverVersion,
    artifacts: m.artifacts.map((a) => ({ key: a.key, size: a.size, sha256: a.sha256 })),
    lastDrill: drills.has(`${m.job}/${m.id}`) ? drillSummary(drills.get(`${m.job}/${m.id}`)!, now) : null,
  }));
  const human = rows.length
    ? [
        ['JOB', 'ID', 'AGE', 'SIZE', 'DURATION', 'DATABASES', 'LAST DRILL'].join('\t'),
        ...rows.map((r) =>
          [
            r.job,
            r.id,
            formatDuration(r.ageSeconds * 1000),
            formatBytes(r.size),
            formatDuration(r.durationMs),
            r.databases.join(','),
            r.lastDrill ? `${r.lastDrill.outcome} ${formatDuration(r.lastDrill.ageSeconds * 1000)} ago` : '-',
          ].join('\t'),
        ),
      ]
    : [`no committed backups${job ? ` of ${job}` : ''} in ${storage.location}`];
  ctx.output.result(human, { storage: storage.location, backups: rows });
  return 0;
}
