/**
 * `npm test`: runs the test files under node:test, with one S3 server for the whole run.
 *
 *   node --import tsx scripts/run-tests.ts [test files…]     (default: test/*.test.ts)
 *
 * When any selected file is an S3 test (test/s3-*.test.ts) and LIFEBOAT_S3_ENDPOINT is not set, it
 * starts a Ceph radosgw (scripts/ceph-rgw/start.sh, data in RAM), passes it to the tests through
 * LIFEBOAT_S3_* variables, and stops it afterwards — also on Ctrl-C. If it cannot start, the run
 * fails: the S3 tests are never skipped.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
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
process.exit(code);
