/**
 * A files restore never writes outside its target (SPEC §5, issue 13). A real backup's archive is
 * replaced by a crafted one (its manifest and sidecar updated to match, so only the archive's
 * content is wrong): absolute names, `..` components, and members under a symlink the archive
 * itself created (pointing outside by an absolute or a relative path). Each restore is refused
 * with one line naming the member, and the directory beside the target and the one the symlinks
 * point at stay as they were. A symlink that merely points outside restores as a symlink.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { craftTar, type CraftedMember } from './helpers/tar-craft.js';
import { replaceArtifact } from './helpers/tamper.js';

describe('files restore refuses an archive that would write outside the target', async () => {
  const dir = await tempDir({ after }, 'lifeboat-guard-');
  const outside = path.join(dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'victim'), 'untouched\n');
  const data = path.join(dir, 'data');
  await mkdir(data);
  await writeFile(path.join(data, 'app.ini'), '[server]\n');
  // A symlink that points outside but has nothing under it: kept, as real trees hold such links.
  await symlink(outside, path.join(data, 'elsewhere'));
  const backups = path.join(dir, 'backups');
  const config = await writeConfig(
    dir,
    `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
      `jobs:\n  site:\n    source: { type: files, paths: [${JSON.stringify(data)}] }\n    storages: [disk]\n`,
  );
  const backup = await lifeboat(['--config', config, 'backup', '--json']);
  assert.equal(backup.code, 0, backup.stderr);
  const { id } = (JSON.parse(backup.stdout) as Array<{ id: string }>)[0]!;
  /** Stores `members` as the backup's archive, consistent with the manifest and the sidecar. */
  const plant = (members: CraftedMember[]) =>
    replaceArtifact(
      backups,
      'site',
      id,
      (a) => a.role === 'file',
      execFileSync('zstd', ['-q', '-c'], { input: craftTar(members) }),
    );

  const rel = data.slice(1);
  let n = 0;
  async function refused(members: CraftedMember[], member: string, why: string): Promise<void> {
    await plant(members);
    const into = path.join(dir, `into-${++n}`);
    const beside = await readdir(dir);
    const r = await lifeboat(['--config', config, 'restore', id, '--to', into]);
    assert.equal(r.code, 4, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [
      `error: restore site ${id} source main: refusing archive member ${JSON.stringify(member)}: ${why}`,
    ]);
    assert.deepEqual(await readdir(outside), ['victim']);
    assert.equal(await readFile(path.join(outside, 'victim'), 'utf8'), 'untouched\n');
    assert.deepEqual((await readdir(dir)).sort(), [...beside, path.basename(into)].sort());
  }

  test('the real backup restores, its outward symlink as a symlink', async () => {
    const into = path.join(dir, 'into-real');
    const r = await lifeboat(['--config', config, 'restore', id, '--to', into]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readlink(path.join(into, rel, 'elsewhere')), outside);
    assert.deepEqual(await readdir(outside), ['victim']);
  });

  test('an absolute member name', async () => {
    const name = path.join(outside, 'abs.txt');
    await refused(
      [
        { name: `${rel}/`, type: 'dir' },
        { name, type: 'file', content: 'pwned\n' },
      ],
      name,
      'an absolute path',
    );
  });

  test('a member with .. components', async () => {
    await refused(
      [{ name: '../../escape.txt', type: 'file', content: 'pwned\n' }],
      '../../escape.txt',
      'a .. component',
    );
  });

  test('a hard link to a path outside', async () => {
    await refused([{ name: 'hard', type: 'hardlink', link: '../outside/victim' }], 'hard', 'a .. component');
  });

  test('a member under a symlink to an absolute path outside', async () => {
    await refused(
      [
        { name: 'evil', type: 'symlink', link: outside },
        { name: 'evil/pwned', type: 'file', content: 'pwned\n' },
      ],
      'evil/pwned',
      'it lies under the symlink "evil" extracted before it',
    );
  });

  test('a member under a relative symlink climbing out, reached through ./', async () => {
    await refused(
      [
        { name: 'a/', type: 'dir' },
        { name: 'a/up', type: 'symlink', link: '../../outside' },
        { name: './a/up/sub/pwned', type: 'file', content: 'pwned\n' },
      ],
      './a/up/sub/pwned',
      'it lies under the symlink "a/up" extracted before it',
    );
  });
});
