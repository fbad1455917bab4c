/**
 * Source health of `lifeboat serve`, in process against real PostgreSQL: a running cluster is up; a
 * stopped one, a closed port, a wrong password and a server that never answers are down with one
 * error line that names host:port/db and never the password; a hung source is cut off by the
 * timeout; the cache is what readers see, and the background loop probes at start and stops.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { Redactor } from '../src/util/redact.js';
import { createMetrics } from '../src/server/metrics.js';
import { createSourceHealth, type SourceStatus } from '../src/service/source-health.js';
import { sourceChecks } from '../src/service/source-probes.js';
import { withCluster } from './helpers/cluster.js';
import { waitFor } from './helpers/scenarios.js';
import { freePort } from '../src/sources/postgres/local-cluster.js';

const PASSWORD = 'Sw0rdfish-not-for-logs';

/** A config of postgres jobs with these URLs, validated the way `lifeboat serve` loads it. */
function configOf(urls: Record<string, string>) {
  const jobs = Object.fromEntries(
    Object.entries(urls).map(([name, url]) => [name, { source: { type: 'postgres', url }, storages: ['d'] }]),
  );
  return parseConfig({ storages: { d: { type: 'local', path: '/nonexistent' } }, jobs });
}

/** The connect error of a closed port, as the probe reports it. */
const refused = (port: number) =>
  new RegExp(`^check source of \\w+: connect to 127\\.0\\.0\\.1:${port}/postgres: .*refused`, 'i');

function byName(statuses: SourceStatus[]): Record<string, SourceStatus> {
  return Object.fromEntries(statuses.map((s) => [s.name, s]));
}

function assertDown(status: SourceStatus | undefined, pattern: RegExp) {
  assert.ok(status, 'a result was recorded');
  assert.equal(status.up, false);
  assert.match(status.error ?? '', pattern);
  assert.doesNotMatch(status.error ?? '', /\n/, 'one line');
  assert.ok(!status.error!.includes(PASSWORD), `no password in: ${status.error}`);
  assert.ok(!Number.isNaN(Date.parse(status.checkedAt)));
}

test('a running cluster is up; stopped, it is down with the connect error and no password', async (t) => {
  const pg = await withCluster(t, { name: 'src-health' });
  await pg.psql(`create role prober login password '${PASSWORD}'`);
  const withPassword = (port: number) => `postgres://prober:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const deadPort = await freePort();
  const redactor = new Redactor();
  const metrics = createMetrics();
  const health = createSourceHealth({
    sources: sourceChecks(configOf({ app: withPassword(pg.port), gone: withPassword(deadPort) })),
    redact: (text) => redactor.redact(text),
    onProbe: (s) => metrics.setSourceUp(s.name, s.up),
  });
  assert.deepEqual(health.statuses(), [], 'nothing probed yet: unknown, not down');

  await health.probeAll();
  let seen = byName(health.statuses());
  assert.equal(seen.app?.up, true, JSON.stringify(seen.app));
  assert.equal(seen.app?.error, undefined);
  assertDown(seen.gone, refused(deadPort));
  const text = (await metrics.render()).body;
  assert.match(text, /^lifeboat_source_up\{job="app"\} 1$/m);
  assert.match(text, /^lifeboat_source_up\{job="gone"\} 0$/m);

  await pg.stop();
  await health.probeAll();
  seen = byName(health.statuses());
  assertDown(seen.app, refused(pg.port));
  assert.match((await metrics.render()).body, /^lifeboat_source_up\{job="app"\} 0$/m);
});

test('a wrong password is down as "authentication failed", and the password is not shown', async (t) => {
  const pg = await withCluster(t, { name: 'src-auth' });
  await pg.psql(`create role prober login password 'the-right-one'`);
  // The test clusters trust everyone; make this role prove its password (the first matching line
  // wins). writeFile keeps the file's owner and mode.
  const hba = path.join(pg.dataDir, 'pg_hba.conf');
  await writeFile(hba, `host all prober 127.0.0.1/32 scram-sha-256\n${await readFile(hba, 'utf8')}`);
  await pg.psql('select pg_reload_conf()');
  const url = (pw: string) => `postgres://prober:${encodeURIComponent(pw)}@127.0.0.1:${pg.port}/postgres`;
  const health = createSourceHealth({
    sources: sourceChecks(configOf({ right: url('the-right-one'), wrong: url(PASSWORD) })),
  });
  // pg_reload_conf() signals the postmaster; give it a moment to read the file.
  const seen = await waitFor('the new pg_hba.conf in force', async () => {
    const statuses = byName(await health.probeAll());
    return statuses.wrong?.up === false ? statuses : undefined;
  });
  assert.equal(seen.right?.up, true, JSON.stringify(seen.right));
  // No redactor passed: the line is clean because the probe never puts the URL in it.
  assertDown(
    seen.wrong,
    /^check source of wrong: connect to 127\.0\.0\.1:\d+\/postgres: authentication failed$/,
  );
});

test('a server that never answers is down after the timeout; readers never wait for it', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const health = createSourceHealth({
    sources: sourceChecks(configOf({ hung: `postgres://u:${PASSWORD}@127.0.0.1:${port}/app` })),
    timeoutMs: 300,
  });
  const started = Date.now();
  const round = health.probeAll();
  // While the probe hangs, the cache answers at once (nothing known yet: nothing reported).
  await waitFor('the probe to reach the server', async () => sockets.size > 0);
  assert.deepEqual(health.statuses(), []);
  await round;
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 290 && elapsed < 2_000, `the probe gave up after ${elapsed} ms`);
  assertDown(byName(health.statuses()).hung, /^check source of hung: no answer within 0\.3s$/);
});

test('error lines are redacted; the loop probes at start and on each interval, and stops', async () => {
  const redactor = new Redactor();
  const leaky = `postgres://admin:${PASSWORD}@db.internal:5432/app`;
  redactor.addUrl(leaky);
  let calls = 0;
  const seen: SourceStatus[] = [];
  const health = createSourceHealth({
    sources: [
      {
        name: 'leaky',
        // A driver that quotes the URL it was given, as some do.
        probe: async () => {
          calls++;
          throw new Error(`could not connect to ${leaky}\n(retrying is pointless)`);
        },
      },
    ],
    intervalMs: 50,
    redact: (text) => redactor.redact(text),
    onProbe: (s) => seen.push(s),
  });
  health.start();
  await waitFor('three rounds', async () => calls >= 3, 5_000);
  await health.stop();
  const after = calls;
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(calls, after, 'no probe after stop()');
  const status = health.statuses()[0]!;
  assertDown(status, /^check source of leaky: could not connect to postgres:\/\/admin:\*\*\*@db\.internal/);
  assert.ok(seen.length >= 3 && seen.every((s) => !s.error!.includes(PASSWORD)));
});
