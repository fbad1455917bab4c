/**
 * Hooks (SPEC §8): their config in one-line errors; the runner's order, environment, timeouts,
 * output (redacted) and failure rules, with real child processes; then the built CLI: a backup's
 * beforeBackup/afterBackup around it (a failing beforeBackup writes nothing, afterBackup always
 * runs and is told the result), and a restore's beforeRestore/afterRestore with an http step
 * against a real node:http server, and --no-hooks.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { hooksSchema } from '../src/config/hooks.js';
import { parseConfig } from '../src/config/load.js';
import { acquireJobLock } from '../src/core/job-lock.js';
import { runAfterHooks, runBeforeHooks } from '../src/jobs/hooks.js';
import { createLocalStorage } from '../src/storages/local.js';
import { filesUnder, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

const problem = (hooks: unknown) => {
  try {
    parseConfig(
      {
        storages: { d: { type: 'local', path: '/b' } },
        jobs: { app: { source: { type: 'files', paths: ['/x'] }, storages: ['d'], hooks } },
      },
      'lifeboat.yaml',
    );
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

/** A hook step that appends "HOOK job id result" to `file`. */
const recorder = (file: string) => [
  'sh',
  '-c',
  `echo "$LIFEBOAT_HOOK $LIFEBOAT_JOB id=$LIFEBOAT_BACKUP_ID result=$LIFEBOAT_RESULT" >> ${file}`,
];

describe('hooks: config', () => {
  test('one command, one step or a list of steps; timeouts default to 300 s', () => {
    const parsed = hooksSchema.parse({
      beforeBackup: ['kubectl', 'scale', 'deployment/app', '--replicas=0'],
      afterBackup: { run: ['kubectl', 'scale', 'deployment/app', '--replicas=1'], timeoutSeconds: 60 },
      afterRestore: [
        ['kubectl', 'rollout', 'restart', 'deployment/app'],
        { type: 'http', url: 'http://app/healthz' },
      ],
    });
    assert.deepEqual(parsed.beforeBackup, [
      { type: 'command', run: ['kubectl', 'scale', 'deployment/app', '--replicas=0'], timeoutSeconds: 300 },
    ]);
    assert.equal(parsed.afterBackup![0]!.type === 'command' && parsed.afterBackup![0]!.timeoutSeconds, 60);
    assert.deepEqual(
      parsed.afterRestore!.map((s) => s.type),
      ['command', 'http'],
    );
  });

  test('a bad hook is one line naming the field', () => {
    assert.equal(problem({ beforeBackup: [] }), undefined, 'an empty list is no hooks');
    assert.equal(
      problem({ beforeBackup: 'kubectl scale' }),
      'lifeboat.yaml: jobs.app.hooks.beforeBackup[0]: expected a command [program, arg, …], { run: [program, arg, …], timeoutSeconds } or { type: http, url }',
    );
    assert.equal(
      problem({ afterBackup: { run: ['x'], timeoutSeconds: 0 } }),
      'lifeboat.yaml: jobs.app.hooks.afterBackup[0].timeoutSeconds: expected a number of seconds above 0',
    );
    assert.equal(
      problem({ afterBackup: { run: [] } }),
      'lifeboat.yaml: jobs.app.hooks.afterBackup[0].run: expected a command as a list: [program, arg, …]',
    );
    assert.equal(problem({ beforeDrill: ['x'] }), 'lifeboat.yaml: jobs.app.hooks: unknown field beforeDrill');
    assert.equal(
      problem({
        afterRestore: [{ type: 'http', url: 'http://app/healthz', json: { path: 'status', expect: 'ok' } }],
      }),
      'lifeboat.yaml: jobs.app.hooks.afterRestore[0].json.path: "status": a path starts with $ (expected a path like $.status or $.checks[0].state)',
    );
    assert.equal(
      problem({ afterRestore: [{ run: ['x'], timeout: 5 }] }),
      'lifeboat.yaml: jobs.app.hooks.afterRestore[0]: unknown field timeout',
    );
  });
});

