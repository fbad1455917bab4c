/**
 * The k3s-shaped job of SPEC §5 (`state.db` + `token`, one backup), run end to end with the real
 * CLI against whatever storage the caller configures: back up while a writer keeps committing to
 * state.db, drill (integrity_check, row counts, an SQL check, every token file against the index),
 * restore both sources, and check what came back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { lifeboat } from './lifeboat.js';
import { writeConfig } from './scenarios.js';
import { startSqliteWriter } from './sqlite-writer.js';

export interface K3sFlowOptions {
  dir: string;
  /** The `storages:` entries (YAML, indented two spaces) and the name the job uses. */
  storagesYaml: string;
  storage: string;
  env?: NodeJS.ProcessEnv;
  /** A local storage's directory: also run the README's by-hand restore commands there. */
  byHand?: string;
}

export async function k3sFlow(opts: K3sFlowOptions): Promise<void> {
  const { dir } = opts;
  const server = path.join(dir, 'srv/data/k3s/server');
  await mkdir(path.join(server, 'db'), { recursive: true });
  const db = path.join(server, 'db/state.db');
  await writeFile(path.join(server, 'token'), 'K10abcdef::server:0123456789\n');
  await chmod(path.join(server, 'token'), 0o600);
  const config = await writeConfig(
    dir,
    `storages:\n${opts.storagesYaml}` +
      `jobs:\n  k3s:\n    sources:\n` +
      `      state: { type: sqlite, path: ${JSON.stringify(db)} }\n` +
      `      token: { type: files, paths: [${JSON.stringify(path.join(server, 'token'))}] }\n` +
      `    storages: [${opts.storage}]\n` +
      `    drill:\n      checks:\n` +
      `        - { name: events present, source: state, sql: "select count(*) from events", expect: ">= 1" }\n`,
  );
  const env = opts.env ?? {};
  const writer = await startSqliteWriter(db, { fillMb: 2 });
  let before: number;
  try {
    await writer.waitForRows(10);
    before = writer.committed();
    const backup = await lifeboat(['--config', config, 'backup', 'k3s', '--json'], { env });
    assert.equal(backup.code, 0, backup.stderr);
  } finally {
    await writer.stop();
  }

  const drill = await lifeboat(['--config', config, 'drill', 'k3s', '--json'], { env });
  assert.equal(drill.code, 0, drill.stderr + drill.stdout);
  const [report] = JSON.parse(drill.stdout) as Array<{ checks: Array<{ name: string; ok: boolean }> }>;
  const checks = report!.checks.map((c) => `${c.name}:${c.ok}`);
  for (const c of [
    'state: integrity_check state.db:true',
    'state: rows state.db: events:true',
    'state: rows state.db: audit:true',
    'state: events present:true',
    'token: files match the index:true',
  ])
    assert.ok(checks.includes(c), `${c} in ${checks.join(', ')}`);

  // Restore both sources of the one backup.
  const out = path.join(dir, 'restored');
  const state = path.join(out, 'state.db');
  const r1 = await lifeboat(
    ['--config', config, 'restore', 'latest', '--job', 'k3s', '--source', 'state', '--to', state],
    { env },
  );
  assert.equal(r1.code, 0, r1.stderr);
  const r2 = await lifeboat(
    [
      '--config',
      config,
      'restore',
      'latest',
      '--job',
      'k3s',
      '--source',
      'token',
      '--to',
      path.join(out, 'token'),
    ],
    { env },
  );
  assert.equal(r2.code, 0, r2.stderr);

  const copy = new DatabaseSync(state, { readOnly: true });
  try {
    const check = copy.prepare('PRAGMA integrity_check').get() as Record<string, unknown>;
    assert.equal(Object.values(check)[0], 'ok');
    const seqs = copy
      .prepare('select seq from events order by seq')
      .all()
      .map((r) => Number(r.seq));
    const audit = Number((copy.prepare('select count(*) as n from audit').get() as { n: number }).n);
    // A prefix of the writer's transactions, none torn, none committed before the backup missing.
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
    );
    assert.equal(audit, seqs.length);
    assert.ok(
      seqs.length >= before,
      `restored ${seqs.length} rows, ${before} were committed before the backup`,
    );
  } finally {
    copy.close();
  }
  const token = path.join(out, 'token', server.slice(1), 'token');
  assert.equal(await readFile(token, 'utf8'), 'K10abcdef::server:0123456789\n');
  assert.equal((await stat(token)).mode & 0o777, 0o600);

  if (opts.byHand) await restoreByHand(opts.byHand, path.join(dir, 'by-hand'), server);

  // A second restore over the restored file is refused, and kept aside with --force.
  const again = await lifeboat(
    ['--config', config, 'restore', 'latest', '--job', 'k3s', '--source', 'state', '--to', state],
    { env },
  );
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stderr, new RegExp(`error: restore k3s \\S+ source state: ${state} exists`));
  const forced = await lifeboat(
    ['--config', config, 'restore', 'latest', '--job', 'k3s', '--source', 'state', '--to', state, '--force'],
    { env },
  );
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok((await stat(`${state}.lifeboat-old`)).isFile());
}

/** The README's commands, as written, in the folder of each artifact. */
async function restoreByHand(storage: string, into: string, server: string): Promise<void> {
  const find = (name: string) =>
    execFileSync('find', [storage, '-name', name], { encoding: 'utf8' }).trim().split('\n')[0]!;
  const stateDir = path.dirname(find('state.db.zst'));
  const tokenDir = path.dirname(find('token.tar.zst'));
  await mkdir(into, { recursive: true });
  execFileSync('sh', ['-c', 'sha256sum -c state.db.zst.sha256 && zstd -dc state.db.zst > state.db'], {
    cwd: stateDir,
  });
  execFileSync(
    'sh',
    ['-c', `sha256sum -c token.tar.zst.sha256 && zstd -dc token.tar.zst | tar -x -C ${into}`],
    {
      cwd: tokenDir,
    },
  );
  const db = new DatabaseSync(path.join(stateDir, 'state.db'), { readOnly: true });
  try {
    assert.equal(
      Object.values(db.prepare('PRAGMA integrity_check').get() as Record<string, unknown>)[0],
      'ok',
    );
  } finally {
    db.close();
  }
  assert.equal(
    await readFile(path.join(into, server.slice(1), 'token'), 'utf8'),
    'K10abcdef::server:0123456789\n',
  );
}
