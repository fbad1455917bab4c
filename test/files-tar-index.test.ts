/**
 * The per-file index reader (src/sources/files/tar-index.ts) on archives GNU tar writes (pax, gnu,
 * ustar), fed in pieces of every awkward size: headers and pax bodies split across writes, or
 * whole in one, must give the same entries, and each file's sha256 must be its content's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TarIndexer, type IndexEntry } from '../src/sources/files/tar-index.js';
import { tempDir } from './helpers/roundtrip.js';

function index(archive: Buffer, piece: number): { entries: IndexEntry[]; headers: string[] } {
  const entries: IndexEntry[] = [];
  const headers: string[] = [];
  const indexer = new TarIndexer(
    (e) => entries.push(e),
    (e) => headers.push(e.path),
  );
  // One reused buffer, as the pump reads: the indexer must copy whatever it keeps.
  const buf = Buffer.alloc(piece);
  for (let at = 0; at < archive.length; at += piece) {
    const n = archive.copy(buf, 0, at, at + piece);
    indexer.write(buf.subarray(0, n));
    buf.fill(0xff);
  }
  indexer.end('index');
  return { entries, headers };
}

describe('tar index', async () => {
  const dir = await tempDir({ after }, 'lifeboat-tar-index-');
  const tree = path.join(dir, 'tree');
  const deep = path.join(tree, 'd'.repeat(90), 'e'.repeat(90));
  await mkdir(deep, { recursive: true });
  const files: Record<string, Buffer> = {
    [path.join(deep, `long-${'x'.repeat(120)}`)]: Buffer.from('a long name\n'),
    [path.join(tree, 'ünïcødé-名前.txt')]: Buffer.from('utf-8\n'),
    [path.join(tree, 'empty')]: Buffer.alloc(0),
    [path.join(tree, 'exactly-512')]: Buffer.alloc(512, 'a'),
    [path.join(tree, 'big')]: Buffer.from(Array.from({ length: 40_000 }, (_, i) => `${i * 7919}\n`).join('')),
  };
  for (const [f, content] of Object.entries(files)) await writeFile(f, content);
  await symlink('empty', path.join(tree, 'short-link'));
  await link(path.join(tree, 'big'), path.join(tree, 'hard'));
  const sha = new Map(
    Object.entries(files).map(([f, c]) => [f.slice(1), createHash('sha256').update(c).digest('hex')]),
  );
  // `hard` and `big` are one file: tar archives it once as a file, the other name as a hard link.
  sha.set(path.join(tree, 'hard').slice(1), sha.get(path.join(tree, 'big').slice(1))!);

  for (const format of ['pax', 'gnu']) {
    test(`${format}: every piece size gives the same entries, each file hashed`, async () => {
      const archive = path.join(dir, `${format}.tar`);
      execFileSync('tar', [
        '--create',
        `--format=${format}`,
        `--file=${archive}`,
        '--directory=/',
        tree.slice(1),
      ]);
      const bytes = await readFile(archive);
      const whole = index(bytes, bytes.length);
      const hashed = whole.entries.filter((e) => e.type === 'file');
      assert.equal(hashed.length, 5);
      for (const e of hashed) assert.equal(e.sha256, sha.get(e.path), e.path);
      assert.equal(whole.entries.find((e) => e.path.endsWith('short-link'))?.link, 'empty');
      assert.equal(whole.entries.filter((e) => e.type === 'hardlink').length, 1);
      assert.deepEqual(
        whole.headers,
        whole.entries.map((e) => e.path),
      );
      for (const piece of [1, 7, 511, 512, 513, 4096, 65_536]) {
        assert.deepEqual(index(bytes, piece), whole, `pieces of ${piece} bytes`);
      }
    });
  }

  test('an archive cut inside a header or a member is refused', async () => {
    const archive = path.join(dir, 'cut.tar');
    execFileSync('tar', ['--create', '--format=pax', `--file=${archive}`, '--directory=/', tree.slice(1)]);
    const bytes = await readFile(archive);
    for (const cut of [100, 512 + 100, bytes.length / 2]) {
      assert.throws(
        () => index(bytes.subarray(0, cut), 513),
        /the archive ends inside|the archive has no end marker/,
      );
    }
  });
});
