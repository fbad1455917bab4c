/**
 * The dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core).
 *
 * Against a real `lifeboat serve` process over a real socket, backing up a throwaway cluster: the
 * page shows the served config's jobs, their backups (the same ids `lifeboat list` reads from the
 * storage) and the health of sources and storage; "Back up" asks for the token, starts a real
 * backup, the new backup appears on the page, and `lifeboat list` counts one more; "Drill" starts a
 * real drill with the token kept for the tab. With LIFEBOAT_UPDATE_SCREENSHOT=1 that run saves
 * docs/dashboard.png for the README.
 *
 * Against stub service parts (test/helpers/server-stub.ts), the details that need a long or broken
 * history no real run gives in seconds: a month of backups on the chart, a failed job, and a wrong
 * token being reported and forgotten.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Dialog, Page } from 'playwright-core';
import { commitManifest } from '../src/catalog/catalog.js';
import { freePort, type LocalCluster } from '../src/sources/postgres/local-cluster.js';
import { listen, type Listening } from '../src/server/listen.js';
import { launchBrowser, type BrowserSession } from './helpers/browser.js';
import { withCluster } from './helpers/cluster.js';
import { lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';
import { manifestAt, NOW, stubService, type StubService } from './helpers/server-stub.js';

const DAY = 86_400_000;
const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));

/** Collects console errors and uncaught exceptions: a CSP violation or a script error shows here. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Answers every prompt with `answer` while `fn` runs; returns the prompts' texts. */
async function answeringPrompts(page: Page, answer: string, fn: () => Promise<void>): Promise<string[]> {
  const prompts: string[] = [];
  const onDialog = (d: Dialog) => {
    prompts.push(d.message());
    void d.accept(answer);
  };
  page.on('dialog', onDialog);
  try {
    await fn();
  } finally {
    page.off('dialog', onDialog);
  }
  return prompts;
}

/** The chart's time-axis labels (the row of labels under the plot). */
function timeTicks(page: Page): Promise<string[]> {
  return page
    .locator('#chart text.axis[y="232"]')
    .evaluateAll((nodes) => nodes.map((n) => n.textContent ?? ''));
}

