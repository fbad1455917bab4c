/**
 * Lifeboat needs Node.js ≥ 22.13 (package.json `engines`): an older Node gets one line and exit 1,
 * not the stack trace of the first API it lacks. The CLI case runs where the machine has an older
 * Node beside the Node 24 that `npm ci` brings (this machine's /usr/bin/node is 20).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MIN_NODE, nodeTooOld } from '../src/cli/node-version.js';
import { CLI } from './helpers/lifeboat.js';

describe('the Node.js version', () => {
  test('older than the minimum: refused in one line; the minimum and newer: accepted', () => {
    assert.equal(MIN_NODE, '22.13.0');
    for (const old of ['20.20.2', '22.12.9', '18.0.0', '22.9.0'])
      assert.match(
        nodeTooOld(old)!,
        new RegExp(
          `^error: start lifeboat: Node\\.js ${old.replace(/\./g, '\\.')} is too old, it needs 22\\.13 or newer \\(hint: [^\\n]+\\)$`,
        ),
      );
    for (const ok of ['22.13.0', '22.13.1', '22.20.0', '23.0.0', '24.21.0', process.versions.node])
      assert.equal(nodeTooOld(ok), undefined, ok);
  });

  const older = ['/usr/bin/node', '/usr/local/bin/node'].find((bin) => {
    if (!existsSync(bin)) return false;
    const version = execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    return nodeTooOld(version) !== undefined;
  });
  test(
    'the CLI on an older Node: one line, exit 1',
    { skip: older ? false : 'no Node older than 22.13 here' },
    () => {
      const r = spawnSync(older!, [CLI, '--version'], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /^error: start lifeboat: Node\.js \S+ is too old, it needs 22\.13 or newer \(hint: [^\n]+\)\n$/,
      );
    },
  );
});
