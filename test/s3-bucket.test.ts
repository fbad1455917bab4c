/**
 * The bucket source (SPEC §5) against the real Ceph S3, with the CLI as users run it: a source
 * bucket and a backup bucket. Round trip into another bucket and a directory (nested and unicode
 * keys, an empty object, one beyond one multipart part, content types and user metadata), an
 * unchanged second backup that reads and stores nothing, point-in-time restores after deletes and
 * overwrites, refusals without --force, --path, drill (and a damaged blob caught), and prune's
 * mark and sweep after a backup killed midway.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { listBackups } from '../src/catalog/catalog.js';
import { executePrune, planPrune } from '../src/core/prune.js';
import { snapshotEntries } from '../src/sources/bucket/restore.js';
import { sourceBackup } from '../src/catalog/manifest.js';
import { bucketState, bytesOf, deleteObject, dirState, putObject } from './helpers/bucket-fixture.js';
import { errorLines, lifeboat, startLifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv, s3StorageYaml } from './helpers/s3-config.js';
import { testBucket, type TestBucket } from './helpers/s3-server.js';
import { MiB, storageOn } from './helpers/s3-storage.js';

/** The job `objects` backs up `app/` of `source` into `backups`; `restored`, when given, is a storage to restore into. */
function configYaml(source: TestBucket, backups: TestBucket, extra = '', restored?: TestBucket): string {
  return (
    `storages:\n${s3StorageYaml('offsite', { bucket: backups.name, endpoint: backups.server.endpoint })}` +
    (restored
      ? s3StorageYaml('restored', {
          bucket: restored.name,
          endpoint: restored.server.endpoint,
          prefix: 'now',
        })
      : '') +
    `jobs:\n  objects:\n    source:\n      type: bucket\n      endpoint: ${source.server.endpoint}\n` +
    `      bucket: ${source.name}\n      prefix: app/\n      forcePathStyle: true\n` +
    `      accessKeyId: \${S3_KEY}\n      secretAccessKey: \${S3_SECRET}\n      exclude: ["*.tmp"]\n` +
    `    storages: [offsite]\n${extra}`
  );
}

