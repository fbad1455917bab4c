/**
 * The bucket source (SPEC §5) into a local storage: an encrypted, signed job (blobs and index through
 * age; change detection needs the identity, and a restore without it fails in one line), the README's
 * by-hand restore loop run as written, and an object deleted between the listing and its read,
 * recorded as skipped rather than failing the run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { listBackups } from '../src/catalog/catalog.js';
import { createLocalStorage } from '../src/storages/local.js';
import { openBucket } from '../src/sources/bucket/bucket-client.js';
import { startSnapshot } from '../src/sources/bucket/snapshot.js';
import { bucketState, bytesOf, deleteObject, dirState, putObject } from './helpers/bucket-fixture.js';
import { errorLines, filesUnder, lifeboat, ROOT } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';
import { writeConfig } from './helpers/scenarios.js';
import { s3ConfigEnv } from './helpers/s3-config.js';
import { testBucket, type TestBucket } from './helpers/s3-server.js';

function sourceYaml(b: TestBucket): string {
  return (
    `      type: bucket\n      endpoint: ${b.server.endpoint}\n      bucket: ${b.name}\n` +
    `      forcePathStyle: true\n      accessKeyId: \${S3_KEY}\n      secretAccessKey: \${S3_SECRET}\n`
  );
}

async function fill(b: TestBucket) {
  await putObject(b.client, b.name, 'top.txt', Buffer.from('top\n'), { contentType: 'text/plain' });
  await putObject(b.client, b.name, 'a/b/nested.json', Buffer.from('{"n":1}\n'));
  await putObject(b.client, b.name, 'a/empty', Buffer.alloc(0));
  await putObject(b.client, b.name, 'ünï/cödé.txt', Buffer.from('unicode\n'));
}

describe('bucket source into a local storage', () => {
  test('encrypted and signed: blobs and index through age, change detection with the identity, restore without it refused', async (t) => {
    const source = await testBucket(t);
    await fill(source);
    const dir = await tempDir(t, 'lifeboat-bucket-age-');
    const key = path.join(dir, 'key.txt');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', key]).toString().trim();
    assert.equal((await lifeboat(['keygen', '--out', dir])).code, 0);
    const env = s3ConfigEnv(source.server);
    const yaml = (identity: boolean) =>
      `storages:\n  disk: { type: local, path: ${JSON.stringify(path.join(dir, 'backups'))} }\n` +
      `jobs:\n  objects:\n    source:\n${sourceYaml(source)}    storages: [disk]\n` +
      `    encryption:\n      recipients: [${recipient}]\n` +
      (identity ? `      identityFile: ${JSON.stringify(key)}\n` : '') +
      `signing: { key: ${JSON.stringify(path.join(dir, 'lifeboat-signing.key'))} }\n`;
    await mkdir(path.join(dir, 'with'));
    await mkdir(path.join(dir, 'without'));
    const config = await writeConfig(path.join(dir, 'with'), yaml(true));
    const bare = await writeConfig(path.join(dir, 'without'), yaml(false));

    assert.equal((await lifeboat(['backup', '--config', config], { env })).code, 0);
    const files = await filesUnder(path.join(dir, 'backups'));
    const blobs = files.filter((f) => f.startsWith('objects/blobs/'));
    assert.equal(blobs.length, 4);
    assert.ok(blobs.every((f) => f.endsWith('.zst.age')));
    assert.ok(files.some((f) => f.endsWith('main.index.jsonl.zst.age')));
    assert.ok(
      files.some((f) => /^\.lifeboat\/objects\/[^/]+\.json\.minisig$/.test(f)),
      'the manifest is signed',
    );
    // Ciphertext: the content is nowhere in the clear.
    for (const f of blobs) assert.ok(!(await readFile(path.join(dir, 'backups', f))).includes('unicode'));

    // Without the identity every object is read again (and said so); with it, none is.
    const blind = await lifeboat(['backup', '--config', bare], { env });
    assert.equal(blind.code, 0, blind.stderr);
    assert.match(blind.stderr, /every object is read again/);
    assert.equal((await lifeboat(['backup', '--config', config], { env })).code, 0);
    const { manifests } = await listBackups(
      createLocalStorage({ name: 'disk', path: path.join(dir, 'backups') }),
    );
    const reads = manifests.map((m) => (m.sources.main as unknown as { read: number }).read);
    assert.deepEqual(reads, [4, 4, 0]);
    assert.deepEqual(
      manifests.map((m) => (m.sources.main as unknown as { stored: number }).stored),
      [4, 0, 0],
    );

    // verify: the blobs' stored (age) sizes from one listing; without the identity the index, and
    // so the blobs, cannot be read: said, not failed (the checksums need no key).
    const verified = await lifeboat(['verify', '--all', '--config', config]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stderr.match(/bucket main: 4 blob\(s\) present/g)?.length, 3, verified.stderr);
    assert.equal(verified.stderr.match(/signature OK/g)?.length, 3, verified.stderr);
    const blindVerify = await lifeboat(['verify', 'latest', '--config', bare], {
      env: { LIFEBOAT_AGE_IDENTITY_FILE: '' },
    });
    assert.equal(blindVerify.code, 0, blindVerify.stderr);
    assert.match(blindVerify.stderr, /bucket main: blobs not checked, the index cannot be read/);

    const out = path.join(dir, 'out');
    const refused = await lifeboat(['restore', 'latest', '--to', out, '--config', bare], {
      env: { LIFEBOAT_AGE_IDENTITY_FILE: '' },
    });
    assert.notEqual(refused.code, 0);
    assert.equal(errorLines(refused.stderr).length, 1, refused.stderr);
    const restored = await lifeboat(['restore', 'latest', '--to', out, '--config', config]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, /signature OK/);
    assert.deepEqual(await dirState(out), bytesOf(await bucketState(source.client, source.name)));
  });

  test("the README's by-hand loop restores every object from a local storage", async (t) => {
    const source = await testBucket(t);
    await fill(source);
    const dir = await tempDir(t, 'lifeboat-bucket-hand-');
    const backups = path.join(dir, 'backups');
    const config = await writeConfig(
      dir,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
        `jobs:\n  objects:\n    source:\n${sourceYaml(source)}    storages: [disk]\n`,
    );
    assert.equal(
      (await lifeboat(['backup', '--config', config], { env: s3ConfigEnv(source.server) })).code,
      0,
    );
    const index = (await filesUnder(backups)).find((f) => f.endsWith('main.index.jsonl.zst'))!;
    // The README's block, with its placeholders filled in.
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```sh\n(zstd -dc objects\.index\.jsonl\.zst \| jq[\s\S]*?\ndone)\n/.exec(readme)![1]!;
    const out = path.join(dir, 'out');
    const script = block
      .replaceAll('/backups/', `${backups}/`)
      .replaceAll('DIR/', `${out}/`)
      .replace('objects.index.jsonl.zst', JSON.stringify(path.join(backups, index)));
    const output = execFileSync('bash', ['-c', script]).toString();
    assert.doesNotMatch(output, /FAILED/);
    assert.deepEqual(await dirState(out), bytesOf(await bucketState(source.client, source.name)));
  });

  test('prune --dry-run names the blobs the sweep would remove, prune removes exactly them; restore into a local storage by name; verify checks the blobs', async (t) => {
    const source = await testBucket(t);
    await fill(source);
    const dir = await tempDir(t, 'lifeboat-bucket-prune-');
    const backups = path.join(dir, 'backups');
    const env = s3ConfigEnv(source.server);
    const yaml = (retention: string) =>
      `storages:\n  disk: { type: local, path: ${JSON.stringify(backups)} }\n` +
      `  restored: { type: local, path: ${JSON.stringify(path.join(dir, 'restored'))} }\n` +
      `jobs:\n  objects:\n    source:\n${sourceYaml(source)}    storages: [disk]\n${retention}`;
    const config = await writeConfig(dir, yaml(''));
    assert.equal((await lifeboat(['backup', '--config', config], { env })).code, 0);
    await putObject(source.client, source.name, 'top.txt', Buffer.from('top, changed\n'));
    assert.equal((await lifeboat(['backup', '--config', config], { env })).code, 0);
    const blobFiles = async () =>
      (await filesUnder(backups)).filter((f) => f.startsWith('objects/blobs/')).sort();
    const all = await blobFiles();
    assert.equal(all.length, 5);
    // Every blob two days old, past the grace period; keepLast 1 removes the first backup, the only
    // one that uses top.txt's first content.
    const old = new Date(Date.now() - 48 * 3600_000);
    for (const f of all) await utimes(path.join(backups, f), old, old);
    await writeConfig(dir, yaml('    retention: { keepLast: 1 }\n'));
    const blobOf = (content: string) => {
      const sha = createHash('sha256').update(content).digest('hex');
      return `objects/blobs/sha256/${sha.slice(0, 2)}/${sha}.zst`;
    };
    const gone = blobOf('top\n');

    const dry = await lifeboat(['prune', 'objects', '--dry-run', '--json', '--config', config], { env });
    assert.equal(dry.code, 0, dry.stderr);
    const [preview] = JSON.parse(dry.stdout) as Array<{ remove: string[]; blobs: Record<string, unknown> }>;
    assert.equal(preview!.remove.length, 1);
    assert.deepEqual(preview!.blobs, {
      removed: [gone],
      removedBytes: (await stat(path.join(backups, gone))).size,
      referenced: 4,
      young: 0,
    });
    assert.ok(dry.stderr.includes(`would remove ${gone} (`), dry.stderr);
    assert.match(dry.stderr, /would remove 1 unreferenced blob\(s\) \(\d+ B\); 4 in use/);
    assert.deepEqual(await blobFiles(), all, 'a dry run removes nothing');

    const pruned = await lifeboat(['prune', 'objects', '--json', '--config', config], { env });
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(
      (JSON.parse(pruned.stdout) as Array<{ blobs: { removed: string[] } }>)[0]!.blobs.removed,
      [gone],
    );
    assert.deepEqual(
      await blobFiles(),
      all.filter((f) => f !== gone),
    );

    // `--to restored`: the local storage of that name, its directory.
    const restored = await lifeboat(['restore', 'latest', '--to', 'restored', '--config', config], { env });
    assert.equal(restored.code, 0, restored.stderr);
    const deepOk = await lifeboat(['verify', 'latest', '--deep', '--config', config], { env });
    assert.equal(deepOk.code, 0, deepOk.stderr);
    assert.match(deepOk.stderr, /bucket main: 4 blob\(s\) read back, sha256 OK/);

    // Damaged blobs: one altered in place (same size), one gone, one cut short.
    const [altered, missing, cut] = [blobOf('{"n":1}\n'), blobOf('unicode\n'), blobOf('top, changed\n')];
    const bytes = await readFile(path.join(backups, altered));
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(path.join(backups, altered), bytes);
    await rm(path.join(backups, missing));
    await truncate(path.join(backups, cut), 5);
    // Cheap: one listing, so the missing and the short one, not the altered one.
    const last = (r: { stderr: string }) => errorLines(r.stderr).at(-1) ?? '';
    const cheap = await lifeboat(['verify', 'latest', '--config', config], { env });
    assert.equal(cheap.code, 4, cheap.stderr);
    assert.ok(cheap.stderr.includes(`missing: ${missing} (blob is missing)`), cheap.stderr);
    assert.ok(cheap.stderr.includes(`sha256 mismatch: ${cut} (size 5, the index says `), cheap.stderr);
    assert.ok(!cheap.stderr.includes(altered), cheap.stderr);
    for (const key of [missing, cut]) assert.ok(last(cheap).includes(key), cheap.stderr);
    // Deep: the altered one too, read back.
    const deep = await lifeboat(['verify', 'latest', '--deep', '--config', config], { env });
    assert.equal(deep.code, 4, deep.stderr);
    assert.ok(
      [`content FAILED: ${altered} (`, `sha256 mismatch: ${altered} (`].some((l) => deep.stderr.includes(l)),
      deep.stderr,
    );
    for (const key of [altered, missing, cut]) assert.ok(last(deep).includes(key), deep.stderr);

    assert.deepEqual(
      await dirState(path.join(dir, 'restored')),
      bytesOf(await bucketState(source.client, source.name)),
    );
  });

  test('an object deleted between the listing and its read is skipped and named', async (t) => {
    const source = await testBucket(t);
    await fill(source);
    const dir = await tempDir(t, 'lifeboat-bucket-gone-');
    const real = openBucket(
      {
        endpoint: source.server.endpoint,
        region: source.server.region,
        forcePathStyle: true,
        accessKeyId: source.server.accessKeyId,
        secretAccessKey: source.server.secretAccessKey,
      },
      source.name,
    );
    t.after(() => real.destroy());
    // The real listing; the object goes from the real bucket right after it is listed.
    const client = {
      ...real,
      async *list(prefix: string, signal?: AbortSignal) {
        for await (const o of real.list(prefix, signal)) {
          if (o.key === 'a/b/nested.json') await deleteObject(source.client, source.name, o.key);
          yield o;
        }
      },
    };
    const storage = createLocalStorage({ name: 'disk', path: path.join(dir, 'backups') });
    const run = startSnapshot({
      client,
      prefix: '',
      exclude: [],
      concurrency: 1,
      ctx: { job: 'objects', source: 'main', storages: [storage], codecs: { compression: { type: 'none' } } },
      tmp: dir,
      signal: new AbortController().signal,
    });
    const lines: string[] = [];
    for await (const line of run.lines) lines.push(line);
    assert.deepEqual(run.totals.skipped, ['a/b/nested.json']);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { key: string }).key),
      ['a/empty', 'top.txt', 'ünï/cödé.txt'],
    );
  });
});
