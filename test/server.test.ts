/**
 * The HTTP app of `lifeboat serve`, in memory through app.request() over stub service parts, plus
 * one run over a real socket: auth, input validation, JSON errors without stack traces, the status
 * summary, the API, and /metrics as parseable Prometheus text whose series move after runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../src/server/app.js';
import { allowedHostSet, hostName } from '../src/server/host-check.js';
import { listen } from '../src/server/listen.js';
import { createMetrics } from '../src/server/metrics.js';
import type { ServiceControl } from '../src/server/types.js';
import type { Scheduler } from '../src/scheduler/scheduler.js';
import { memoryHistory, NOW, stubService, TOKEN } from './helpers/server-stub.js';
import { parsePrometheus } from './helpers/prometheus.js';

// The real scheduler plugs in as the server's control without glue; this stops compiling if not.
const _schedulerIsControl = (s: Scheduler): ServiceControl => s;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function json(res: Response) {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A 4xx/5xx answer: JSON with one line in `error`, no stack trace. */
async function assertError(res: Response, status: number, pattern?: RegExp) {
  assert.equal(res.status, status);
  const body = await json(res);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(typeof body.error, 'string');
  assert.doesNotMatch(body.error, /\n|\bat .*\.(ts|js):\d+/);
  if (pattern) assert.match(body.error, pattern);
  return body.error as string;
}