async function blobKeys(b: TestBucket): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await b.client.send(
      new ListObjectsV2Command({ Bucket: b.name, Prefix: 'objects/blobs/', ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

interface BucketRecord {
  objects: number;
  bytes: number;
  read: number;
  stored: number;
  storedBytes: number;
  skipped?: string[];
}

/** Runs a backup with the CLI; returns its id and what the manifest records of the source. */
async function backup(
  config: string,
  env: NodeJS.ProcessEnv,
  backups: TestBucket,
): Promise<{ id: string; record: BucketRecord }> {
  const r = await lifeboat(['backup', 'objects', '--config', config], { env });
  assert.equal(r.code, 0, r.stderr);
  const { manifests } = await listBackups(storageOn(backups), 'objects');
  const m = manifests.at(-1)!;
  return { id: m.id, record: m.sources.main as unknown as BucketRecord };
}

async function manifestOf(backups: TestBucket, id: string) {
  const { manifests } = await listBackups(storageOn(backups), 'objects');
  return manifests.find((m) => m.id === id)!;
}

describe('bucket source on S3', () => {
  test('backup, restore, change detection, point in time, --force, --path, drill', async (t) => {
    const source = await testBucket(t);
    const backups = await testBucket(t);
    const target = await testBucket(t);
    const dir = await tempDir(t, 'lifeboat-bucket-');
    const env = s3ConfigEnv(source.server);
    const big = randomBytes(20 * MiB);
    const put = (key: string, body: Buffer, o?: Parameters<typeof putObject>[4]) =>
      putObject(source.client, source.name, `app/${key}`, body, o);
    await put('a/b/c/deep.txt', Buffer.from('deep\n'), { contentType: 'text/plain' });
    await put('empty', Buffer.alloc(0));
    await put('dir/', Buffer.alloc(0));
    await put('big.bin', big, { contentType: 'application/octet-stream', metadata: { owner: 'skyforge' } });
    await put('ünï/cödé ✓.txt', Buffer.from('unicode\n'), { metadata: { note: 'caf-e' } });
    await put('same-1.txt', Buffer.from('twins\n'));
    await put('same-2.txt', Buffer.from('twins\n'));
    await put('scratch.tmp', Buffer.from('excluded\n'));
    await putObject(source.client, source.name, 'other/outside.txt', Buffer.from('not under the prefix\n'));
    const config = await writeConfig(dir, configYaml(source, backups, '', target));

    // First backup: every object read; identical content stored once.
    const first = await backup(config, env, backups);
    assert.equal(first.record.objects, 7);
    assert.equal(first.record.read, 7);
    const blobs1 = await blobKeys(backups);
    assert.equal(blobs1.length, 5, blobs1.join('\n')); // deep, empty (dir/ shares it), big, unicode, twins
    assert.ok(blobs1.every((k) => /^objects\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.zst$/.test(k)));
    const state1 = await bucketState(source.client, source.name, 'app/');
    state1.delete('scratch.tmp');

    // Unchanged: nothing read, nothing stored.
    const second = await backup(config, env, backups);
    assert.equal(second.record.objects, 7);
    assert.equal(second.record.read, 0);
    assert.equal(second.record.stored, 0);
    assert.deepEqual(await blobKeys(backups), blobs1);

    // Into another bucket: keys, bytes, content types and metadata as they were.
    const to = `s3://${target.name}/restored`;
    const r1 = await lifeboat(['restore', first.id, '--job', 'objects', '--to', to, '--config', config], {
      env,
    });
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /restore OK/);
    const restored = await bucketState(target.client, target.name, 'restored/');
    assert.deepEqual(restored, state1);

    // Again: refused, naming what exists; with --force it overwrites.
    const again = await lifeboat(['restore', first.id, '--job', 'objects', '--to', to, '--config', config], {
      env,
    });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exist/);
    assert.equal(
      again.stderr
        .trim()
        .split('\n')
        .filter((l) => /^error: /.test(l)).length,
      1,
    );
    const forced = await lifeboat(
      ['restore', first.id, '--job', 'objects', '--to', to, '--force', '--config', config],
      { env },
    );
    assert.equal(forced.code, 0, forced.stderr);

    // Change the bucket: delete, overwrite, add; back up again.
    await deleteObject(source.client, source.name, 'app/a/b/c/deep.txt');
    await put('same-1.txt', Buffer.from('changed\n'), { contentType: 'text/x-changed' });
    await put('new/added.txt', Buffer.from('added\n'));
    const third = await backup(config, env, backups);
    assert.equal(third.record.objects, 7);
    assert.equal(third.record.read, 2);
    assert.equal(third.record.stored, 2);
    const state3 = await bucketState(source.client, source.name, 'app/');
    state3.delete('scratch.tmp');

    // Each snapshot restores to its own point in time.
    const old = path.join(dir, 'old');
    const r2 = await lifeboat(['restore', first.id, '--job', 'objects', '--to', old, '--config', config], {
      env,
    });
    assert.equal(r2.code, 0, r2.stderr);
    const oldBytes = bytesOf(state1);
    oldBytes.delete('dir/');
    assert.deepEqual(await dirState(old), oldBytes);
    // Into a storage named in the config (its bucket and prefix, its connection): --path first; then
    // the whole snapshot, refused over the one key already there, then forced.
    const intoStorage = (...more: string[]) =>
      lifeboat(['restore', third.id, '--job', 'objects', '--to', 'restored', ...more, '--config', config], {
        env,
      });
    const r3 = await intoStorage('--path', 'new/**');
    assert.equal(r3.code, 0, r3.stderr);
    assert.deepEqual([...(await bucketState(target.client, target.name, 'now/')).keys()], ['new/added.txt']);
    const clash = await intoStorage();
    assert.equal(clash.code, 1);
    assert.match(
      clash.stderr,
      new RegExp(
        `1 object\\(s\\) already exist in storage restored \\(s3://${target.name}/now\\) \\(now/new/added\\.txt\\)`,
      ),
    );
    const r3f = await intoStorage('--force');
    assert.equal(r3f.code, 0, r3f.stderr);
    assert.deepEqual(await bucketState(target.client, target.name, 'now/'), state3);

    // --path: a subset.
    const some = path.join(dir, 'some');
    const r4 = await lifeboat(
      [
        'restore',
        third.id,
        '--job',
        'objects',
        '--to',
        some,
        '--path',
        'ünï/*',
        '--path',
        'new/**',
        '--config',
        config,
      ],
      { env },
    );
    assert.equal(r4.code, 0, r4.stderr);
    assert.deepEqual([...(await dirState(some)).keys()].sort(), ['new/added.txt', 'ünï/cödé ✓.txt']);

    // Drill: every blob read back; then one damaged in storage is named.
    const d1 = await lifeboat(['drill', 'objects', '--config', config], { env });
    assert.equal(d1.code, 0, d1.stderr);
    assert.match(d1.stderr, /sha256 OK/);
    await mkdir(path.join(dir, 'sampled'));
    const sampled = await writeConfig(
      path.join(dir, 'sampled'),
      configYaml(source, backups, `    drill: { bucket: { sample: 10 } }\n`),
    );
    const d2 = await lifeboat(['drill', 'objects', '--config', sampled], { env });
    assert.equal(d2.code, 0, d2.stderr);
    const m3 = await manifestOf(backups, third.id);
    const entries = [];
    for await (const e of snapshotEntries(storageOn(backups), sourceBackup(m3, 'main')!, {
      signal: new AbortController().signal,
    }))
      entries.push(e);
    const victim = entries.find((e) => e.key === 'app/new/added.txt')!.blob;
    await backups.client.send(
      new PutObjectCommand({ Bucket: backups.name, Key: victim, Body: Buffer.from('garbage') }),
    );
    // verify: one listing of the blobs finds the damaged one by its size; the backups that do not
    // use it pass.
    const v = await lifeboat(['verify', '--all', '--job', 'objects', '--config', config], { env });
    assert.equal(v.code, 4, v.stderr);
    assert.ok(v.stderr.includes(`sha256 mismatch: ${victim} (size 7, the index says `), v.stderr);
    assert.ok(errorLines(v.stderr).at(-1)!.includes(victim), v.stderr);
    assert.deepEqual(
      v.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t').slice(1, 3).join(' ')),
      [`${first.id} OK`, `${second.id} OK`, `${third.id} BAD`],
    );
    const d3 = await lifeboat(['drill', 'objects', '--config', config], { env });
    assert.notEqual(d3.code, 0, d3.stderr);
    assert.ok(d3.stderr.includes(`sha256 mismatch: ${victim}`), d3.stderr);
    assert.ok(!d3.stderr.includes(source.server.secretAccessKey));
  });

  test('killed midway, run again, pruned past the grace period', async (t) => {
    const source = await testBucket(t);
    const backups = await testBucket(t);
    const dir = await tempDir(t, 'lifeboat-bucket-kill-');
    const env = s3ConfigEnv(source.server);
    for (let i = 0; i < 60; i++)
      await putObject(
        source.client,
        source.name,
        `app/obj-${String(i).padStart(3, '0')}`,
        randomBytes(256 * 1024),
      );
    const config = await writeConfig(dir, configYaml(source, backups, '    retention: { keepLast: 1 }\n'));

    // Killed once some blobs are stored, before the index is committed.
    const run = startLifeboat(['backup', 'objects', '--config', config], { env });
    for (let i = 0; i < 300 && (await blobKeys(backups)).length < 5; i++)
      await new Promise((r) => setTimeout(r, 20));
    run.child.kill('SIGKILL');
    await run.done;
    const leftovers = await blobKeys(backups);
    assert.ok(leftovers.length >= 5);
    let listed = await listBackups(storageOn(backups), 'objects');
    assert.equal(listed.manifests.length, 0, 'no partial snapshot is listed');

    // Run again; then change the bucket and back up once more.
    const first = await backup(config, env, backups);
    assert.equal(first.record.objects, 60);
    for (let i = 0; i < 10; i++)
      await deleteObject(source.client, source.name, `app/obj-${String(i).padStart(3, '0')}`);
    await putObject(source.client, source.name, 'app/fresh', randomBytes(1000));
    const second = await backup(config, env, backups);
    assert.equal(second.record.read, 1);

    // Within the grace period no unreferenced blob goes; past it, every blob only the first backup or
    // the killed run used goes, and every blob the second uses stays.
    const storage = storageOn(backups);
    const policy = { keepLast: 1 };
    // The backup's own retention step (keepLast 1) already removed the first backup, not its blobs.
    listed = await listBackups(storage, 'objects');
    assert.deepEqual(
      listed.manifests.map((m) => m.id),
      [second.id],
    );
    const early = await executePrune(storage, await planPrune(storage, { name: 'objects' }, policy));
    assert.equal(early.blobs?.removed.length, 0);
    assert.ok((await blobKeys(backups)).length >= 61);
    const later = new Date(Date.now() + 25 * 3600_000);
    const outcome = await executePrune(
      storage,
      await planPrune(storage, { name: 'objects' }, policy, { now: later }),
      {
        now: later,
      },
    );
    assert.deepEqual(outcome.removedBackups, []);
    assert.equal(outcome.blobs?.referenced, 51);
    listed = await listBackups(storage, 'objects');
    assert.deepEqual(
      listed.manifests.map((m) => m.id),
      [second.id],
    );
    const used = new Set<string>();
    for await (const e of snapshotEntries(storage, sourceBackup(listed.manifests[0]!, 'main')!, {
      signal: new AbortController().signal,
    }))
      used.add(e.blob);
    assert.deepEqual(await blobKeys(backups), [...used].sort());
    assert.equal(used.size, 51);
    const restore = await lifeboat(
      ['restore', 'latest', '--job', 'objects', '--to', path.join(dir, 'out'), '--config', config],
      { env },
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal((await dirState(path.join(dir, 'out'))).size, 51);
  });
});
