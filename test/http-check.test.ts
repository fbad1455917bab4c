/**
 * The http check (SPEC §8): the JSON-path subset, each verdict against a real node:http server
 * (status, JSON value by the expectation language, not JSON, nothing at the path, unreachable, a
 * server that becomes healthy within waitSeconds), its config errors, and a drill of a files job
 * whose http check passes, then fails the drill (exit 1, `smoke FAILED: <check>`).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { httpHookStepSchema } from '../src/config/http-check.js';
import { jsonText, parseJsonPath, valueAt } from '../src/config/json-path.js';
import { parseConfig } from '../src/config/load.js';
import { runHttpCheck } from '../src/drill/http-check.js';
import { lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

async function endpoint(t: { after(fn: () => unknown): void }) {
  const state = { status: 200, body: '{"status":"ok","db":{"pools":[{"open":3}]}}' as string, requests: 0 };
  const server = http.createServer((_req, res) => {
    state.requests++;
    res.writeHead(state.status, { 'content-type': 'application/json' }).end(state.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz` };
}

const check = (fields: Record<string, unknown>) => httpHookStepSchema.parse({ type: 'http', ...fields });

describe('json path', () => {
  test('members, quoted members and positions; a missing step is not found', () => {
    assert.deepEqual(parseJsonPath('$'), []);
    assert.deepEqual(parseJsonPath(`$.db.pools[0]['open']["x y"]`), ['db', 'pools', 0, 'open', 'x y']);
    const doc = { a: { b: [1, { c: null }] }, t: true };
    assert.deepEqual(valueAt(doc, ['a', 'b', 1, 'c']), { found: true, value: null });
    assert.deepEqual(valueAt(doc, ['a', 'b', 2]), { found: false });
    assert.deepEqual(valueAt(doc, ['a', 'x']), { found: false });
    assert.deepEqual(valueAt(doc, ['toString']), { found: false }, 'own members only');
    assert.deepEqual(
      [jsonText('ok'), jsonText(3), jsonText(true), jsonText(null), jsonText([1])],
      ['ok', '3', 'true', null, '[1]'],
    );
    for (const bad of ['status', '$.', '$[x]', '$..a', '$[*]'])
      assert.throws(() => parseJsonPath(bad), /expected a path like \$\.status/, bad);
  });
});

describe('http check', () => {
  test('status, then the JSON value held to its expectation', async (t) => {
    const ep = await endpoint(t);
    const pass = await runHttpCheck(
      check({ url: ep.url, json: { path: '$.status', expect: 'ok' } }),
      'health',
    );
    assert.deepEqual(pass, {
      name: 'health',
      ok: true,
      expected: 'HTTP 200, $.status = ok',
      actual: 'HTTP 200, $.status = ok',
    });
    const count = await runHttpCheck(
      check({ url: ep.url, json: { path: '$.db.pools[0].open', expect: '>= 5' } }),
      'pools',
    );
    assert.deepEqual(
      [count.ok, count.expected, count.actual],
      [false, 'HTTP 200, $.db.pools[0].open >= 5', 'HTTP 200, $.db.pools[0].open = 3'],
    );
    const missing = await runHttpCheck(
      check({ url: ep.url, json: { path: '$.version', expect: 'is not null' } }),
      'v',
    );
    assert.deepEqual([missing.ok, missing.actual], [false, 'HTTP 200, nothing at $.version']);

    ep.state.status = 503;
    const down = await runHttpCheck(check({ url: ep.url }), 'health');
    assert.deepEqual([down.ok, down.expected, down.actual], [false, 'HTTP 200', 'HTTP 503']);
    const expected503 = await runHttpCheck(check({ url: ep.url, expectStatus: 503 }), 'maintenance page');
    assert.equal(expected503.ok, true);

    ep.state.status = 200;
    ep.state.body = '<html>ok</html>';
    const html = await runHttpCheck(
      check({ url: ep.url, json: { path: '$.status', expect: 'ok' } }),
      'health',
    );
    assert.deepEqual([html.ok, html.actual], [false, 'HTTP 200, not JSON']);

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await runHttpCheck(check({ url: `http://127.0.0.1:${port}/healthz` }), 'health');
    assert.deepEqual([refused.ok, refused.actual], [false, 'error: ECONNREFUSED']);
  });

  test('waitSeconds keeps trying until the application answers well', async (t) => {
    const ep = await endpoint(t);
    ep.state.status = 503;
    setTimeout(() => (ep.state.status = 200), 1500);
    const t0 = Date.now();
    const result = await runHttpCheck(check({ url: ep.url, waitSeconds: 10 }), 'health');
    assert.equal(result.ok, true);
    assert.ok(ep.state.requests >= 2 && Date.now() - t0 < 5000);
    ep.state.status = 500;
    const t1 = Date.now();
    const gaveUp = await runHttpCheck(check({ url: ep.url, waitSeconds: 2 }), 'health');
    assert.equal(gaveUp.ok, false);
    assert.ok(Date.now() - t1 < 4000, 'gives up when the time is up');
  });

  test('config: an http drill check needs no source, shares the name space, and says what is wrong in one line', () => {
    const problem = (checks: unknown[]) => {
      try {
        const config = parseConfig(
          {
            storages: { d: { type: 'local', path: '/b' } },
            jobs: {
              app: {
                sources: { db: { type: 'sqlite', path: '/x.db' }, files: { type: 'files', paths: ['/x'] } },
                storages: ['d'],
                drill: { checks },
              },
            },
          },
          'lifeboat.yaml',
        );
        return config.jobs.app!.drill;
      } catch (err) {
        return (err as Error).message;
      }
    };
    const drill = problem([
      { name: 'rows', source: 'db', sql: 'select 1', expect: 1 },
      { name: 'health', type: 'http', url: 'http://app/healthz' },
    ]);
    assert.ok(typeof drill === 'object');
    assert.deepEqual(
      drill!.checks.map((c) => c.name),
      ['rows'],
    );
    assert.deepEqual(
      drill!.httpChecks!.map((c) => [c.name, c.expectStatus, c.timeoutSeconds, c.waitSeconds]),
      [['health', 200, 10, 0]],
    );
    assert.equal(
      problem([
        { name: 'health', type: 'http', url: 'http://app/a' },
        { name: 'health', type: 'http', url: 'http://app/b' },
      ]),
      'lifeboat.yaml: jobs.app.drill.checks[1].name: duplicate check name "health"',
    );
    assert.equal(
      problem([{ name: 'health', type: 'http', url: 'http://app/a', expectStatus: 99 }]),
      'lifeboat.yaml: jobs.app.drill.checks[0].expectStatus: expected an HTTP status (100-599)',
    );
    assert.equal(
      problem([
        { name: 'health', type: 'http', url: 'http://app/a', json: { path: '$.status', expect: '> ok' } },
      ]),
      'lifeboat.yaml: jobs.app.drill.checks[0].json.expect: "> ok": expected a number after >',
    );
    assert.equal(
      problem([{ name: 'health', type: 'tcp', url: 'http://app/a' }]),
      'lifeboat.yaml: jobs.app.drill.checks[0].type: expected an SQL check (name, sql, expect) or type: http',
    );
  });

  test('lifeboat drill runs the http checks after the restore: pass, then fail', async (t) => {
    const dir = await tempDir(t);
    const ep = await endpoint(t);
    const data = path.join(dir, 'data');
    await mkdir(data);
    await writeFile(path.join(data, 'a.txt'), 'a\n');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${path.join(dir, 'b')} }\n` +
        `jobs:\n  app:\n    source: { type: files, paths: [${data}] }\n    storages: [disk]\n` +
        `    drill:\n      checks:\n        - { name: app health, type: http, url: "${ep.url}", json: { path: $.status, expect: "= ok" } }\n`,
    );
    assert.equal((await lifeboat(['--config', config, 'backup'])).code, 0);
    const ok = await lifeboat(['--config', config, 'drill', 'app', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /^smoke OK$/m);
    const report = JSON.parse(ok.stdout) as Array<{
      checks: Array<{ name: string; ok: boolean; actual: string }>;
    }>;
    assert.deepEqual(report[0]!.checks.at(-1), {
      name: 'app health',
      ok: true,
      expected: 'HTTP 200, $.status = ok',
      actual: 'HTTP 200, $.status = ok',
    });

    ep.state.body = '{"status":"migrating"}';
    const bad = await lifeboat(['--config', config, 'drill', 'app']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^smoke FAILED: app health$/m);
  });
});
