/**
 * `lifeboat serve` exposure, as a real process over a real socket: beyond loopback without a token
 * it refuses to start unless --insecure-no-token (and then says so loudly), and it answers only to
 * Host names it serves, so a DNS-rebinding page cannot read the status API.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { waitFor, writeConfig } from './helpers/scenarios.js';
import { freePort } from '../src/sources/postgres/local-cluster.js';

/** A GET with an explicit Host header (fetch would not let a test choose it). */
function get(port: number, urlPath: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function serveConfig(t: test.TestContext, server = '') {
  const dir = await tempDir(t);
  const port = await freePort();
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${path.join(dir, 'b')} }\nserver: { port: ${port}${server} }\n`,
  );
  return { config, port, history: path.join(dir, 'history.db') };
}

test('serve --host 0.0.0.0 without a token refuses to start (exit 2), naming --insecure-no-token', async (t) => {
  const { config, port, history } = await serveConfig(t);
  const proc = startLifeboat(['--config', config, 'serve', '--host', '0.0.0.0', '--history', history]);
  t.after(() => proc.child.kill('SIGKILL'));
  // Either it exits, or (the old behaviour) it answers on the port: whichever comes first.
  let exited = false;
  void proc.done.then(() => (exited = true));
  const what = await waitFor('exit or listening', async () =>
    exited
      ? 'exited'
      : (await get(port, '/healthz', '127.0.0.1').catch(() => undefined))?.status === 200 && 'listening',
  );
  assert.equal(what, 'exited');
  const r = await proc.done;
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^error: serve --host 0\.0\.0\.0: server\.token is not set, so anyone who can reach port \d+ would read every job's status, history and metrics \(hint: .*--insecure-no-token/m,
  );
});

test('serve --insecure-no-token warns loudly; Host names outside loopback, IPs and allowedHosts get 421', async (t) => {
  const { config, port, history } = await serveConfig(t, ', allowedHosts: [lifeboat.internal]');
  const proc = startLifeboat([
    '--config',
    config,
    'serve',
    '--host',
    '0.0.0.0',
    '--insecure-no-token',
    '--history',
    history,
  ]);
  t.after(() => proc.child.kill('SIGKILL'));
  await waitFor(
    'healthz',
    async () => (await get(port, '/healthz', '127.0.0.1').catch(() => undefined))?.status === 200,
  );

  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `lifeboat.internal:${port}`]) {
    const r = await get(port, '/status/summary', host);
    assert.equal(r.status, 200, host);
  }
  // A rebinding page's request: its own name in Host.
  for (const urlPath of ['/status/summary', '/api/jobs', '/metrics', '/']) {
    const r = await get(port, urlPath, `attacker.example:${port}`);
    assert.equal(r.status, 421, urlPath);
    assert.deepEqual(JSON.parse(r.body), {
      error: 'host "attacker.example" is not served here; add it to server.allowedHosts',
    });
  }

  proc.child.kill('SIGTERM');
  const r = await proc.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^warn: serve: INSECURE: listening on 0\.0\.0\.0:\d+ without a token \(--insecure-no-token\); anyone who can reach it reads every job's status, history and metrics$/m,
  );
});
