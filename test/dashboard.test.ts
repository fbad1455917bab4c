/**
 * The dashboard in a real headless Chromium against the app on a real socket (stub service parts):
 * jobs, backups, chart and run log are shown; "Back up" asks for the token, starts a run, and the
 * new backup appears; a wrong token is reported. Saves docs/dashboard.png for the README.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { commitManifest } from '../src/catalog/catalog.js';
import { listen, type Listening } from '../src/server/listen.js';
import { launchBrowser, type BrowserSession } from './helpers/browser.js';
import { manifestAt, NOW, stubService, TOKEN, type StubService } from './helpers/server-stub.js';

const DAY = 86_400_000;
const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));

/** A month of history so the chart and the run log look like a real deployment's. */
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

describe('dashboard in headless Chromium', () => {
  let svc: StubService;
  let server: Listening;
  let browser: BrowserSession;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    svc = await stubService();
    await seedMonth(svc);
    server = await listen(svc.app, { port: 0 });
    browser = await launchBrowser({ width: 1360, height: 1000 });
    page = await browser.context.newPage();
    // A CSP violation or a script error shows up here; the page must run clean.
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the jobs, the backups of the selected job, the chart and the run log', async () => {
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
    assert.equal(await page.locator('#runs tbody tr').count(), 6);
    assert.match(await page.locator('#health').innerText(), /source app up[\s\S]*storage local up/);
    assert.deepEqual(pageErrors, []);
  });

  it('"Back up" asks for the token, starts the run, and the new backup appears', async () => {
    const prompts: string[] = [];
    const onDialog = (d: import('playwright-core').Dialog) => {
      prompts.push(d.message());
      void d.accept(TOKEN);
    };
    page.on('dialog', onDialog);
    try {
      await page.locator('#jobs tr[data-job="app"] button[data-action="backup"]').click();
      await page.locator('#notice', { hasText: 'Backup of app started.' }).waitFor();
      assert.equal(prompts.length, 1);
      assert.match(prompts[0]!, /Start a backup of app/);
      assert.deepEqual(svc.triggered, [{ job: 'app', kind: 'backup' }]);
      await page.locator('#backups tbody tr[data-backup="20261122T120000Z"]').waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#backups tbody tr').count(), 31);
      assert.match(
        await page.locator('#runs tbody tr').first().innerText(),
        /backup[\s\S]*api[\s\S]*success/,
      );
      // The token is kept for the tab: a second start does not ask again.
      await page.locator('#jobs tr[data-job="app"] button[data-action="drill"]').click();
      await page.locator('#notice', { hasText: 'Drill of app started.' }).waitFor();
      assert.equal(prompts.length, 1);
    } finally {
      page.off('dialog', onDialog);
    }
    await page.locator('#runs tbody tr', { hasText: 'drill' }).first().waitFor({ timeout: 10_000 });
    await page.locator('#runs tbody tr').first().filter({ hasText: 'drill' }).waitFor({ timeout: 10_000 });
    await mkdir(DOCS, { recursive: true });
    await page.locator('#notice').evaluate((n) => n.setAttribute('hidden', ''));
    await page.screenshot({ path: `${DOCS}dashboard.png`, fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  it('a wrong token is reported and forgotten', async () => {
    await page.evaluate(() => (globalThis as unknown as { sessionStorage: Storage }).sessionStorage.clear());
    const onDialog = (d: import('playwright-core').Dialog) => void d.accept('not the token');
    page.on('dialog', onDialog);
    try {
      await page.locator('#jobs tr[data-job="reports"] button[data-action="drill"]').click();
      await page
        .locator('#notice.bad', { hasText: 'Drill of reports not started: start run: wrong token' })
        .waitFor();
    } finally {
      page.off('dialog', onDialog);
    }
    assert.equal(await page.locator('#token-button').innerText(), 'Set token');
    assert.equal(svc.triggered.length, 2);
  });
});
