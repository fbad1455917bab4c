/**
 * Preloaded into the lifeboat node process by the bench (`node --import bench/rss-probe.mjs …`).
 * At exit it writes the process's own peak RSS and CPU time to $BENCH_PROBE_FILE. getrusage(SELF)
 * covers this process only: pg_dump, zstd and psql are separate processes and are not counted.
 */
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  process.on('exit', () => {
    const r = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({ maxRssKb: r.maxRSS, userMs: r.userCPUTime / 1000, systemMs: r.systemCPUTime / 1000 }),
    );
  });
}
