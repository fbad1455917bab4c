/**
 * Prune never loses the newest good backup (issue 10 §2, §4), through the real CLI on a local
 * storage filled by real backups of a real cluster. One history of five backups is made once; each
 * test damages its own copy of it (a flipped byte, an empty or partial or future-dated manifest, a
 * manifest naming another id, an unparseable one) and checks what prune, verify and restore do.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { errorLines, exists, filesUnder, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

interface Manifest {
  id: string;
  startedAt: string;
  artifacts: Array<{ key: string; size: number }>;
  [k: string]: unknown;
}

describe('prune keeps the newest good backup', async () => {
  const pg = await withCluster({ after }, { name: 'prune-good' });
  await pg.psql('create database app');
  await pg.psql('create table t (x int); insert into t select generate_series(1, 50);', { database: 'app' });

  // A storage with five committed backups, oldest first in `ids`; each test works on a copy.
  const history = path.join(await tempDir({ after }), 'storage');
  const ids: string[] = [];
  const historyConfig = await writeConfig(path.dirname(history), configYaml(history));
  for (let i = 0; i < 5; i++) {
    const r = await lifeboat(['--config', historyConfig, 'backup', '--json']);
    assert.equal(r.code, 0, r.stderr);
    ids.push((JSON.parse(r.stdout) as Array<{ id: string }>)[0]!.id);
  }

  function configYaml(storage: string, retention = '') {
    return (
      `storages:\n  disk: { type: local, path: ${JSON.stringify(storage)} }\n` +
      `jobs:\n  app:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [disk]\n` +
      (retention ? `    retention: ${retention}\n` : '')
    );
  }

  /** A copy of the history for one test, with a config applying `retention`. */
  async function copy(t: { after(fn: () => unknown): void }, retention: string) {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'storage');
    await cp(history, storage, { recursive: true });
    const config = await writeConfig(dir, configYaml(storage, retention));
    const manifestFile = (id: string) => path.join(storage, '.lifeboat', 'app', `${id}.json`);
    const manifest = async (id: string) => JSON.parse(await readFile(manifestFile(id), 'utf8')) as Manifest;
    const rewrite = async (id: string, edit: (m: Manifest) => unknown) => {
      const m = await manifest(id);
      await writeFile(manifestFile(id), JSON.stringify(edit(m) ?? m, null, 2));
    };
    const artifact = async (id: string) => path.join(storage, (await manifest(id)).artifacts[0]!.key);
    const listed = async () => {
      const r = await lifeboat(['--config', config, 'list', '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { backups: Array<{ id: string }> }).backups.map((b) => b.id);
    };
    const prune = async (...args: string[]) => {
      const r = await lifeboat(['--config', config, 'prune', ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      return r;
    };
    return { storage, config, manifestFile, manifest, rewrite, artifact, listed, prune };
  }

  async function flipByte(file: string) {
    const size = (await stat(file)).size;
    const fh = await open(file, 'r+');
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, Math.floor(size / 2));
    buf[0] = buf[0]! ^ 0x01;
    await fh.write(buf, 0, 1, Math.floor(size / 2));
    await fh.close();
  }

  test('a flipped byte in the newest backup: keepLast 1 keeps the newest good one too', async (t) => {
    const s = await copy(t, '{ keepLast: 1 }');
    await flipByte(await s.artifact(ids[4]!));
    const r = await s.prune();
    assert.match(
      r.stderr,
      new RegExp(
        `keep ${ids[4]} \\(not good: corrupt: sha256 mismatch in .*app\\.sql\\.zst; newer than the newest good backup\\)`,
      ),
    );
    assert.match(r.stderr, new RegExp(`keep ${ids[3]} \\(last 1\\)`));
    assert.match(r.stderr, new RegExp(`remove ${ids[0]} \\(no rule keeps it\\)`));
    assert.deepEqual(await s.listed(), ids.slice(3));
    const verify = await lifeboat(['--config', s.config, 'verify', ids[3]!]);
    assert.equal(verify.code, 0, verify.stderr);
  });

  test('a truncated newest artifact is not good by the listing alone', async (t) => {
    const s = await copy(t, '{ keepLast: 2 }');
    const file = await s.artifact(ids[4]!);
    const size = (await stat(file)).size;
    await writeFile(file, (await readFile(file)).subarray(0, size - 10));
    const r = await s.prune('--dry-run', '--json');
    assert.match(
      r.stderr,
      new RegExp(
        `keep ${ids[4]} \\(not good: incomplete: .*app\\.sql\\.zst has ${size - 10} bytes, the manifest says ${size}; newer than the newest good backup\\)`,
      ),
    );
    const [plan] = JSON.parse(r.stdout) as Array<{ keep: Array<{ id: string }>; remove: string[] }>;
    // Two good ones besides the damaged one.
    assert.deepEqual(
      plan!.keep.map((k) => k.id),
      [ids[4], ids[3], ids[2]],
    );
    assert.deepEqual(plan!.remove, [ids[1], ids[0]]);
  });

  test('a missing sidecar makes a backup not good', async (t) => {
    const s = await copy(t, '{ keepLast: 1 }');
    await rm(`${await s.artifact(ids[4]!)}.sha256`);
    const r = await s.prune();
    assert.match(
      r.stderr,
      new RegExp(`keep ${ids[4]} \\(not good: incomplete: .*app\\.sql\\.zst\\.sha256 is missing`),
    );
    assert.deepEqual(await s.listed(), ids.slice(3));
  });

  test('a manifest with no artifacts is not a backup: left alone, failed by verify and restore', async (t) => {
    const s = await copy(t, '{ keepLast: 1 }');
    const emptied = (await s.manifest(ids[4]!)).artifacts[0]!.key;
    await s.rewrite(ids[4]!, (m) => ({ ...m, artifacts: [] }));
    const r = await s.prune();
    assert.match(
      r.stderr,
      new RegExp(
        `leave \\.lifeboat/app/${ids[4]}\\.json alone \\(invalid manifest, not a backup: .*lists no artifacts`,
      ),
    );
    assert.match(r.stderr, new RegExp(`keep ${ids[3]} \\(last 1\\)`));
    assert.match(r.stdout, /\t1 invalid manifest\(s\) left alone/);
    assert.equal(await exists(s.manifestFile(ids[4]!)), true, 'never acted on');
    assert.equal(await exists(path.join(s.storage, emptied)), true, 'its folder is kept');
    assert.deepEqual(await s.listed(), [ids[3]]);

    const all = await lifeboat(['--config', s.config, 'verify', '--all']);
    assert.equal(all.code, 4, all.stderr);
    assert.match(all.stderr, new RegExp(`verify app ${ids[4]}: invalid manifest: .*lists no artifacts`));
    assert.doesNotMatch(all.stderr, /OK \(0 artifact/);
    assert.match(all.stderr, new RegExp(`verify app ${ids[3]}: sha256 OK \\(1 artifact\\(s\\)\\)`));

    const restore = await lifeboat(['--config', s.config, 'restore', ids[4]!, '--to', pg.url('nowhere')]);
    assert.equal(restore.code, 4, restore.stderr);
    assert.deepEqual(errorLines(restore.stderr), [
      `error: read manifest .lifeboat/app/${ids[4]}.json: it lists no artifacts, so it is not a backup`,
    ]);
  });

  test('a partial backup is not good', async (t) => {
    const s = await copy(t, '{ keepLast: 1 }');
    await s.rewrite(ids[4]!, (m) => ({ ...m, partial: true, missing: [{ database: 'gone', error: 'x' }] }));
    const r = await s.prune();
    assert.match(
      r.stderr,
      new RegExp(
        `keep ${ids[4]} \\(not good: partial: gone not backed up; newer than the newest good backup\\)`,
      ),
    );
    assert.deepEqual(await s.listed(), ids.slice(3));
  });

  test('a future-dated backup does not move the keepWithin window, and is reported', async (t) => {
    const s = await copy(t, '{ keepWithin: 1d, minKeep: 0 }');
    await s.rewrite(ids[0]!, (m) => ({ ...m, startedAt: '2099-01-01T00:00:00.000Z' }));
    const r = await s.prune();
    assert.match(
      r.stderr,
      new RegExp(`warn.*${ids[0]} is dated in the future \\(2099-01-01T00:00:00\\.000Z\\)`),
    );
    assert.deepEqual(await s.listed(), ids, 'every real recent backup stays');
  });

  test('a manifest whose id is not its file name is invalid and never acted on', async (t) => {
    const s = await copy(t, '{ keepLast: 1 }');
    // The manifest of ids[1] claims to be the newest backup.
    await s.rewrite(ids[1]!, (m) => ({ ...m, id: ids[4] }));
    const ownFile = await s.artifact(ids[1]!);
    const before = await filesUnder(s.storage);
    const r = await s.prune();
    assert.match(
      r.stderr,
      new RegExp(`leave \\.lifeboat/app/${ids[1]}\\.json alone \\(invalid manifest.*not its file name`),
    );
    assert.match(r.stderr, new RegExp(`keep ${ids[4]} \\(last 1\\)`));
    const after = await filesUnder(s.storage);
    // The newest backup is whole; the mismatched manifest and its folder stay as they were.
    const newest = await s.manifest(ids[4]!);
    assert.equal(newest.id, ids[4]);
    assert.equal(await exists(path.join(s.storage, newest.artifacts[0]!.key)), true);
    assert.equal(await exists(s.manifestFile(ids[1]!)), true);
    assert.equal(await exists(ownFile), true);
    // By whole id: "…Z" is a prefix of the next backup's "…Z-2" when both started in one second.
    const ofId = (f: string, id: string) => f === `.lifeboat/app/${id}.json` || f.includes(`/${id}/`);
    assert.deepEqual(
      before.filter((f) => !after.includes(f)).filter((f) => [ids[1]!, ids[4]!].some((id) => ofId(f, id))),
      [],
    );
    assert.deepEqual(await s.listed(), [ids[4]]);
  });

  test('the artifacts of an unparseable manifest are kept and reported, not removed as orphans', async (t) => {
    const s = await copy(t, '{ keepLast: 10 }');
    const file = await s.artifact(ids[0]!);
    await writeFile(s.manifestFile(ids[0]!), '{ "format": "lifeboat-manifest", "trunc');
    const old = new Date(Date.now() - 48 * 3600 * 1000);
    for (const f of [file, `${file}.sha256`]) await utimes(f, old, old);
    const r = await s.prune();
    assert.match(
      r.stderr,
      new RegExp(
        `leave \\.lifeboat/app/${ids[0]}\\.json alone \\(invalid manifest, not a backup: .*not valid JSON\\)`,
      ),
    );
    assert.match(
      r.stderr,
      new RegExp(
        `keep .*app\\.sql\\.zst \\(in the folder of \\.lifeboat/app/${ids[0]}\\.json, which cannot be read\\)`,
      ),
    );
    assert.equal(await exists(file), true);
    assert.equal(await exists(`${file}.sha256`), true);
  });

  test('prune removes old temp files with their empty folder and counts them in its summary', async (t) => {
    const s = await copy(t, '{ keepLast: 10 }');
    const folder = path.join(s.storage, 'app', '2020', '01', '01', '20200101T000000Z');
    await mkdir(folder, { recursive: true });
    const temp = path.join(folder, '.lifeboat-tmp-1-abcd-app.sql.zst');
    await writeFile(temp, 'x');
    const old = new Date(Date.now() - 48 * 3600 * 1000);
    await utimes(temp, old, old);
    const r = await s.prune();
    assert.match(r.stdout, /^app\tdisk\tkeep 5\tremoved 0 backup\(s\), 0 leftover\(s\), 1 temp file\(s\)$/m);
    assert.match(
      r.stderr,
      /removed app\/2020\/01\/01\/20200101T000000Z\/\.lifeboat-tmp-1-abcd-app\.sql\.zst \(an interrupted write/,
    );
    assert.equal(await exists(path.join(s.storage, 'app', '2020')), false, 'no empty folders left');
    assert.deepEqual(await s.listed(), ids);
  });
  // verify checks the `.sha256` files too: they are what `sha256sum -c` trusts when restoring by hand.
  test('verify fails a backup whose sidecar was altered or deleted, naming the sidecar', async (t) => {
    const s = await copy(t, '');
    const altered = `${await s.artifact(ids[3]!)}.sha256`;
    const text = await readFile(altered, 'utf8');
    await writeFile(altered, `${text[0] === '0' ? '1' : '0'}${text.slice(1)}`);
    const deleted = `${await s.artifact(ids[4]!)}.sha256`;
    await rm(deleted);
    const rel = (f: string) => path.relative(s.storage, f).split(path.sep).join('/');

    const one = await lifeboat(['--config', s.config, 'verify', ids[3]!]);
    assert.equal(one.code, 4, one.stderr);
    assert.match(one.stderr, new RegExp(`verify app ${ids[3]}: sidecar: ${rel(altered)} \\(expected "`));
    const all = await lifeboat(['--config', s.config, 'verify', '--all']);
    assert.equal(all.code, 4, all.stderr);
    assert.match(
      all.stderr,
      new RegExp(`verify app ${ids[4]}: missing: ${rel(deleted)} \\(checksum file is missing\\)`),
    );
    assert.ok(
      errorLines(all.stderr)
        .at(-1)!
        .startsWith(`error: verify: 2 backup(s) failed: ${rel(altered)}, ${rel(deleted)} (hint: `),
      all.stderr,
    );
  });
});
