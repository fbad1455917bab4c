/**
 * `lifeboat demo`, the quick start's first command, as a user runs it: a throwaway cluster, backup,
 * verify, restore and compare, a drill, and the config it leaves behind working with the other
 * commands; with --serve, the dashboard's API serving the demo job until SIGINT, and a backup
 * started through it. Nothing of the throwaway servers stays behind.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { clusterTraces } from './helpers/cluster-traces.js';
import { lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor } from './helpers/scenarios.js';

/** Throwaway clusters (demo and drill scratch) a process with this pid left: dirs and servers. */
const clusterTracesOf = (pid: number) => clusterTraces({ which: (owner) => owner === pid });

/**
 * Stops a demo that is still running when its test ends (a failed assertion): SIGINT, so it stops
 * its throwaway cluster as a user's Ctrl-C would; SIGKILL only if it hangs, and then its cluster
 * is left for the next start's reaping.
 */
function stopOnExit(t: { after(fn: () => unknown): void }, run: ReturnType<typeof startLifeboat>) {
  t.after(async () => {
    if (run.child.exitCode !== null || run.child.signalCode !== null) return;
    run.child.kill('SIGINT');
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
    await run.done;
    clearTimeout(timer);
  });
}

interface Listed {
  backups: Array<{ id: string; lastDrill?: { result: string } | null }>;
}

describe('lifeboat demo', () => {
  test('backs up, verifies, restores, compares and drills; its config works afterwards', async (t) => {
    const dir = await tempDir(t);
    const run = startLifeboat(['demo', '--dir', dir]);
    stopOnExit(t, run);
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    for (const marker of [
      'sha256 OK',
      'restore OK',
      'pg_dump of both is identical',
      'smoke OK',
      'drill passed',
    ])
      assert.match(r.stderr, new RegExp(marker), `stderr has "${marker}"`);
    assert.match(r.stdout, /backed up, verified, restored, compared and drilled/);
    assert.match(r.stdout, /lifeboat list --from /);
    assert.match(r.stdout, /--serve/);
    assert.deepEqual(await clusterTracesOf(run.child.pid!), [], 'throwaway clusters stopped and removed');

    // The file the demo ran on is the one it tells the user to edit: it loads and lists the backup.
    const env = { DEMO_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/shop', LIFEBOAT_TOKEN: '' };
    const list = await lifeboat(['--config', path.join(dir, 'lifeboat.yaml'), 'list', '--json'], { env });
    assert.equal(list.code, 0, list.stderr);
    const { backups } = JSON.parse(list.stdout) as Listed;
    assert.equal(backups.length, 1);
    assert.equal(backups[0]!.lastDrill?.result, 'passed', 'the drill report is stored beside the backup');
  });

  test('--serve serves the demo job until SIGINT; a backup started through the API lands', async (t) => {
    const dir = await tempDir(t);
    const run = startLifeboat(['demo', '--dir', dir, '--serve', '0']);
    stopOnExit(t, run);
    let stderr = '';
    run.child.stderr!.on('data', (d) => (stderr += d));
    const base = await waitFor(
      'the demo to serve',
      async () => /serve: listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1],
      120_000,
    );
    const token = /take the token ([0-9a-f]+)/.exec(stderr)?.[1];
    assert.ok(token, `the token is printed: ${stderr}`);

    const summary = (await (await fetch(`${base}/status/summary`)).json()) as {
      jobs: Array<{ job: string; lastBackup: { id: string } | null; lastDrill: { result: string } | null }>;
    };
    assert.deepEqual(
      summary.jobs.map((j) => [j.job, Boolean(j.lastBackup), j.lastDrill?.result]),
      [['shop', true, 'passed']],
    );
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Lifeboat/);

    const start = await fetch(`${base}/api/jobs/shop/backup`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(start.status, 202, await start.text());
    await waitFor(
      'the API-started backup',
      async () => {
        const b = (await (await fetch(`${base}/api/backups?job=shop`)).json()) as { backups: unknown[] };
        return b.backups.length === 2;
      },
      60_000,
    );

    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 0, stderr);
    assert.deepEqual(await clusterTracesOf(run.child.pid!), [], 'throwaway clusters stopped and removed');
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });
});
