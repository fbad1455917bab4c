/**
 * Unit tests for child processes as pipeline stages (src/util/child.ts): every way a child can
 * fail rejects `done` with a one-line LifeboatError, and aborting the signal kills the child.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { LifeboatError } from '../src/util/errors.js';
import { readFile } from 'node:fs/promises';
import { startChild, type ChildOptions } from '../src/util/child.js';

function sh(script: string, opts: Partial<ChildOptions> = {}) {
  return startChild('sh', ['-c', script], { label: 'test child', stdout: 'ignore', ...opts });
}

/** Awaits `done`, expecting a LifeboatError; returns it. */
async function failure(done: Promise<void>): Promise<LifeboatError> {
  try {
    await done;
  } catch (err) {
    assert.ok(err instanceof LifeboatError, `expected a LifeboatError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `message should be one line: ${JSON.stringify(err.message)}`);
    return err;
  }
  assert.fail('expected done to reject');
}

describe('startChild', () => {
  test('a child that exits 0 resolves, and its stdout is readable', async () => {
    const stage = startChild('sh', ['-c', 'printf "hello\\n"; echo progress >&2; exit 0'], { label: 'echo' });
    let out = '';
    for await (const chunk of stage.stdout!) out += String(chunk);
    await stage.done;
    assert.equal(out, 'hello\n');
    assert.deepEqual(stage.stderrTail(), ['progress']);
  });

  test('a non-zero exit rejects with the code and the last stderr line', async () => {
    const err = await failure(sh('echo "starting up" >&2; echo "could not open file x" >&2; exit 3').done);
    assert.equal(err.code, 'failed');
    assert.match(err.message, /^run test child: /);
    assert.match(err.message, /exited with code 3/);
    assert.match(err.message, /could not open file x$/);
  });

  test('the line that names the error wins over context printed after it', async () => {
    const err = await failure(
      sh(
        'echo "pg_dump: error: query failed: boom" >&2; echo "pg_dump: detail: Command was: SELECT 1" >&2; exit 1',
      ).done,
    );
    assert.match(err.message, /exited with code 1: pg_dump: error: query failed: boom$/);
  });

  test('a stderr line without a trailing newline still counts', async () => {
    const err = await failure(sh('printf "last words" >&2; exit 5').done);
    assert.match(err.message, /exited with code 5: last words$/);
  });

  test('a fatal stderr line rejects even when the child exits 0', async () => {
    const lines: string[] = [];
    const err = await failure(
      sh('echo "notice: fine" >&2; echo "FATAL: role does not exist" >&2; echo "more" >&2; exit 0', {
        fatal: /^FATAL:/,
        onStderr: (line) => lines.push(line),
      }).done,
    );
    assert.equal(err.code, 'failed');
    assert.match(err.message, /reported an error: FATAL: role does not exist$/);
    assert.deepEqual(lines, ['notice: fine', 'FATAL: role does not exist', 'more']);
  });

  test('stderr that does not match fatal does not fail an exit 0', async () => {
    await sh('echo "warning: something" >&2; exit 0', { fatal: /^FATAL:/ }).done;
  });

  test('death by a signal rejects with the signal name', async () => {
    const err = await failure(sh('echo "about to die" >&2; kill -TERM $$; sleep 5').done);
    assert.equal(err.code, 'failed');
    assert.match(err.message, /killed by SIGTERM/);
  });

  test('aborting the signal kills the child quickly and rejects with code aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const stage = startChild('sleep', ['30'], {
      label: 'sleep',
      signal: controller.signal,
      stdout: 'ignore',
    });
    setTimeout(() => controller.abort(), 100);
    const err = await failure(stage.done);
    const elapsed = Date.now() - started;
    assert.equal(err.code, 'aborted');
    assert.match(err.message, /^run sleep: stopped \(killed by SIGTERM\)$/);
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    assert.equal(stage.child.signalCode, 'SIGTERM');
  });

  test('aborting a shell that runs sleep also stops it quickly', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const stage = sh('exec sleep 30', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const err = await failure(stage.done);
    assert.equal(err.code, 'aborted');
    assert.ok(Date.now() - started < 5000);
  });

  // pg_dumpall runs pg_dump through system(), i.e. as a grandchild: aborting must stop those too,
  // or `done` waits until they finish on their own (they hold stdout and stderr open).
  test('aborting stops a sleep 30 started by the shell (a grandchild) quickly', async () => {
    const controller = new AbortController();
    let sleepPid: number | undefined;
    let sawPid!: () => void;
    const pidSeen = new Promise<void>((resolve) => (sawPid = resolve));
    const stage = sh('sleep 30 & echo "pid $!" >&2; wait', {
      ownGroup: true,
      signal: controller.signal,
      onStderr: (line) => {
        const m = /^pid (\d+)$/.exec(line);
        if (m) {
          sleepPid = Number(m[1]);
          sawPid();
        }
      },
    });
    try {
      await pidSeen;
      const started = Date.now();
      controller.abort();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        stage.done.then(
          () => 'resolved',
          (err: unknown) => err,
        ),
        new Promise((resolve) => (timer = setTimeout(() => resolve('still running after 5 s'), 5000))),
      ]);
      clearTimeout(timer);
      assert.ok(outcome instanceof LifeboatError, `done: ${String(outcome)}`);
      assert.equal(outcome.code, 'aborted');
      assert.ok(Date.now() - started < 5000);
    } finally {
      // Only the sleep this test started, by its pid.
      if (sleepPid) {
        try {
          process.kill(sleepPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await stage.done.catch(() => {});
    }
  });

  // Each new session is its own CPU scheduling group on Linux (autogroup): a client there would
  // compete as a whole peer with a local PostgreSQL server instead of sharing Lifeboat's share.
  test("children stay in Lifeboat's session unless they need a group of their own", async () => {
    const sessionOf = async (pid: number) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    };
    const mine = await sessionOf(process.pid);
    for (const ownGroup of [false, true]) {
      const controller = new AbortController();
      const stage = startChild('sleep', ['30'], {
        label: 'sleep',
        signal: controller.signal,
        stdout: 'ignore',
        ownGroup,
      });
      const session = await sessionOf(stage.child.pid!);
      controller.abort();
      await stage.done.catch(() => {});
      if (ownGroup) assert.equal(session, stage.child.pid, 'leads a session of its own');
      else assert.equal(session, mine, "in Lifeboat's session");
    }
  });

  test('a signal that is already aborted stops the child at once', async () => {
    const controller = new AbortController();
    controller.abort();
    const started = Date.now();
    const stage = startChild('sleep', ['3'], { label: 'sleep', signal: controller.signal, stdout: 'ignore' });
    const err = await failure(stage.done);
    assert.equal(err.code, 'aborted');
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  test('a missing command rejects with "not found"', async () => {
    const stage = startChild('lifeboat-no-such-command-xyz', [], { label: 'missing tool' });
    const err = await failure(stage.done);
    assert.equal(err.code, 'failed');
    assert.equal(err.message, 'run missing tool: lifeboat-no-such-command-xyz not found');
  });

  test('stderrTail keeps only the last 20 non-empty lines', async () => {
    const stage = sh('i=1; while [ $i -le 30 ]; do echo "line $i" >&2; echo >&2; i=$((i+1)); done; exit 0');
    await stage.done;
    const tail = stage.stderrTail();
    assert.equal(tail.length, 20);
    assert.equal(tail[0], 'line 11');
    assert.equal(tail.at(-1), 'line 30');
  });
});
