/**
 * The in-memory storage (src/storages/memory.ts) runs the shared storage conformance suite, and
 * carries prune's Object Lock handling in a fast unit test: a backup whose manifest is locked is
 * reported as retained (kept whole and listed), locked leftovers are reported, the rest is removed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { listBackups } from '../src/catalog/catalog.js';
import { manifestKey } from '../src/catalog/layout.js';
import { intentKey, newIntent, writeIntent } from '../src/catalog/intent.js';
import type { Manifest } from '../src/catalog/manifest.js';
import { executePrune, planPrune } from '../src/core/prune.js';
import { createMemoryStorage, type MemoryStorage } from '../src/storages/memory.js';
import { putText } from '../src/storages/storage.js';
import { storageConformance } from './helpers/storage-conformance.js';

storageConformance('memory', async () => ({ storage: createMemoryStorage(), cleanup: async () => {} }));

async function addBackup(storage: MemoryStorage, id: string): Promise<Manifest> {
  const key = `app/${id}/app.sql.zst`;
  const sha256 = createHash('sha256').update('dump').digest('hex');
  const manifest = {
    format: 'lifeboat-manifest',
    version: 1,
    id,
    job: 'app',
    artifacts: [{ key, role: 'database', size: 4, sha256 }],
    startedAt: `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}Z`,
  } as unknown as Manifest;
  await putText(storage, key, 'dump');
  await putText(storage, `${key}.sha256`, `${sha256}  app.sql.zst\n`);
  await putText(storage, manifestKey('app', id), JSON.stringify(manifest));
  return manifest;
}

test('prune reports backups and leftovers under Object Lock as retained, removes the rest', async () => {
  const storage = createMemoryStorage();
  const ids = ['20261101T000000Z', '20261102T000000Z', '20261103T000000Z'];
  for (const id of ids) await addBackup(storage, id);
  const until = new Date(Date.now() + 86_400_000);
  // The oldest backup is locked (manifest and artifacts, as a bucket's default retention does).
  storage.lock(manifestKey('app', ids[0]!), until);
  storage.lock(`app/${ids[0]}/app.sql.zst`, until);
  // Leftovers of a killed run (named by its intent), one locked too, and one that is not.
  const keys = ['app/leftover/a.sql.zst', 'app/leftover/b.sql.zst'];
  await writeIntent(storage, newIntent('app', '20261104T000000Z', keys, new Date()));
  for (const k of keys) await putText(storage, k, 'x');
  storage.lock('app/leftover/a.sql.zst', until);
  const old = new Date(Date.now() - 2 * 86_400_000);
  for (const k of [...keys, intentKey('app', '20261104T000000Z')]) storage.touch(k, old);

  const plan = await planPrune(storage, { name: 'app', layout: 'app/{id}' }, { keepLast: 1 });
  assert.deepEqual(
    plan.decisions
      .filter((d) => !d.keep)
      .map((d) => d.id)
      .sort(),
    ids.slice(0, 2),
  );
  const outcome = await executePrune(storage, plan);

  assert.deepEqual(outcome.removedBackups, [ids[1]]);
  const stamp = until.toISOString().replace(/\.\d{3}Z$/, 'Z');
  assert.deepEqual(outcome.retained, [
    { id: ids[0], key: manifestKey('app', ids[0]!), lock: `until ${stamp}` },
    { key: 'app/leftover/a.sql.zst', lock: `until ${stamp}` },
  ]);
  assert.ok(outcome.removedObjects.includes('app/leftover/b.sql.zst'));
  // The intent stays while a key it names does: a prune after the lock ends removes both.
  assert.ok(await storage.stat(intentKey('app', '20261104T000000Z')));
  // The retained backup is still whole and listed; the removed one is gone.
  const { manifests } = await listBackups(storage, 'app');
  assert.deepEqual(
    manifests.map((m) => m.id),
    [ids[0], ids[2]],
  );
  assert.ok(await storage.stat(`app/${ids[0]}/app.sql.zst.sha256`));
  assert.equal(await storage.stat(`app/${ids[1]}/app.sql.zst`), undefined);
});
