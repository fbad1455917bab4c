/** `lifeboat status`: one line per job — last backup age and size, last drill, next run. */
import { latestDrillReport, listBackups } from '../../catalog/catalog.js';
import { drillSummary } from '../../catalog/drill-report.js';
import { totalSize } from '../../catalog/manifest.js';
import { buildStorages } from '../../config/compose.js';
import { describeError } from '../errors.js';
import type { Context } from '../context.js';
import { formatBytes, formatDuration } from '../progress.js';
import { nextRunAfter } from '../../util/next-run.js';

export async function statusCommand(ctx: Context, signal: AbortSignal): Promise<number> {
  const config = await ctx.config();
  const storages = buildStorages(config);
  const now = Date.now();
  const rows = [];
  for (const [name, job] of Object.entries(config.jobs)) {
    const storage = storages[job.storages[0]!]!;
    let row: Record<string, unknown> = { job: name, storage: storage.name, lastDrill: null };
    try {
      const { manifests } = await listBackups(storage, name, signal);
      const last = manifests.at(-1);
      row = {
        ...row,
        backups: manifests.length,
        lastBackup: last
          ? {
              id: last.id,
              finishedAt: last.finishedAt,
              ageSeconds: Math.round((now - Date.parse(last.finishedAt)) / 1000),
              size: totalSize(last),
            }
          : null,
      };
      const drill = await latestDrillReport(storage, name, signal);
      row.lastDrill = drill ? drillSummary(drill, now) : null;
    } catch (err) {
      row.error = describeError(err);
    }
    row.nextRun = (job.schedule && nextRunAfter(job.schedule, new Date()))?.toISOString() ?? null;
    rows.push(row);
  }
  ctx.output.result(
    rows.map((r) => {
      const last = r.lastBackup as { id: string; ageSeconds: number; size: number } | null | undefined;
      const backup = r.error
        ? `error: ${r.error}`
        : last
          ? `last ${last.id}, ${formatDuration(last.ageSeconds * 1000)} ago, ${formatBytes(last.size)}`
          : 'no backup yet';
      const drill = r.lastDrill as ReturnType<typeof drillSummary> | null;
      const drillText = drill
        ? `drill: ${drill.outcome} ${formatDuration(drill.ageSeconds * 1000)} ago (${drill.backupId})`
        : 'drill: never';
      return `${r.job}\t${backup}\t${drillText}\tnext: ${r.nextRun ?? 'not scheduled'}`;
    }),
    { jobs: rows },
  );
  return 0;
}
