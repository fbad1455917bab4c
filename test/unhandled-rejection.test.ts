/**
 * The process-wide safety net (src/cli/unhandled.ts): an unhandled promise rejection is logged as
 * one line naming it a bug, counted, and the process goes on — in a real Node process, since the
 * test runner keeps its own handler in this one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { ROOT } from './helpers/lifeboat.js';

const execFileAsync = promisify(execFile);

const SCRIPT = `
import { installUnhandledRejectionHandler, onUnhandledRejection, unhandledRejections } from './src/cli/unhandled.ts';
let counted = 0;
installUnhandledRejectionHandler((line) => process.stderr.write('error: ' + line.replace('hunter2', '***') + '\\n'));
onUnhandledRejection(() => counted++);
Promise.reject(new Error('run zstd: stopped (killed by SIGPIPE) password hunter2'));
setTimeout(() => {
  process.stdout.write(JSON.stringify({ seen: unhandledRejections(), counted }) + '\\n');
}, 50);
`;

test('an unhandled rejection is logged on one line and counted, and the process goes on', async () => {
  const { stdout, stderr } = await execFileAsync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', SCRIPT],
    { cwd: ROOT, env: { ...process.env, LIFEBOAT_DEBUG: '' } },
  );
  assert.deepEqual(JSON.parse(stdout), { seen: 1, counted: 1 }, 'the process lived on to report');
  assert.equal(
    stderr,
    'error: internal error (a bug in Lifeboat, please report it): unhandled promise rejection: run zstd: stopped (killed by SIGPIPE) password ***\n',
  );
});
