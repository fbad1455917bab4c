/**
 * The files source's archive (src/sources/files/tar-stream.ts, walk.ts, tar-index.ts) against a real
 * tree and GNU tar: what it keeps (modes, owners, mtimes, symlinks, hard links, empty directories),
 * what it skips with a note (sockets, devices), `exclude`, the per-file index (every file's SHA-256 equals
 * the file's), a file changed while tar reads it named in the warnings, and missing paths refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import {
  appendFile,
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import type { IndexEntry } from '../src/sources/files/tar-index.js';
import { startTar } from '../src/sources/files/tar-stream.js';
import { resolveRoots } from '../src/sources/files/walk.js';
import { LifeboatError } from '../src/util/errors.js';
import { tempDir } from './helpers/roundtrip.js';

const what = 'read files path';

async function readIndex(file: string): Promise<IndexEntry[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as IndexEntry);
}

describe('files source archive', async () => {
  const dir = await tempDir({ after }, 'lifeboat-files-tar-');
  const tree = path.join(dir, 'tree');

  await mkdir(path.join(tree, 'repos/a.git/objects'), { recursive: true });
  await mkdir(path.join(tree, 'empty'));
  await mkdir(path.join(tree, 'cache'));
  await writeFile(path.join(tree, 'repos/a.git/HEAD'), 'ref: refs/heads/main\n');
  await writeFile(path.join(tree, 'repos/a.git/objects/blob'), Buffer.alloc(300_000, 7));
  await writeFile(path.join(tree, 'secret'), 'k3s token\n', { mode: 0o600 });
  await chmod(path.join(tree, 'secret'), 0o600);
  await writeFile(path.join(tree, 'app.log'), 'noise\n');
  await writeFile(path.join(tree, 'cache/x'), 'cached\n');
  await symlink('repos/a.git/HEAD', path.join(tree, 'head-link'));
  await link(path.join(tree, 'secret'), path.join(tree, 'secret-hardlink'));
  execFileSync('chown', ['1234:5678', path.join(tree, 'repos/a.git/HEAD')]);
  await utimes(path.join(tree, 'repos/a.git/HEAD'), 1_600_000_000, 1_600_000_000);
  const sock = net.createServer().listen(path.join(tree, 'ctl.sock'));
  await new Promise((resolve) => sock.once('listening', resolve));
  after(() => sock.close());
  execFileSync('mknod', [path.join(tree, 'null-dev'), 'c', '1', '3']);

  test('keeps modes, owners, mtimes, symlinks, hard links and empty dirs; skips sockets and devices; excludes; indexes every file', async () => {
    const archive = path.join(dir, 'a.tar');
    const indexFile = path.join(dir, 'a.index');
    const roots = await resolveRoots([tree], what);
    const run = await startTar({
      roots,
      exclude: ['*.log', `${tree}/cache`],
      onUnreadable: 'fail',
      indexFile,
      workDir: await mkdtemp(path.join(dir, 'work-')),
      what,
      signal: new AbortController().signal,
    });
    await pipeline(run.dump.stream, createWriteStream(archive));
    await run.dump.done;
    assert.deepEqual(run.warnings, []);
    assert.deepEqual([...run.notes].sort(), [
      `skipped device ${path.join(tree, 'null-dev')}`,
      `skipped socket ${path.join(tree, 'ctl.sock')}`,
    ]);

    const out = path.join(dir, 'out');
    await mkdir(out);
    execFileSync('tar', ['-x', '-p', '-f', archive, '-C', out]);
    const back = path.join(out, tree.slice(1));
    assert.equal(await readFile(path.join(back, 'repos/a.git/HEAD'), 'utf8'), 'ref: refs/heads/main\n');
    const head = await lstat(path.join(back, 'repos/a.git/HEAD'));
    assert.equal(head.uid, 1234);
    assert.equal(head.gid, 5678);
    assert.equal(head.mtimeMs, 1_600_000_000_000);
    assert.equal((await lstat(path.join(back, 'secret'))).mode & 0o777, 0o600);
    assert.equal(await readlink(path.join(back, 'head-link')), 'repos/a.git/HEAD');
    assert.equal(
      (await lstat(path.join(back, 'secret'))).ino,
      (await lstat(path.join(back, 'secret-hardlink'))).ino,
    );
    assert.ok((await lstat(path.join(back, 'empty'))).isDirectory());
    await assert.rejects(lstat(path.join(back, 'app.log')), { code: 'ENOENT' });
    await assert.rejects(lstat(path.join(back, 'cache')), { code: 'ENOENT' });
    await assert.rejects(lstat(path.join(back, 'ctl.sock')), { code: 'ENOENT' });
    await assert.rejects(lstat(path.join(back, 'null-dev')), { code: 'ENOENT' });

    const index = await readIndex(indexFile);
    const byPath = new Map(index.map((e) => [e.path, e]));
    const rel = (p: string) => path.join(tree, p).slice(1);
    // Whichever of the two hard-linked names tar met first holds the content; the other links to it.
    const first = byPath.get(rel('secret'))?.type === 'file' ? 'secret' : 'secret-hardlink';
    const second = first === 'secret' ? 'secret-hardlink' : 'secret';
    for (const f of ['repos/a.git/HEAD', 'repos/a.git/objects/blob', first]) {
      const e = byPath.get(rel(f));
      assert.ok(e, `index names ${f}`);
      const content = await readFile(path.join(tree, f));
      assert.equal(e.sha256, createHash('sha256').update(content).digest('hex'), f);
      assert.equal(e.size, content.length);
    }
    assert.equal(byPath.get(rel(first))?.mode, '0600');
    assert.equal(byPath.get(rel('head-link'))?.type, 'symlink');
    assert.equal(byPath.get(rel('head-link'))?.link, 'repos/a.git/HEAD');
    assert.equal(byPath.get(rel(second))?.type, 'hardlink');
    assert.equal(byPath.get(rel(second))?.link, rel(first));
    assert.equal(byPath.get(rel('empty'))?.type, 'dir');
    assert.equal(byPath.get(rel('repos/a.git/HEAD'))?.uid, 1234);
    assert.equal(byPath.has(rel('app.log')), false);
    assert.equal(byPath.has(rel('null-dev')), false);
    assert.deepEqual(run.totals(), { entries: index.length, bytes: 300_000 + 21 + 10 });
  });

  test('a file that changes while tar reads it is archived and named in the warnings', async () => {
    const big = path.join(dir, 'growing.bin');
    await writeFile(big, Buffer.alloc(4 << 20, 1));
    const run = await startTar({
      roots: [big],
      exclude: [],
      onUnreadable: 'fail',
      indexFile: path.join(dir, 'growing.index'),
      workDir: await mkdtemp(path.join(dir, 'work-')),
      what,
      signal: new AbortController().signal,
    });
    // Stop reading once tar is inside the file: it blocks on the full pipe, mid-file, until we read on.
    let seen = 0;
    let changed = false;
    for await (const chunk of run.dump.stream as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (!changed && seen > 256 << 10) {
        changed = true;
        await appendFile(big, 'more');
      }
    }
    await run.dump.done;
    assert.deepEqual(run.warnings, [`changed while read: ${big} (file changed as we read it)`]);
  });

  test('a missing path, and a glob matching nothing, fail before anything is archived', async () => {
    await assert.rejects(resolveRoots([path.join(dir, 'nope')], what), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.message, `read files path ${path.join(dir, 'nope')}: does not exist`);
      return true;
    });
    await assert.rejects(resolveRoots([path.join(dir, '*.none')], what), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.message, `read files path ${path.join(dir, '*.none')}: matches nothing`);
      return true;
    });
  });
});
