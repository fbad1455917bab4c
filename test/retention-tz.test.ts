/**
 * Re-runs test/retention.test.ts in a child process under a non-UTC TZ: every table must give the
 * same result, because bucket keys come from the policy's zone, never the process's. A file of its
 * own so that mutation testing (stryker.config.mjs) can run the tables in-process only: the child
 * runs the same tests again, and no mutation operator can make retention read the process's TZ.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const CHILD_TZ = 'America/Sao_Paulo';

test(`every retention table gives the same result under TZ=${CHILD_TZ}`, () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/retention.test.ts'],
    {
      cwd: root,
      // NODE_TEST_CONTEXT is set for files run by `node --test` and would make the child skip its run.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, TZ: CHILD_TZ, LIFEBOAT_RETENTION_TZ_CHILD: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  const output = `${child.stdout}\n${child.stderr}`;
  assert.equal(child.status, 0, output);
  assert.match(child.stdout, /^# fail 0$/m, output);
  // Nothing skipped: the TZ check ran (and passed), and so did every table and check.
  assert.match(child.stdout, /^# skipped 0$/m, output);
  assert.match(child.stdout, /^\s*ok \d+ - the child runs under a non-UTC TZ$/m, output);
  const passed = Number(/^# pass (\d+)$/m.exec(child.stdout)?.[1]);
  assert.ok(passed >= 60, output);
});