describe('hooks: runner', () => {
  test('steps run in order with the job, backup id and result in their environment; output is logged, redacted', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'order.log');
    const lines: string[] = [];
    const hooks = hooksSchema.parse({
      beforeBackup: [recorder(file), ['sh', '-c', 'echo token is s3cr3t-t0ken; echo on stderr >&2']],
      afterBackup: [recorder(file)],
    });
    const run = {
      job: 'app',
      log: (l: string) => lines.push(l),
      redact: (s: string) => s.replaceAll('s3cr3t-t0ken', '***'),
    };
    await runBeforeHooks(hooks, 'beforeBackup', run);
    assert.equal(
      await runAfterHooks(hooks, 'afterBackup', { ...run, backupId: '20260501T023000Z', result: 'success' }),
      undefined,
    );
    assert.deepEqual((await readFile(file, 'utf8')).split('\n'), [
      'beforeBackup app id= result=',
      'afterBackup app id=20260501T023000Z result=success',
      '',
    ]);
    assert.ok(lines.includes('beforeBackup hook 2 (sh): token is ***'), lines.join('\n'));
    assert.ok(lines.includes('beforeBackup hook 2 (sh): on stderr'));
    assert.ok(!lines.join('\n').includes('s3cr3t'));
  });

  test('a failing before step stops the phase and throws; after steps all run and report the first failure', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'order.log');
    const hooks = hooksSchema.parse({
      beforeRestore: [['sh', '-c', 'exit 3'], recorder(file)],
      afterRestore: [['sh', '-c', 'exit 4'], ['/nonexistent/program'], recorder(file)],
    });
    const run = { job: 'app', backupId: 'X', log: () => {} };
    await assert.rejects(runBeforeHooks(hooks, 'beforeRestore', run), {
      message: 'beforeRestore hook 1 (sh) exited with code 3',
    });
    const after = await runAfterHooks(hooks, 'afterRestore', { ...run, result: 'failure' });
    assert.equal(after?.message, 'afterRestore hook 1 (sh) exited with code 4');
    // The before phase stopped at its first step; the after phase ran its third after two failures.
    assert.equal(await readFile(file, 'utf8'), 'afterRestore app id=X result=failure\n');
  });

  test('a step past its timeout is killed with what it started, and fails the phase', async () => {
    const hooks = hooksSchema.parse({
      beforeBackup: { run: ['sh', '-c', 'sleep 30 & sleep 30; echo never'], timeoutSeconds: 1 },
    });
    const lines: string[] = [];
    const t0 = Date.now();
    await assert.rejects(runBeforeHooks(hooks, 'beforeBackup', { job: 'app', log: (l) => lines.push(l) }), {
      message: 'beforeBackup hook 1 (sh) timed out after 1s',
    });
    assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
    assert.ok(!lines.some((l) => l.includes('never')));
  });

  test('an aborted run stops its before step; after steps still run', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'order.log');
    const hooks = hooksSchema.parse({ beforeBackup: [['sleep', '30']], afterBackup: [recorder(file)] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('SIGTERM')), 200);
    await assert.rejects(
      runBeforeHooks(hooks, 'beforeBackup', { job: 'app', log: () => {}, signal: controller.signal }),
      {
        message: 'beforeBackup hook 1 (sleep) was stopped: the run was aborted',
      },
    );
    assert.equal(
      await runAfterHooks(hooks, 'afterBackup', {
        job: 'app',
        log: () => {},
        signal: controller.signal,
        result: 'failure',
      }),
      undefined,
    );
    assert.equal(await readFile(file, 'utf8'), 'afterBackup app id= result=failure\n');
  });
});

