/**
 * Configuration that used to pass `check` and then fail (issue 10 §5), through the real CLI with a
 * real cluster as the source, so that only the configuration is wrong: every such config is exit
 * 2 with the field named, in `check` and in `backup`, before anything is written. Plus values that
 * would forge output lines, and `--from` a directory that does not exist (§4).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { withCluster } from './helpers/cluster.js';
import { errorLines, filesUnder, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';

describe('configuration errors', async () => {
  const pg = await withCluster({ after }, { name: 'config-cli' });
  await pg.psql('create database app');

  async function setup(t: { after(fn: () => unknown): void }, job: string, storagePath?: string) {
    const dir = await tempDir(t);
    const storage = path.join(dir, 'storage');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${storagePath ?? JSON.stringify(storage)} }\njobs:\n  app:\n    source: { type: postgres, url: "${pg.url('app')}" }\n    storages: [disk]\n${job}`,
    );
    return { dir, storage, config };
  }

  const cases: Array<[string, string, RegExp]> = [
    ['layout: "../../x/{id}"', 'layout', /"\.\.\/\.\.\/x\/\{id\}" has a "\." or "\.\." folder/],
    ['layout: "."', 'layout', /"\." has a "\." or "\.\." folder; a layout stays inside the storage/],
    ['layout: "{job}/./{id}"', 'layout', /has a "\." or "\.\." folder/],
    ['layout: "/srv/backups/{id}"', 'layout', /"\/srv\/backups\/\{id\}" is an absolute path/],
    [
      'name: "../../../n-{db}"',
      'name',
      /"\.\.\/\.\.\/\.\.\/n-\{db\}" contains a folder; a name is one file name/,
    ],
    ['retention: { keepWithin: 99999999999999999999y }', 'retention.keepWithin', /expected at most 1000y/],
  ];
  for (const [line, field, problem] of cases) {
    test(`${line}: check and backup exit 2 naming jobs.app.${field}, nothing written`, async (t) => {
      const { storage, config } = await setup(t, `    ${line}\n`);
      // Every command loads the config the same way: check and backup stand for them here; the
      // first case also runs the others.
      const commands =
        line === cases[0]![0] ? ['check', 'backup', 'list', 'prune', 'status', 'drill'] : ['check', 'backup'];
      const runs = await Promise.all(commands.map((command) => lifeboat(['--config', config, command])));
      runs.forEach((r, i) => {
        assert.equal(r.code, 2, `${commands[i]}: ${r.stderr}`);
        const errors = errorLines(r.stderr);
        assert.equal(errors.length, 1, r.stderr);
        assert.ok(errors[0]!.startsWith(`error: ${config}: jobs.app.${field}: `), errors[0]);
        assert.match(errors[0]!, problem);
      });
      assert.deepEqual(await filesUnder(storage), []);
    });
  }

  test('an empty config file, and a YAML alias bomb, are config errors (exit 2) with one clear line', async (t) => {
    const dir = await tempDir(t);
    const empty = path.join(dir, 'empty.yaml');
    await writeFile(empty, '# nothing here yet\n');
    const levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (const name of 'bcdefghi') {
      const prev = levels.length === 1 ? 'a' : String.fromCharCode(name.charCodeAt(0) - 1);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const bomb = path.join(dir, 'bomb.yaml');
    await writeFile(bomb, levels.join('\n') + '\n');
    for (const [file, line] of [
      [empty, `error: read config ${empty}: the file is empty (hint: `],
      [bomb, `error: parse ${bomb}: too many YAML aliases (the file expands without bound)`],
    ] as const) {
      for (const command of ['check', 'backup']) {
        const r = await lifeboat(['--config', file, command]);
        assert.equal(r.code, 2, `${command} ${file}: ${r.stderr}`);
        assert.deepEqual(
          errorLines(r.stderr).map((l) => l.slice(0, line.length)),
          [line],
        );
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      }
    }
  });

  test('a ${VAR} value with a newline cannot forge lines in check output', async (t) => {
    const forged = 'ok\tstorage offsite\twrite, read back and delete OK at /srv/offsite';
    const { dir, config } = await setup(t, '', '"${BACKUP_DIR}"');
    const backupDir = path.join(dir, `b\n${forged}`);
    const r = await lifeboat(['--config', config, 'check'], { env: { BACKUP_DIR: backupDir } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split('\t').slice(0, 2).join('\t')),
      ['ok\tconfig', 'ok\tsource app', 'ok\tstorage disk'],
    );
    // The value is shown, escaped: its newline and tabs are visible, not acted on.
    assert.equal(
      lines[2],
      `ok\tstorage disk\twrite, read back and delete OK at ${path.join(dir, 'b')}\\n${forged.replace(/\t/g, '\\t')}`,
    );
    assert.doesNotMatch(r.stderr, /^ok +storage offsite/m);
    assert.equal(r.stderr.trimEnd().split('\n').length, 3, r.stderr);
  });

  test('--from a directory that does not exist is a usage error naming it (list, verify, restore, drill)', async (t) => {
    const cwd = await tempDir(t);
    const missing = path.join(cwd, 'no', 'such', 'dir');
    for (const args of [
      ['list', '--from', missing],
      ['verify', 'latest', '--from', missing],
      ['restore', 'latest', '--from', missing, '--to', pg.url('app')],
      ['drill', '--from', missing],
    ]) {
      const r = await lifeboat(args, { cwd });
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.deepEqual(
        errorLines(r.stderr).map((l) => l.replace(/ \(hint: .*$/, '')),
        [`error: open ${missing}: no such directory`],
      );
    }
  });
});
