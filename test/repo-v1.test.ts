/**
 * Backups written before the manifest recorded named sources (version 1, test/fixtures/repo-v1,
 * made by test/fixtures/make-repo-v1.ts with the release of commit 6a457b5) stay listable,
 * verifiable, restorable and drillable: their one source reads as the source named `main`.
 */
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { errorLines, lifeboat, ROOT } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';

const APP = '20261202T061837Z';
const ALL = '20261202T061839Z';

describe('a repository written with manifest version 1', async () => {
  // A copy: drills store their reports beside the backup.
  const repo = await tempDir({ after }, 'lifeboat-repo-v1-');
  await cp(path.join(ROOT, 'test/fixtures/repo-v1'), repo, { recursive: true });

  test('lists both jobs with their databases', async () => {
    const r = await lifeboat(['list', '--from', repo, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as { backups: Array<Record<string, unknown>> }).backups;
    const byJob = Object.fromEntries(rows.map((b) => [b.job as string, b]));
    assert.equal(byJob.app!.id, APP);
    assert.deepEqual(byJob.app!.databases, ['shop', 'blog']);
    assert.equal(byJob.all!.id, ALL);
    assert.deepEqual(byJob.app!.sources, { main: { kind: 'postgres', databases: ['shop', 'blog'] } });
  });

  test('verifies every backup', async () => {
    const r = await lifeboat(['verify', '--all', '--from', repo]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(errorLines(r.stderr), []);
  });

  test('restores globals and both databases into a fresh server, also by source name', async (t) => {
    const target = await withCluster(t, { name: 'v1-target' });
    const r = await lifeboat([
      'restore',
      APP,
      '--job',
      'app',
      '--from',
      repo,
      '--source',
      'main',
      '--create',
      '--to',
      target.url(),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /restore OK/);
    assert.equal((await target.psql('select count(*) from orders', { database: 'shop' })).trim(), '3');
    assert.equal(
      (
        await target.psql("select string_agg(title, ',' order by id) from posts", { database: 'blog' })
      ).trim(),
      'hello,world',
    );
    // The globals brought the role the table belongs to.
    const owner = await target.psql(`select tableowner from pg_tables where tablename = 'orders'`, {
      database: 'shop',
    });
    assert.equal(owner.trim(), 'shop_owner');
  });

  test('restores the pg_dumpall backup into a fresh server', async (t) => {
    const target = await withCluster(t, { name: 'v1-target-all' });
    const r = await lifeboat(['restore', ALL, '--job', 'all', '--from', repo, '--to', target.url()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await target.psql('select count(*) from posts', { database: 'blog' })).trim(), '2');
  });

  test('drills both jobs, checking the recorded row counts', async () => {
    const r = await lifeboat(['drill', '--all', '--from', repo, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const reports = JSON.parse(r.stdout) as Array<{
      job: string;
      ok: boolean;
      checks: Array<{ name: string; ok: boolean }>;
    }>;
    assert.deepEqual(reports.map((x) => [x.job, x.ok]).sort(), [
      ['all', true],
      ['app', true],
    ]);
    const app = reports.find((x) => x.job === 'app')!;
    assert.ok(
      app.checks.some((c) => /orders/.test(c.name) && c.ok),
      JSON.stringify(app.checks),
    );
  });
});
