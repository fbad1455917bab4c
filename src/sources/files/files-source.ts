/**
 * `type: files`: two artifacts per source, the tar (`{source}.tar.zst`) and its per-file index
 * (`{source}.index.jsonl.zst`, JSON lines, through the same codecs, so an encrypted job's file
 * names are encrypted too). The index is built into a private temp file while the tar streams
 * (tar-stream.ts) and stored right after it.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LifeboatError } from '../../util/errors.js';
import type { PlannedArtifact, Source, SourcePlan } from '../source.js';
import type { FilesSourceConfig } from './config.js';
import type { FilesSourceRecord } from './record.js';
import { startTar, type TarRun } from './tar-stream.js';
import { resolveRoots } from './walk.js';

async function tarVersion(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('tar', ['--version']);
    const m = /^tar \(GNU tar\) (\S+)/.exec(stdout);
    if (!m) throw new Error('not GNU tar');
    return m[1]!;
  } catch (err) {
    throw new LifeboatError('failed', `back up files: GNU tar is required (${(err as Error).message})`, {
      hint: 'install GNU tar (the tar package)',
    });
  }
}

export function createFilesSource(cfg: FilesSourceConfig): Source {
  const what = 'read files path';
  return {
    description: `files ${cfg.paths.join(', ')}`,
    async plan(): Promise<SourcePlan> {
      // Side by side: tar --version is a process start, the paths a few stats.
      const [version, roots] = await Promise.all([tarVersion(), resolveRoots(cfg.paths, what)]);
      const record: FilesSourceRecord = {
        kind: 'files',
        tool: { name: 'GNU tar', version },
        paths: cfg.paths,
        exclude: cfg.exclude,
      };
      let dir: string | undefined;
      let run: TarRun | undefined;
      const cleanup = () => (dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve());
      const archive: PlannedArtifact = {
        role: 'file',
        baseName: '{source}',
        extension: '.tar',
        async open(signal) {
          dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-files-'));
          signal.addEventListener('abort', () => void cleanup(), { once: true });
          run = await startTar({
            roots,
            exclude: cfg.exclude,
            onUnreadable: cfg.onUnreadable,
            indexFile: path.join(dir, 'index.jsonl'),
            workDir: dir,
            what,
            signal,
          });
          const done = run.dump.done.then(() => {
            Object.assign(record, run!.totals());
            if (run!.warnings.length) record.warnings = run!.warnings;
            if (run!.notes.length) record.notes = run!.notes;
          });
          done.catch(() => void cleanup());
          return { ...run.dump, done };
        },
        warnings: () => [...(run?.warnings ?? []), ...(run?.notes ?? [])],
      };
      const index: PlannedArtifact = {
        role: 'index',
        baseName: '{source}',
        extension: '.index.jsonl',
        async open() {
          const stream = createReadStream(path.join(dir!, 'index.jsonl'));
          const done = finished(stream).finally(cleanup);
          done.catch(() => {});
          return { stream, osPipe: false, done };
        },
      };
      return {
        record,
        extension: '.tar',
        artifacts: [archive, index],
        summary: `${roots.length} path${roots.length === 1 ? '' : 's'} (${roots.join(', ')}), GNU tar ${version}`,
      };
    },
  };
}
