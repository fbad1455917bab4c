/**
 * `npm test`: runs the test files under node:test, with one S3 server for the whole run.
 *
 *   node --import tsx scripts/run-tests.ts [test files…]     (default: test/*.test.ts)
 *
 * When any selected file is an S3 test (test/s3-*.test.ts) and LIFEBOAT_S3_ENDPOINT is not set, it
 * starts a Ceph radosgw (scripts/ceph-rgw/start.sh, data in RAM), passes it to the tests through
 * LIFEBOAT_S3_* variables, and stops it afterwards — also on Ctrl-C. If it cannot start, the run
 * fails: the S3 tests are never skipped.
 *
 * The tests run with TMPDIR set to a fresh directory of this run, so every throwaway cluster they
 * (or the CLI they start) create lives there. Afterwards the run fails if any such cluster is
 * left — a dir or a live server process — whatever test left it; the leftovers are listed and
 * stopped. Other runs on the same machine (other checkouts) have their own directory and are
 * never looked at. A sibling dir holds the clusters' initdb templates for the run (one initdb per
 * PostgreSQL installation instead of one per cluster), removed afterwards. Both dirs carry the
 * run's pid, so a later run removes those of a run that was killed (and stops its clusters).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TEMPLATES_ENV } from '../src/sources/postgres/local-cluster-template.js';
import { isAlive } from '../src/sources/postgres/local-cluster-process.js';
import { reapOrphanedClusters } from '../src/sources/postgres/local-cluster-orphans.js';
import { clusterTraces } from '../test/helpers/cluster-traces.js';
import { serverEnv, serverFromEnv, startCephRgw } from '../test/helpers/s3-server.js';

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
if (files.length === 0) {
  files.push(
    ...(await readdir('test'))
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => `test/${f}`),
  );
}

let stop: (() => Promise<void>) | undefined;
const env = { ...process.env };
if (!serverFromEnv() && files.some((f) => /(^|\/)s3-[^/]*\.test\.ts$/.test(f))) {
  const t0 = Date.now();
  const ceph = await startCephRgw();
  stop = ceph.stop;
  Object.assign(env, serverEnv(ceph.server));
  console.error(
    `run-tests: S3 server (Ceph radosgw) at ${ceph.server.endpoint}, up in ${Date.now() - t0} ms`,
  );
}

await sweepDeadRuns();

// Short: a cluster's Unix socket path (TMPDIR/lifeboat-pg-…/sock/.s.PGSQL.N) must fit in 107 bytes.
const runTmp = await mkdtemp(path.join(os.tmpdir(), `lb-run-${process.pid}-`));
await chmod(runTmp, 0o755); // the postgres user must reach the clusters' dirs
env.TMPDIR = runTmp;
// One initdb per PostgreSQL installation for the whole run: every cluster after the first, in the
// tests and in the CLI they start, copies that one (src/sources/postgres/local-cluster-template.ts).
// Beside TMPDIR, not in it, so tests that look at their temp dir never see it.
const pgTemplates = await mkdtemp(path.join(os.tmpdir(), `lb-pgtpl-${process.pid}-`));
await chmod(pgTemplates, 0o755);
env[TEMPLATES_ENV] = pgTemplates;

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files],
  { stdio: 'inherit', env },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
const code = await new Promise<number>((resolve) =>
  child.on('close', (c, s) => resolve(c ?? (s ? 128 + 15 : 1))),
);
await stop?.();
await rm(pgTemplates, { recursive: true, force: true }).catch(() => undefined);
process.exit(Math.max(code, await leftClusters()));

/**
 * Removes what a killed run (SIGKILL, a cut-off CI job) left in the temp dir: its run dir, with the
 * clusters still running in it (stopped as orphans, since their owner is gone), and its template
 * dir. The dirs carry the run's pid; a live run's are never touched.
 */
async function sweepDeadRuns(): Promise<void> {
  const tmp = os.tmpdir();
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const owner = /^lb-(run|pgtpl)-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
    if (!owner || (await isAlive(Number(owner[2])))) continue;
    const dir = path.join(tmp, name);
    if (owner[1] === 'run') {
      await reapOrphanedClusters(dir);
      // A cluster the reaper left (its test process outlived the run) keeps the dir it lives in.
      if ((await readdir(dir).catch(() => [])).some((f) => f.startsWith('lifeboat-pg-'))) continue;
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    console.error(`run-tests: removed ${dir}, left by a run that is gone`);
  }
}

/** 1 (and a list on stderr) when a throwaway cluster of this run outlived its test; stops them. */
async function leftClusters(): Promise<number> {
  const left = await clusterTraces({ root: runTmp });
  for (const line of left) console.error(`run-tests: a throwaway cluster outlived its test: ${line}`);
  for (const line of left) {
    const pid = /^process (\d+)/.exec(line)?.[1];
    if (pid) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await rm(runTmp, { recursive: true, force: true }).catch(() => undefined);
  return left.length ? 1 : 0;
}
