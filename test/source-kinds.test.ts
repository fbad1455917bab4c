/**
 * The source-kind seam (sources/registry.ts, sources/kind.ts): config, list and verify read any
 * kind a manifest names; restore and drill dispatch on the kind and refuse, in one line, a kind
 * this Lifeboat cannot restore (here a `mysql` source a newer Lifeboat might write).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MANIFEST_FORMAT } from '../src/catalog/manifest.js';
import { buildSource } from '../src/config/compose.js';
import { parseConfig } from '../src/config/load.js';
import { PLANNED_KINDS, sourceKind, SOURCE_KINDS } from '../src/sources/registry.js';
import { LifeboatError } from '../src/util/errors.js';
import { errorLines, lifeboat } from './helpers/lifeboat.js';
import { tempDir } from './helpers/roundtrip.js';

const ID = '20261201T000000Z';

async function repoWithFilesSource(t: { after(fn: () => unknown): void }) {
  const dir = await tempDir(t, 'lifeboat-kinds-');
  const key = `app/${ID}/main.tar`;
  const bytes = Buffer.from('not really a tar');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await mkdir(path.join(dir, `app/${ID}`), { recursive: true });
  await mkdir(path.join(dir, '.lifeboat/app'), { recursive: true });
  await writeFile(path.join(dir, key), bytes);
  await writeFile(path.join(dir, `${key}.sha256`), `${sha256}  main.tar\n`);
  const manifest = {
    format: MANIFEST_FORMAT,
    version: 2,
    id: ID,
    job: 'app',
    sources: { main: { kind: 'mysql', tool: { name: 'mysqldump', version: '8' }, host: 'db' } },
    compression: { type: 'none' },
    encryption: null,
    artifacts: [{ key, source: 'main', role: 'file', size: bytes.length, sha256 }],
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:00:01.000Z',
    durationMs: 1000,
    lifeboatVersion: '9.9.9',
  };
  await writeFile(path.join(dir, `.lifeboat/app/${ID}.json`), JSON.stringify(manifest));
  return dir;
}

describe('source kinds', () => {
  test('the registry names each kind once; config types and building follow it', () => {
    assert.deepEqual(Object.keys(SOURCE_KINDS), ['postgres', 'sqlite', 'files', 'bucket', 'kubernetes']);
    assert.equal(sourceKind('postgres')?.type, 'postgres');
    assert.equal(sourceKind('toString'), undefined);
    // A kind the SPEC names that is still to come: accepted by the config, refused when built.
    for (const type of PLANNED_KINDS) {
      const config = parseConfig({
        storages: { d: { type: 'local', path: '/b' } },
        jobs: { app: { storages: ['d'], source: { type } } },
      });
      assert.throws(
        () => buildSource('jobs.app.source', config.jobs.app!.sources.main!),
        (err: unknown) =>
          err instanceof LifeboatError &&
          err.message === `jobs.app.source.type: ${type} sources are not available in this version yet`,
      );
    }
  });

  test('a backup of a kind this Lifeboat cannot restore: listed and verified; restore and drill refuse it in one line', async (t) => {
    const dir = await repoWithFilesSource(t);
    const list = await lifeboat(['list', '--from', dir, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const [row] = (JSON.parse(list.stdout) as { backups: Array<Record<string, unknown>> }).backups;
    assert.deepEqual(row!.sources, { main: { kind: 'mysql' } });
    assert.deepEqual(row!.databases, []);

    const verify = await lifeboat(['verify', ID, '--from', dir]);
    assert.equal(verify.code, 0, verify.stderr);

    const restore = await lifeboat(['restore', ID, '--from', dir, '--to', path.join(dir, 'out')]);
    assert.equal(restore.code, 2, restore.stderr);
    assert.deepEqual(errorLines(restore.stderr), [
      `error: restore app ${ID}: source main is a mysql source, which this version of Lifeboat cannot restore (hint: upgrade Lifeboat)`,
    ]);

    const drill = await lifeboat(['drill', '--from', dir, '--json']);
    assert.equal(drill.code, 1, drill.stderr);
    const [report] = JSON.parse(drill.stdout) as Array<{
      ok: boolean;
      failure: { stage: string; message: string };
    }>;
    assert.equal(report!.ok, false);
    assert.match(
      report!.failure.message,
      /source main is a mysql source, which this version of Lifeboat cannot drill/,
    );
  });
});
