/**
 * The local directory storage (src/storages/local.ts): the shared storage conformance suite, plus
 * what only a directory has — temp files, cleanupIncomplete, localPath, and filesystem errors.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';

import { newIntent, writeIntent } from '../src/catalog/intent.js';
import { backupId } from '../src/catalog/layout.js';
import { LifeboatError } from '../src/util/errors.js';
import { executePrune, planPrune } from '../src/core/prune.js';
import { createLocalStorage, TEMP_PREFIX } from '../src/storages/local.js';
import type { Storage } from '../src/storages/storage.js';
import { storageConformance } from './helpers/storage-conformance.js';

/** Every file under `dir` (temp files included), as '/'-separated paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, prefix: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(path.join(d, entry.name), `${prefix}${entry.name}/`);
      else out.push(`${prefix}${entry.name}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

async function makeLocal() {
  const root = await mkdtemp(path.join(tmpdir(), 'lifeboat-local-storage-'));
  return {
    root,
    storage: createLocalStorage({ name: 'local', path: root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
    rawEntries: () => filesUnder(root),
  };
}

storageConformance('local', makeLocal);

async function local(t: TestContext): Promise<{ root: string; storage: Storage }> {
  const fixture = await makeLocal();
  t.after(() => fixture.cleanup());
  return fixture;
}

async function listKeys(storage: Storage, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of storage.list(prefix)) keys.push(info.key);
  return keys.sort();
}

describe('local storage', () => {
  test('name, location and objects as plain files under the root', async (t) => {
    const { root, storage } = await local(t);
    assert.equal(storage.name, 'local');
    assert.equal(storage.location, path.resolve(root));
    assert.equal(storage.capabilities.atomicCreateOnly, true);
    await storage.put('app/2026/11/22/full.sql', [Buffer.from('select 1;\n')]);
    const file = storage.localPath!('app/2026/11/22/full.sql');
    assert.equal(file, path.join(root, 'app', '2026', '11', '22', 'full.sql'));
    assert.equal(await readFile(file, 'utf8'), 'select 1;\n');
  });

  test('a relative root is resolved once, at creation', async (t) => {
    const { root } = await local(t);
    const relative = path.relative(process.cwd(), root);
    const storage = createLocalStorage({ name: 'rel', path: relative });
    assert.equal(storage.location, root);
  });

  test('temp files are hidden from list', async (t) => {
    const { root, storage } = await local(t);
    await storage.put('app/real.sql', [Buffer.from('x')]);
    await writeFile(path.join(root, 'app', `${TEMP_PREFIX}123-abcd-real2.sql`), 'partial');
    await writeFile(path.join(root, `${TEMP_PREFIX}123-abcd-top.sql`), 'partial');
    assert.deepEqual(await listKeys(storage), ['app/real.sql']);
    assert.deepEqual(await listKeys(storage, 'app/'), ['app/real.sql']);
    assert.deepEqual(await listKeys(storage, `app/${TEMP_PREFIX}`), []);
  });

  test('cleanupIncomplete removes only temp files older than the cutoff', async (t) => {
    const { root, storage } = await local(t);
    const hourAgo = new Date(Date.now() - 3600_000);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await storage.put('app/old-but-real.sql', [Buffer.from('keep')]);
    await utimes(path.join(root, 'app', 'old-but-real.sql'), twoHoursAgo, twoHoursAgo);
    await mkdir(path.join(root, 'app', 'deep'), { recursive: true });
    const oldTemps = [
      `app/${TEMP_PREFIX}1-aaaa-x.sql`,
      `app/deep/${TEMP_PREFIX}2-bbbb-y.sql`,
      `${TEMP_PREFIX}3-cccc-z`,
    ];
    const newTemp = `app/${TEMP_PREFIX}4-dddd-w.sql`;
    for (const key of [...oldTemps, newTemp]) await writeFile(path.join(root, ...key.split('/')), 'partial');
    for (const key of oldTemps) await utimes(path.join(root, ...key.split('/')), twoHoursAgo, twoHoursAgo);

    const removed = await storage.cleanupIncomplete!(hourAgo);
    assert.deepEqual([...removed].sort(), [...oldTemps].sort());
    assert.deepEqual(await filesUnder(root), ['app/old-but-real.sql', newTemp].sort());

    // With a cutoff in the future, the fresh temp file goes too; real objects never do.
    assert.deepEqual(await storage.cleanupIncomplete!(new Date(Date.now() + 60_000)), [newTemp]);
    assert.deepEqual(await filesUnder(root), ['app/old-but-real.sql']);
  });

  test('cleanupIncomplete on a root that does not exist yet removes nothing', async (t) => {
    const { root } = await local(t);
    const storage = createLocalStorage({ name: 'later', path: path.join(root, 'not', 'yet') });
    assert.deepEqual(await storage.cleanupIncomplete!(new Date()), []);
    assert.deepEqual(await listKeys(storage), []);
  });

  test('a put into a path under a regular file fails with a LifeboatError', async (t) => {
    const { root, storage } = await local(t);
    await storage.put('app', [Buffer.from('I am a file')]);
    for (const key of ['app/full.sql', 'app/deeper/full.sql']) {
      await assert.rejects(storage.put(key, [Buffer.from('x')]), (err: unknown) => {
        assert.ok(err instanceof LifeboatError, `expected a LifeboatError for ${key}, got ${String(err)}`);
        assert.ok(err.message.includes(key), err.message);
        return true;
      });
    }
    assert.deepEqual(await filesUnder(root), ['app']);
  });

  test('get, stat and delete of a key under a regular file behave as for a missing key', async (t) => {
    const { root, storage } = await local(t);
    await storage.put('app', [Buffer.from('file')]);
    await assert.rejects(
      storage.get('app/x.sql'),
      (err: unknown) => err instanceof LifeboatError && err.code === 'not-found',
    );
    assert.equal(await storage.stat('app/x.sql'), undefined);
    await storage.delete('app/x.sql');
    assert.deepEqual(await filesUnder(root), ['app']);
  });

  test('a failed put and deleting the last objects leave no empty folders behind', async (t) => {
    const { root, storage } = await local(t);
    await storage.put('job/2026/01/02/id1/a.sql', [Buffer.from('x')]);
    await storage.put('job/2026/01/02/id1/a.sql.sha256', [Buffer.from('y')]);
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('dump failed');
    }
    await assert.rejects(storage.put('job/2026/01/03/id2/b.sql', failing()), /dump failed/);
    assert.deepEqual(await readdir(path.join(root, 'job/2026/01')), ['02'], 'the failed run left no folder');

    await storage.delete('job/2026/01/02/id1/a.sql');
    assert.deepEqual(await readdir(path.join(root, 'job/2026/01/02/id1')), ['a.sql.sha256']);
    await storage.delete('job/2026/01/02/id1/a.sql.sha256');
    assert.deepEqual(await readdir(root), [], 'only the root stays');
    // The folders come back when written to again.
    await storage.put('job/2026/01/02/id3/c.sql', [Buffer.from('z')]);
    assert.deepEqual(await filesUnder(root), ['job/2026/01/02/id3/c.sql']);
  });

  test("prune removes the empty folder of a run killed before its first file, not an operator's", async (t) => {
    const { root, storage } = await local(t);
    const started = new Date('2026-01-02T03:04:05Z');
    const id = backupId(started);
    const folder = `job/2026/01/02/${id}`;
    const named = [`${folder}/app.sql`, `${folder}/app.sql.sha256`];
    // What a run SIGKILLed inside put() between creating the folder and opening its temp file leaves
    // (seed 1488050149 of the chaos test): its intent, and an empty id folder no key exists in.
    await writeIntent(storage, newIntent('job', id, named, started));
    await mkdir(path.join(root, folder), { recursive: true });
    await mkdir(path.join(root, 'job/2026/01/02/mine'));

    const now = new Date(Date.now() + 3 * 86_400_000); // past the grace period
    const plan = await planPrune(storage, { name: 'job' }, {}, { now });
    assert.deepEqual(plan.orphans, [], 'nothing to delete: no key exists');
    await executePrune(storage, plan, { now });
    assert.deepEqual(await filesUnder(root), [], 'the intent is gone');
    assert.deepEqual(
      await readdir(path.join(root, 'job/2026/01/02')),
      ['mine'],
      "the operator's folder stays",
    );
  });

  test('keys that would leave the root are refused and write nothing', async (t) => {
    const { root, storage } = await local(t);
    const outside = path.join(path.dirname(root), `${path.basename(root)}-escape.sql`);
    for (const key of [
      '../escape.sql',
      `../${path.basename(root)}-escape.sql`,
      '/etc/escape.sql',
      'a//b',
      'a/./b',
      '',
    ]) {
      await assert.rejects(storage.put(key, [Buffer.from('x')]), {
        message: `invalid object key "${key}"`,
      });
    }
    await assert.rejects(readFile(outside), { code: 'ENOENT' });
    assert.deepEqual(await filesUnder(root), []);
  });
});