async function healthServer(t: { after(fn: () => unknown): void }) {
  const state = { status: 200, body: '{"status":"ok"}', requests: 0 };
  const server = http.createServer((_req, res) => {
    state.requests++;
    res.writeHead(state.status, { 'content-type': 'application/json' }).end(state.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz` };
}

describe('hooks: lifeboat backup and restore', () => {
  test('backup: before, backup, after in order; a failing beforeBackup writes nothing; a failing afterBackup fails a committed run', async (t) => {
    const dir = await tempDir(t);
    const data = path.join(dir, 'data');
    await mkdir(data);
    await writeFile(path.join(data, 'a.txt'), 'a\n');
    const order = path.join(dir, 'order.log');
    const write = (hooks: string) =>
      writeConfig(
        dir,
        `storages:\n  disk: { type: local, path: ${path.join(dir, 'b')} }\n` +
          `jobs:\n  app:\n    source: { type: files, paths: [${data}] }\n    storages: [disk]\n    retention: { keepLast: 1 }\n    hooks:\n${hooks}`,
      );
    // beforeBackup sees a storage holding only the job's lock: it runs before anything is written.
    let config = await write(
      `      beforeBackup: [[sh, -c, 'find ${path.join(dir, 'b')} -type f ! -name lock.json 2>/dev/null | wc -l > ${path.join(dir, 'before.count')}'], ${JSON.stringify(recorder(order))}]\n` +
        `      afterBackup: ${JSON.stringify(recorder(order))}\n`,
    );
    const ok = await lifeboat(['--config', config, 'backup', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const id = (JSON.parse(ok.stdout) as Array<{ id: string }>)[0]!.id;
    assert.equal((await readFile(path.join(dir, 'before.count'), 'utf8')).trim(), '0');
    assert.deepEqual((await readFile(order, 'utf8')).trim().split('\n'), [
      'beforeBackup app id= result=',
      `afterBackup app id=${id} result=success`,
    ]);
    assert.match(ok.stderr, /^beforeBackup hook 1 \(sh\): started$/m);

    // A failing beforeBackup: exit 1, nothing new in the storage, afterBackup told "failure".
    const before = await filesUnder(path.join(dir, 'b'));
    config = await write(
      `      beforeBackup: [sh, -c, 'echo cannot scale down >&2; exit 3']\n      afterBackup: ${JSON.stringify(recorder(order))}\n`,
    );
    const refused = await lifeboat(['--config', config, 'backup']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^beforeBackup hook 1 \(sh\): cannot scale down$/m);
    assert.match(refused.stderr, /^error: backup app failed: beforeBackup hook 1 \(sh\) exited with code 3/m);
    assert.deepEqual(await filesUnder(path.join(dir, 'b')), before, 'nothing was written');
    assert.equal(
      (await readFile(order, 'utf8')).trim().split('\n').at(-1),
      'afterBackup app id= result=failure',
    );

    // A failing afterBackup: the backup is committed, the run fails (exit 1), retention does not run.
    config = await write(`      afterBackup: [sh, -c, 'exit 5']\n`);
    const after = await lifeboat(['--config', config, 'backup']);
    assert.equal(after.code, 1, after.stderr);
    assert.match(after.stderr, /^error: backup app: afterBackup hook 1 \(sh\) exited with code 5/m);
    assert.match(after.stdout, /^app\t\S+\tFAILED\tafterBackup hook 1 \(sh\) exited with code 5$/m);
    const manifests = (await readdir(path.join(dir, 'b', '.lifeboat', 'app'))).filter((f) =>
      /^\d{8}T\d{6}Z(-\d+)?\.json$/.test(f),
    );
    assert.equal(manifests.length, 2, 'committed, and keepLast: 1 did not remove the older one');

    // Another run holds the job's lock: this run is refused before its hooks, so neither runs
    // (its afterBackup must not restart an app the other run is still backing up).
    config = await write(
      `      beforeBackup: ${JSON.stringify(recorder(order))}\n      afterBackup: ${JSON.stringify(recorder(order))}\n`,
    );
    const hooksSoFar = await readFile(order, 'utf8');
    const storage = createLocalStorage({ name: 'disk', path: path.join(dir, 'b') });
    const held = await acquireJobLock([storage], 'app', { kind: 'backup', host: 'elsewhere', ttlMs: 60_000 });
    try {
      const locked = await lifeboat(['--config', config, 'backup']);
      assert.notEqual(locked.code, 0, 'refused while the lock is held');
      assert.match(locked.stderr, /lock/);
      assert.equal(await readFile(order, 'utf8'), hooksSoFar, 'no hook ran');
    } finally {
      await held.release();
    }
  });

  test('restore: beforeRestore and afterRestore around it, an http step, a failing beforeRestore restores nothing, --no-hooks', async (t) => {
    const dir = await tempDir(t);
    const data = path.join(dir, 'data');
    await mkdir(data);
    await writeFile(path.join(data, 'a.txt'), 'a\n');
    const order = path.join(dir, 'order.log');
    const health = await healthServer(t);
    const write = (before: string) =>
      writeConfig(
        dir,
        `storages:\n  disk: { type: local, path: ${path.join(dir, 'b')} }\n` +
          `jobs:\n  app:\n    source: { type: files, paths: [${data}] }\n    storages: [disk]\n    hooks:\n` +
          `      beforeRestore: ${before}\n` +
          `      afterRestore:\n        - ${JSON.stringify(recorder(order))}\n` +
          `        - { type: http, name: app health, url: "${health.url}", json: { path: $.status, expect: "= ok" } }\n`,
      );
    let config = await write(JSON.stringify(recorder(order)));
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);

    const to = path.join(dir, 'restored');
    const ok = await lifeboat(['--config', config, 'restore', 'latest', '--to', to]);
    assert.equal(ok.code, 0, ok.stderr);
    const [first, second] = (await readFile(order, 'utf8')).trim().split('\n');
    assert.match(first!, /^beforeRestore app id=\d{8}T\d{6}Z(-\d+)? result=$/);
    assert.equal(second, `afterRestore app id=${first!.split('id=')[1]!.split(' ')[0]} result=success`);
    assert.match(
      ok.stderr,
      /^afterRestore hook 2 \(http app health\): OK: expected HTTP 200, \$\.status = ok, got HTTP 200, \$\.status = ok$/m,
    );
    assert.ok((await filesUnder(to)).length > 0);

    // The application is unhealthy after the restore: the restore fails (exit 1), saying why.
    health.state.body = '{"status":"degraded"}';
    const unhealthy = await lifeboat(['--config', config, 'restore', 'latest', '--to', path.join(dir, 'r2')]);
    assert.equal(unhealthy.code, 1, unhealthy.stderr);
    assert.match(
      unhealthy.stderr,
      /^error: restore app \S+: afterRestore hook 2 \(http app health\): expected HTTP 200, \$\.status = ok, got HTTP 200, \$\.status = degraded/m,
    );

    // A failing beforeRestore: nothing restored, afterRestore still told.
    health.state.body = '{"status":"ok"}';
    config = await write(`[sh, -c, 'exit 7']`);
    const r3 = path.join(dir, 'r3');
    const refused = await lifeboat(['--config', config, 'restore', 'latest', '--to', r3]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /beforeRestore hook 1 \(sh\) exited with code 7/);
    assert.deepEqual(await filesUnder(r3), []);
    assert.match(
      (await readFile(order, 'utf8')).trim().split('\n').at(-1)!,
      /^afterRestore app id=\S+ result=failure$/,
    );

    // --no-hooks: a restore elsewhere than the live application runs none of them.
    const lines = (await readFile(order, 'utf8')).split('\n').length;
    const quiet = await lifeboat([
      '--config',
      config,
      'restore',
      'latest',
      '--to',
      path.join(dir, 'r4'),
      '--no-hooks',
    ]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal((await readFile(order, 'utf8')).split('\n').length, lines);
  });
});