describe('dashboard of a real lifeboat serve', () => {
  const token = 'dashboard-e2e-token-4711';
  // Every command reads the whole config, so each needs the variables it names.
  const env = { LIFEBOAT_TOKEN: token };
  let cluster: LocalCluster;
  let config: string;
  let base: string;
  let serve: ReturnType<typeof startLifeboat>;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];

  /** `lifeboat list JOB --json`: ids oldest first, read from the storage by the real CLI. */
  const listIds = async (job: string) => {
    const r = await lifeboat(['--config', config, 'list', job, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { backups: Array<{ id: string }> }).backups.map((b) => b.id);
  };
  const pageIds = () =>
    page.locator('#backups tbody tr[data-backup]').evaluateAll((rows) => rows.map((r) => r.dataset.backup!));

  // Torn down newest first, after the tests: browser, then the service, then the cluster.
  const cleanups: Array<() => unknown> = [];
  const hooks = { after: (fn: () => unknown) => void cleanups.unshift(fn) };
  after(async () => {
    for (const fn of cleanups) await fn();
  });

  before(async () => {
    cluster = await withCluster(hooks, { name: 'dashboard' });
    await cluster.psql('create database app');
    await cluster.psql('create database reports');
    await cluster.psql(
      `create table users (id int primary key, email text);
       insert into users select g, 'user' || g || '@example.com' from generate_series(1, 500) g;
       create table orders (id bigint primary key, user_id int, note text);`,
      { database: 'app' },
    );
    await cluster.psql('create table daily (day date, total numeric);', { database: 'reports' });
    const dir = await tempDir(hooks);
    const port = await freePort();
    config = await writeConfig(
      dir,
      `storages:
  disk: { type: local, path: ${path.join(dir, 'backups')} }
jobs:
  app:
    source: { type: postgres, url: "${cluster.url('app')}" }
    storages: [disk]
    schedule: { cron: "30 2 * * *", timezone: Europe/Berlin }
    drill:
      schedule: { cron: "0 4 * * 0", timezone: Europe/Berlin }
      checks: [ { name: users present, database: app, sql: "select count(*) from users", expect: ">= 500" } ]
  reports:
    source: { type: postgres, url: "${cluster.url('reports')}" }
    storages: [disk]
    schedule: { cron: "0 */6 * * *", timezone: UTC }
server: { port: ${port}, token: "\${LIFEBOAT_TOKEN}" }
`,
    );
    // A few real backups first, the data growing between them, so the page has history to show.
    for (let i = 0; i < 3; i++) {
      await cluster.psql(
        `insert into orders select g, g % 500, md5(g::text) from generate_series(${i * 8000 + 1}, ${(i + 1) * 8000}) g`,
        { database: 'app' },
      );
      await cluster.psql(`insert into daily select current_date - ${i}, ${1000 + i * 17}`, {
        database: 'reports',
      });
      const r = await lifeboat(['--config', config, 'backup'], { env });
      assert.equal(r.code, 0, r.stderr);
    }
    serve = startLifeboat(['--config', config, 'serve'], { env });
    hooks.after(async () => {
      serve.child.kill('SIGTERM');
      const killer = setTimeout(() => serve.child.kill('SIGKILL'), 15_000);
      const r = await serve.done;
      clearTimeout(killer);
      assert.equal(r.code, 0, r.stderr);
    });
    base = `http://127.0.0.1:${port}`;
    await waitFor('healthz', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
    browser = await launchBrowser({ width: 1360, height: 1000 });
    hooks.after(() => browser.close());
    page = await browser.context.newPage();
    pageErrors = watchErrors(page);
  });

  it('shows the jobs, their backups and the health of the served config', async () => {
    const appIds = await listIds('app');
    const reportsIds = await listIds('reports');
    assert.equal(appIds.length, 3);
    assert.equal(reportsIds.length, 3);
    // Sources are probed in the background right after start; wait for the first round.
    await waitFor('sources probed', async () => {
      const s = (await (await fetch(`${base}/status/summary`)).json()) as { sources: unknown[] };
      return s.sources.length === 2;
    });
    await page.goto(`${base}/`);
    const appRow = page.locator('#jobs tbody tr[data-job="app"]');
    await appRow.waitFor();
    assert.match(await appRow.innerText(), /app[\s\S]*3 backups[\s\S]*just now[\s\S]*never/);
    assert.match(await appRow.innerText(), new RegExp(appIds.at(-1)!));
    const reportsRow = page.locator('#jobs tbody tr[data-job="reports"]');
    assert.match(await reportsRow.innerText(), /reports[\s\S]*3 backups[\s\S]*just now/);
    // The first job is selected: its backups, newest first, are the ones on the storage.
    await page.locator(`#backups tbody tr[data-backup="${appIds.at(-1)}"]`).waitFor();
    assert.deepEqual(await pageIds(), [...appIds].reverse());
    assert.equal(await page.locator('#chart circle.size-dot').count(), 3);
    // Backups seconds apart: the time axis labels tell its ticks apart (clock times, not days).
    const ticks = await timeTicks(page);
    assert.ok(ticks.length >= 2, `time-axis labels: ${ticks.join(' | ')}`);
    assert.equal(new Set(ticks).size, ticks.length, `no label twice: ${ticks.join(' | ')}`);
    for (const tick of ticks) assert.match(tick, /^\d\d:\d\d:\d\d/);
    assert.match(
      await page.locator('#health').innerText(),
      /source app up[\s\S]*source reports up[\s\S]*storage disk up/,
    );
    assert.deepEqual(pageErrors, []);
  });

  it('"Back up" starts a real backup: it shows up on the page and in lifeboat list', async () => {
    const before = await listIds('app');
    await cluster.psql(
      `insert into orders select g, g % 500, md5(g::text) from generate_series(24001, 30000) g`,
      { database: 'app' },
    );
    const prompts = await answeringPrompts(page, token, async () => {
      await page.locator('#jobs tr[data-job="app"] button[data-action="backup"]').click();
      await page.locator('#notice', { hasText: 'Backup of app started.' }).waitFor();
    });
    assert.equal(prompts.length, 1);
    assert.match(prompts[0]!, /Start a backup of app/);
    // The page refreshes by itself after starting a run, and every 10 s.
    const shown = await waitFor(
      'the new backup on the page',
      async () => {
        const ids = await pageIds();
        return ids.length === before.length + 1 ? ids : undefined;
      },
      30_000,
    );
    const after = await listIds('app');
    assert.equal(after.length, before.length + 1, 'lifeboat list reads one more backup from the storage');
    assert.deepEqual(shown, [...after].reverse(), 'the page shows what the storage holds');
    assert.match(
      await page.locator('#runs tbody tr').first().innerText(),
      new RegExp(`backup[\\s\\S]*api[\\s\\S]*success[\\s\\S]*${after.at(-1)}`),
    );
    assert.deepEqual(pageErrors, []);
  });

  it('"Drill" uses the kept token; the passed drill is shown (saves the screenshot on request)', async () => {
    const prompts = await answeringPrompts(page, 'not asked', async () => {
      await page.locator('#jobs tr[data-job="app"] button[data-action="drill"]').click();
      await page.locator('#notice', { hasText: 'Drill of app started.' }).waitFor();
    });
    assert.deepEqual(prompts, [], 'the token is kept for the tab');
    await waitFor(
      'the drill to finish',
      async () => {
        const s = (await (await fetch(`${base}/status/summary`)).json()) as {
          jobs: Array<{ job: string; lastDrill: { result: string } | null }>;
        };
        return s.jobs.find((j) => j.job === 'app')?.lastDrill?.result;
      },
      60_000,
    );
    // Not waiting up to 10 s for the page's own refresh: a reload shows the same.
    await page.reload();
    const appRow = page.locator('#jobs tbody tr[data-job="app"]');
    await appRow.locator('.badge', { hasText: 'passed' }).waitFor();
    const newest = (await listIds('app')).at(-1)!;
    await page.locator(`#backups tbody tr[data-backup="${newest}"] .badge`, { hasText: 'passed' }).waitFor();
    await page.locator('#runs tbody tr').first().filter({ hasText: 'drill' }).waitFor();
    // docs/dashboard.png is tracked: rewritten only on request, so a test run leaves the tree clean.
    if (process.env.LIFEBOAT_UPDATE_SCREENSHOT === '1') {
      await mkdir(DOCS, { recursive: true });
      await page.screenshot({ path: `${DOCS}dashboard.png`, fullPage: true });
    }
    assert.deepEqual(pageErrors, []);
  });
});

/** A month of history so the chart and the run log hold more than a real run makes in seconds. */
async function seedMonth(svc: StubService) {
  const now = Date.parse(NOW);
  for (let d = 30; d >= 6; d--) {
    const at = new Date(now - d * DAY + 3_600_000 * 2.5);
    const wobble = Math.round(Math.sin(d) * 40_000);
    const size = 700_000 + (30 - d) * 14_000 + wobble;
    await commitManifest(svc.storage, manifestAt('app', at, size, 45_000 + (30 - d) * 700 + wobble / 20));
  }
  const run = (job: string, kind: 'backup' | 'drill', startMs: number, ok: boolean, extra = {}) => {
    const id = svc.history.start({
      job,
      kind,
      trigger: 'schedule',
      startedAt: new Date(startMs).toISOString(),
    });
    svc.history.finish(id, {
      result: ok ? 'success' : 'failure',
      finishedAt: new Date(startMs + 60_000).toISOString(),
      durationMs: 60_000,
      ...extra,
    });
  };
  for (let d = 5; d >= 1; d--) run('app', 'backup', now - d * DAY - 60_000, true, { bytes: 1_100_000 });
  run('app', 'drill', now - 3_600_000 - 5_000, true, { details: { restoreMs: 4_000 } });
  run('reports', 'backup', now - 2 * 3_600_000, false, {
    error: 'dump reports: connect to db.internal:5432: connection refused',
  });
  await svc.deps.catalog.refreshAll();
}

describe('dashboard details (stub service parts)', () => {
  let svc: StubService;
  let server: Listening;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];

  before(async () => {
    svc = await stubService();
    await seedMonth(svc);
    server = await listen(svc.app, { port: 0 });
    browser = await launchBrowser({ width: 1360, height: 1000 });
    page = await browser.context.newPage();
    pageErrors = watchErrors(page);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a month of backups on the chart, the run log, and a failed job', async () => {
    await page.goto(`${server.url}/`);
    const appRow = page.locator('#jobs tbody tr[data-job="app"]');
    await appRow.waitFor();
    assert.match(
      await appRow.innerText(),
      /app[\s\S]*30 backups[\s\S]*1d ago[\s\S]*1\.2 MB[\s\S]*passed[\s\S]*4s/,
    );
    const reportsRow = page.locator('#jobs tbody tr[data-job="reports"]');
    assert.match(await reportsRow.innerText(), /no backup yet[\s\S]*last backup failed/);
    await page.locator('#backups tbody tr[data-backup="20261121T120000Z"]').waitFor();
    assert.equal(await page.locator('#backups tbody tr').count(), 30);
    assert.equal(await page.locator('#chart circle.size-dot').count(), 30);
    assert.match((await timeTicks(page))[0]!, /^Oct 23$/, 'a month of backups: the axis counts days');
    assert.equal(await page.locator('#runs tbody tr').count(), 6);
    assert.deepEqual(pageErrors, []);
  });

  it('a wrong token is reported and forgotten; no run starts', async () => {
    await answeringPrompts(page, 'not the token', async () => {
      await page.locator('#jobs tr[data-job="reports"] button[data-action="drill"]').click();
      await page
        .locator('#notice.bad', { hasText: 'Drill of reports not started: start run: wrong token' })
        .waitFor();
    });
    assert.equal(await page.locator('#token-button').innerText(), 'Set token');
    assert.deepEqual(svc.triggered, []);
    // The browser logs the refused request itself; nothing else went wrong.
    assert.deepEqual(pageErrors, [
      'Failed to load resource: the server responded with a status of 403 (Forbidden)',
    ]);
  });
});