describe('server: health and status', () => {
  it('GET /healthz answers without a token', async () => {
    const { app } = await stubService({ protectReads: true });
    const res = await app.request('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { ok: true });
  });

  it('GET /status/summary shows last success, age, size, last drill, next runs and health', async () => {
    const { app } = await stubService();
    const body = await json(await app.request('/status/summary'));
    assert.equal(body.generatedAt, NOW);
    const [app1, reports] = body.jobs;
    assert.equal(app1.job, 'app');
    assert.equal(app1.lastSuccess, '2026-11-21T12:00:00.000Z');
    assert.equal(app1.ageSeconds, 86_400);
    assert.equal(app1.size, 1_200_000);
    assert.equal(app1.backups, 5);
    assert.deepEqual(
      { result: app1.lastDrill.result, at: app1.lastDrill.at, restoreMs: app1.lastDrill.restoreMs },
      { result: 'passed', at: '2026-11-22T11:00:00.000Z', restoreMs: 4000 },
    );
    assert.deepEqual(app1.next, { backup: '2026-11-23T05:30:00.000Z', drill: '2026-11-29T06:00:00.000Z' });
    assert.equal(app1.catalog.storage, 'local');
    assert.equal(reports.job, 'reports');
    assert.equal(reports.lastSuccess, null);
    assert.equal(reports.lastDrill, null);
    assert.deepEqual(reports.next, { backup: null, drill: null });
    assert.deepEqual(body.storages, [{ name: 'local', up: true, checkedAt: NOW }]);
    assert.deepEqual(body.sources, [{ name: 'app', up: true, checkedAt: NOW }]);
  });

  it('protectReads: data needs the token, /healthz and the dashboard do not', async () => {
    const { app } = await stubService({ protectReads: true });
    for (const path of ['/status/summary', '/metrics', '/api/jobs', '/api/runs', '/api/backups?job=app']) {
      await assertError(await app.request(path), 401);
      await assertError(await app.request(path, { headers: bearer('nope') }), 403);
      assert.equal((await app.request(path, { headers: bearer(TOKEN) })).status, 200, path);
    }
    assert.equal((await app.request('/')).status, 200);
    assert.equal((await app.request('/dashboard.js')).status, 200);
  });
});

describe('server: Host header (DNS rebinding)', () => {
  it('answers IP addresses and localhost, refuses other names with 421 and one JSON line', async () => {
    const { app } = await stubService();
    for (const host of [
      '127.0.0.1:8080',
      'localhost:8080',
      '[::1]:8080',
      '10.1.2.3',
      'LOCALHOST',
      'app.localhost',
    ]) {
      const res = await app.request('/status/summary', { headers: { host } });
      assert.equal(res.status, 200, host);
    }
    // What a browser sends after a rebinding page pointed its own name at this server.
    for (const path of ['/status/summary', '/metrics', '/api/jobs', '/api/runs', '/', '/dashboard.js']) {
      await assertError(
        await app.request(path, { headers: { host: 'evil.example:8080' } }),
        421,
        /^host "evil\.example" is not served here; add it to server\.allowedHosts$/,
      );
    }
    // Without a Host header the URL's host counts (app.request builds http://localhost/…).
    await assertError(await app.request('http://rebind.attacker.test/api/jobs'), 421);
    // A mutating request with the right token is refused just the same: the token is no Host check.
    await assertError(
      await app.request('/api/jobs/app/backup', {
        method: 'POST',
        headers: { host: 'evil.example', ...bearer(TOKEN) },
      }),
      421,
    );
    // /healthz says only "ok"; probes by service name need not be listed.
    assert.equal((await app.request('/healthz', { headers: { host: 'evil.example' } })).status, 200);
  });

  it('answers the names in allowedHosts (and "*" answers any)', async () => {
    const { app } = await stubService({
      allowedHosts: allowedHostSet('backup.lan', ['Lifeboat.Example.com.']),
    });
    for (const host of ['backup.lan:8080', 'lifeboat.example.com', 'LIFEBOAT.EXAMPLE.COM:443']) {
      assert.equal((await app.request('/api/jobs', { headers: { host } })).status, 200, host);
    }
    await assertError(await app.request('/api/jobs', { headers: { host: 'example.com' } }), 421);
    await assertError(await app.request('/api/jobs', { headers: { host: 'x.lifeboat.example.com' } }), 421);
    const { app: open } = await stubService({ allowedHosts: allowedHostSet(undefined, ['*']) });
    assert.equal((await open.request('/api/jobs', { headers: { host: 'anything.test' } })).status, 200);
  });

  it('hostName takes the name out of a Host value', () => {
    assert.equal(hostName('Example.COM:8080'), 'example.com');
    assert.equal(hostName('[::1]:8080'), '::1');
    assert.equal(hostName('[fe80::1]'), 'fe80::1');
    assert.equal(hostName('backup.lan.'), 'backup.lan');
  });
});

describe('server: starting runs', () => {
  it('401 without a token, 403 with a wrong one, 202 with the right one', async () => {
    const svc = await stubService();
    const url = '/api/jobs/app/backup';
    const missing = await svc.app.request(url, { method: 'POST' });
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="lifeboat"');
    await assertError(missing, 401, /missing Authorization/);
    await assertError(
      await svc.app.request(url, { method: 'POST', headers: { Authorization: 'Basic eDp5' } }),
      401,
    );
    await assertError(
      await svc.app.request(url, { method: 'POST', headers: bearer(`${TOKEN}x`) }),
      403,
      /wrong token/,
    );
    await assertError(await svc.app.request(url, { method: 'POST', headers: bearer('x') }), 403);
    assert.deepEqual(svc.triggered, []);

    const ok = await svc.app.request(url, { method: 'POST', headers: bearer(TOKEN) });
    assert.equal(ok.status, 202);
    assert.deepEqual(await json(ok), { started: true, job: 'app', kind: 'backup' });
    assert.deepEqual(svc.triggered, [{ job: 'app', kind: 'backup' }]);

    const drill = await svc.app.request('/api/jobs/app/drill', { method: 'POST', headers: bearer(TOKEN) });
    assert.equal(drill.status, 202);
    assert.deepEqual(svc.triggered.at(-1), { job: 'app', kind: 'drill' });
  });

  it('the summary and the backup list show a run started through the API', async () => {
    const svc = await stubService();
    await svc.app.request('/api/jobs/app/backup', { method: 'POST', headers: bearer(TOKEN) });
    const summary = await json(await svc.app.request('/status/summary'));
    assert.equal(summary.jobs[0].lastSuccess, NOW);
    assert.equal(summary.jobs[0].ageSeconds, 0);
    assert.equal(summary.jobs[0].backups, 6);
    assert.equal(summary.jobs[0].lastRun.result, 'success');
    const backups = await json(await svc.app.request('/api/backups?job=app'));
    assert.equal(backups.backups[0].id, '20261122T120000Z');
  });

  it('409 while a run of the job is running; 404 for an unknown job; 400 for a bad name', async () => {
    const svc = await stubService();
    svc.busy.add('app');
    const busy = await svc.app.request('/api/jobs/app/drill', { method: 'POST', headers: bearer(TOKEN) });
    await assertError(busy, 409, /^a run of job app is already running$/);
    await assertError(
      await svc.app.request('/api/jobs/nope/backup', { method: 'POST', headers: bearer(TOKEN) }),
      404,
      /no job named "nope"/,
    );
    // (A bare ".." never reaches the route: URL parsing resolves it, and the result is a 404.)
    for (const name of ['a%20b', '%2E%2E%2Fetc', 'x'.repeat(300), '-x', '%E0%A4%A']) {
      await assertError(
        await svc.app.request(`/api/jobs/${name}/backup`, { method: 'POST', headers: bearer(TOKEN) }),
        400,
      );
    }
    // Without a token nothing is revealed, not even whether the job exists.
    await assertError(await svc.app.request('/api/jobs/nope/backup', { method: 'POST' }), 401);
    await assertError(
      await svc.app.request('/api/jobs/app/verify', { method: 'POST', headers: bearer(TOKEN) }),
      404,
    );
    await assertError(await svc.app.request('/api/jobs/app/backup'), 404); // GET: no such endpoint
    assert.deepEqual(svc.triggered, []);
  });

  it("maps the scheduler's refusals: stopping 503, unknown task 404; shows running runs", async () => {
    const reasons: Record<string, string> = { app: 'stopping', reports: 'unknown' };
    // What the scheduler was asked: the refusals below must be its answers, passed on.
    const asked: Array<[string, string]> = [];
    const control: ServiceControl = {
      nextRuns: () => [],
      trigger: (job, kind) => {
        asked.push([job, kind]);
        return { started: false, reason: reasons[job] };
      },
      running: () => [{ job: 'app', kind: 'backup', trigger: 'schedule', startedAt: new Date(NOW) }],
    };
    const { app } = await stubService({ control });
    const post = (job: string) =>
      app.request(`/api/jobs/${job}/drill`, { method: 'POST', headers: bearer(TOKEN) });
    await assertError(await post('app'), 503, /^start drill: lifeboat is stopping/);
    await assertError(await post('reports'), 404, /^start drill: job reports has no drill task$/);
    const summary = await json(await app.request('/status/summary'));
    assert.deepEqual(summary.jobs[0].running, { kind: 'backup', trigger: 'schedule', startedAt: NOW });
    assert.equal(summary.jobs[1].running, null);
    assert.deepEqual(asked, [
      ['app', 'drill'],
      ['reports', 'drill'],
    ]);
  });

  it('protectReads without a token is refused when the app is created', async () => {
    const { deps } = await stubService();
    assert.throws(
      () => createApp({ ...deps, token: undefined, protectReads: true }),
      /protectReads needs a token/,
    );
  });

  it('with no token configured the API is read-only', async () => {
    const svc = await stubService({ token: undefined });
    await assertError(await svc.app.request('/api/jobs/app/backup', { method: 'POST' }), 403, /read-only/);
    await assertError(
      await svc.app.request('/api/jobs/app/backup', { method: 'POST', headers: bearer('') }),
      403,
      /read-only/,
    );
    assert.equal((await svc.app.request('/status/summary')).status, 200);
  });
});

describe('server: API reads and bad input', () => {
  it('GET /api/jobs lists names, schedules, storages and next runs, and nothing secret', async () => {
    const { app } = await stubService();
    const body = await json(await app.request('/api/jobs'));
    assert.deepEqual(body.jobs[0], {
      name: 'app',
      sourceType: 'postgres',
      sources: { main: { type: 'postgres' } },
      storages: ['local'],
      schedule: { cron: '30 2 * * *', timezone: 'America/Sao_Paulo' },
      drillSchedule: { cron: '0 3 * * 0', timezone: 'America/Sao_Paulo' },
      next: { backup: '2026-11-23T05:30:00.000Z', drill: '2026-11-29T06:00:00.000Z' },
      backups: 5,
    });
  });

  it('GET /api/backups: newest first, limit, one by id, 400/404 on bad input', async () => {
    const { app } = await stubService();
    const all = await json(await app.request('/api/backups?job=app'));
    assert.equal(all.total, 5);
    assert.deepEqual(
      all.backups.map((b: { id: string }) => b.id),
      ['20261121T120000Z', '20261120T120000Z', '20261119T120000Z', '20261118T120000Z', '20261117T120000Z'],
    );
    assert.equal(all.backups[0].drill.result, 'passed');
    assert.equal(all.backups[1].drill, undefined);
    assert.equal((await json(await app.request('/api/backups?job=app&limit=2'))).backups.length, 2);
    const one = await json(await app.request('/api/backups?job=app&id=20261119T120000Z'));
    assert.equal(one.backup.size, 1_100_000);
    assert.deepEqual((await json(await app.request('/api/backups?job=reports'))).backups, []);

    await assertError(await app.request('/api/backups'), 400, /query job: expected a job name/);
    await assertError(await app.request('/api/backups?job=nope'), 404, /no job named "nope"/);
    await assertError(await app.request('/api/backups?job=%3Cscript%3E'), 400);
    await assertError(await app.request('/api/backups?job=app&id=latest'), 400, /backup id/);
    await assertError(await app.request('/api/backups?job=app&id=../../etc'), 400);
    await assertError(await app.request('/api/backups?job=app&id=20200101T000000Z'), 404);
    await assertError(await app.request('/api/backups?job=app&limit=-1'), 400);
  });

  it('GET /api/runs filters by job and kind and validates its parameters', async () => {
    const svc = await stubService();
    await svc.app.request('/api/jobs/app/backup', { method: 'POST', headers: bearer(TOKEN) });
    await svc.app.request('/api/jobs/app/drill', { method: 'POST', headers: bearer(TOKEN) });
    const runs = (await json(await svc.app.request('/api/runs?job=app'))).runs;
    assert.equal(runs.length, 2);
    const drills = (await json(await svc.app.request('/api/runs?job=app&kind=drill&limit=5'))).runs;
    assert.deepEqual(
      drills.map((r: { kind: string; result: string }) => [r.kind, r.result]),
      [['drill', 'success']],
    );
    for (const q of ['kind=nope', 'limit=0', 'limit=abc', 'limit=5000', 'limit=1.5', 'job=a%20b']) {
      await assertError(await svc.app.request(`/api/runs?${q}`), 400, undefined);
    }
    await assertError(await svc.app.request('/api/runs?job=ghost'), 404);
  });

  it('unknown endpoints are 404 JSON; an internal error is a 500 without details', async () => {
    const lines: string[] = [];
    const { app } = await stubService({ log: (line) => lines.push(line) });
    await assertError(await app.request('/nope'), 404, /no such endpoint/);
    await assertError(await app.request('/api/jobs', { method: 'DELETE' }), 404);

    const broken = await stubService({
      log: (line) => lines.push(line),
      control: {
        nextRuns: () => {
          throw new Error('boom: secret detail\n    at someFile.ts:1:1');
        },
        trigger: () => ({ started: true }),
      },
    });
    const err = await assertError(await broken.app.request('/status/summary'), 500);
    assert.equal(err, 'internal error');
    assert.match(lines.join('\n'), /GET \/status\/summary: boom: secret detail/);
  });

  it('never returns the token', async () => {
    const svc = await stubService({ protectReads: true });
    const paths = ['/status/summary', '/api/jobs', '/api/runs', '/api/backups?job=app', '/metrics', '/'];
    await svc.app.request('/api/jobs/app/backup', { method: 'POST', headers: bearer(TOKEN) });
    for (const path of paths) {
      for (const headers of [{}, bearer(TOKEN), bearer('wrong')]) {
        const text = await (await svc.app.request(path, { headers })).text();
        assert.ok(!text.includes(TOKEN), `${path} leaks the token`);
      }
    }
  });

  it('the dashboard is served with a strict content security policy', async () => {
    const { app } = await stubService();
    const res = await app.request('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await res.text(), /<script src="\/dashboard\.js"/);
    assert.match((await app.request('/dashboard.css')).headers.get('content-type') ?? '', /^text\/css/);
  });
});

describe('server: metrics', () => {
  const REQUIRED = [
    'lifeboat_backup_last_success_timestamp_seconds',
    'lifeboat_backup_last_size_bytes',
    'lifeboat_backup_duration_seconds',
    'lifeboat_backup_runs_total',
    'lifeboat_drill_last_success_timestamp_seconds',
    'lifeboat_drill_restore_seconds',
    'lifeboat_verify_failures_total',
    'lifeboat_storage_bytes',
    'lifeboat_drill_runs_total',
    'lifeboat_scheduler_skipped_runs_total',
  ];

  async function scrape(app: { request: (path: string) => Response | Promise<Response> }) {
    const res = await app.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await res.text());
  }

  it('/metrics parses as Prometheus text with every required family', async () => {
    const svc = await stubService();
    const text = await (await svc.app.request('/metrics')).text();
    for (const name of REQUIRED) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    const m = await scrape(svc.app);
    // Seeded from the catalog at startup: storage is the truth, with or without a history.
    assert.equal(
      m.get('lifeboat_backup_last_success_timestamp_seconds{job="app"}'),
      Date.parse('2026-11-21T12:00:00Z') / 1000,
    );
    assert.equal(m.get('lifeboat_backup_last_size_bytes{job="app"}'), 1_200_000);
    assert.equal(m.get('lifeboat_backup_duration_seconds{job="app"}'), 68);
    assert.equal(m.get('lifeboat_drill_restore_seconds{job="app"}'), 4);
    assert.equal(m.get('lifeboat_storage_bytes{storage="local",job="app"}'), 5_500_000);
    assert.equal(m.get('lifeboat_backup_runs_total{job="app",result="failure"}'), 0);
    assert.equal(m.get('lifeboat_scheduler_skipped_runs_total{job="reports",kind="drill"}'), 0);
  });

  it('series move after runs and skips', async () => {
    const svc = await stubService();
    await svc.app.request('/api/jobs/app/backup', { method: 'POST', headers: bearer(TOKEN) });
    svc.clock.set('2026-11-22T12:30:00Z');
    await svc.app.request('/api/jobs/app/drill', { method: 'POST', headers: bearer(TOKEN) });
    svc.deps.metrics.countSkipped('app', 'backup');
    svc.deps.metrics.setSkipped('app', 'drill', 3);
    svc.deps.metrics.recordRun({
      id: 99,
      job: 'app',
      kind: 'verify',
      trigger: 'schedule',
      startedAt: NOW,
      finishedAt: NOW,
      result: 'failure',
      error: 'sha256 mismatch: app/x.sql.zst',
    });
    const m = await scrape(svc.app);
    assert.equal(m.get('lifeboat_backup_runs_total{job="app",result="success"}'), 1);
    assert.equal(m.get('lifeboat_backup_last_success_timestamp_seconds{job="app"}'), Date.parse(NOW) / 1000);
    assert.equal(m.get('lifeboat_backup_last_size_bytes{job="app"}'), 1_250_000);
    assert.equal(m.get('lifeboat_backup_duration_seconds{job="app"}'), 70);
    assert.equal(m.get('lifeboat_storage_bytes{storage="local",job="app"}'), 6_750_000);
    assert.equal(m.get('lifeboat_drill_runs_total{job="app",result="success"}'), 1);
    assert.equal(
      m.get('lifeboat_drill_last_success_timestamp_seconds{job="app"}'),
      Date.parse('2026-11-22T12:30:00Z') / 1000,
    );
    assert.equal(m.get('lifeboat_drill_restore_seconds{job="app"}'), 3);
    assert.equal(m.get('lifeboat_scheduler_skipped_runs_total{job="app",kind="backup"}'), 1);
    assert.equal(m.get('lifeboat_scheduler_skipped_runs_total{job="app",kind="drill"}'), 3);
    assert.equal(m.get('lifeboat_verify_failures_total{job="app"}'), 1);
  });

  it('each createMetrics() has its own registry; gauges come back from the history', () => {
    const history = memoryHistory();
    const id = history.start({ job: 'app', kind: 'backup', trigger: 'schedule', startedAt: NOW });
    history.finish(id, { result: 'success', finishedAt: NOW, bytes: 42, durationMs: 1500 });
    const a = createMetrics();
    const b = createMetrics(); // the global registry would throw "already registered" here
    a.initFromHistory(history, ['app']);
    b.initFromHistory(memoryHistory(), ['app']);
    return Promise.all([a.render(), b.render()]).then(([ra, rb]) => {
      const ma = parsePrometheus(ra.body);
      assert.equal(ma.get('lifeboat_backup_last_size_bytes{job="app"}'), 42);
      assert.equal(ma.get('lifeboat_backup_duration_seconds{job="app"}'), 1.5);
      assert.equal(parsePrometheus(rb.body).get('lifeboat_backup_last_size_bytes{job="app"}'), undefined);
    });
  });

  it('an older run never moves a "last success" gauge back', async () => {
    const metrics = createMetrics();
    const run = (finishedAt: string, bytes: number) =>
      metrics.recordRun({
        id: 1,
        job: 'app',
        kind: 'backup',
        trigger: 'schedule',
        startedAt: finishedAt,
        finishedAt,
        result: 'success',
        bytes,
        durationMs: 1000,
      });
    run('2026-11-22T12:00:00Z', 10);
    run('2026-11-21T12:00:00Z', 20);
    const m = parsePrometheus((await metrics.render()).body);
    assert.equal(m.get('lifeboat_backup_last_size_bytes{job="app"}'), 10);
    assert.equal(m.get('lifeboat_backup_runs_total{job="app",result="success"}'), 2);
  });
});

describe('server: over a real socket', () => {
  it('serves health, summary, metrics and a started run on 127.0.0.1', async () => {
    const svc = await stubService();
    const server = await listen(createApp(svc.deps), { port: 0, hostname: '127.0.0.1' });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { ok: true });
      const summary = (await (await fetch(`${server.url}/status/summary`)).json()) as { jobs: unknown[] };
      assert.equal(summary.jobs.length, 2);
      parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
      const denied = await fetch(`${server.url}/api/jobs/app/backup`, { method: 'POST' });
      assert.equal(denied.status, 401);
      assert.match((await denied.json()).error, /missing Authorization/);
      const started = await fetch(`${server.url}/api/jobs/app/backup`, {
        method: 'POST',
        headers: bearer(TOKEN),
      });
      assert.equal(started.status, 202);
      assert.deepEqual(svc.triggered, [{ job: 'app', kind: 'backup' }]);
      const bad = await fetch(`${server.url}/api/runs?limit=x`);
      assert.equal(bad.status, 400);
      assert.deepEqual(Object.keys(await bad.json()), ['error']);
    } finally {
      await server.close();
    }
  });

  it('rejects (does not crash) when the port is taken', async () => {
    const svc = await stubService();
    const first = await listen(svc.app, { port: 0 });
    try {
      await assert.rejects(listen(svc.app, { port: first.port }), /EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
