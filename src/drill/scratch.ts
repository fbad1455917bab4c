/**
 * The scratch server a drill restores into, and the promise that it goes away afterwards. Two
 * kinds: a local throwaway cluster Lifeboat starts (the default), or a configured server
 * (`drill.scratch.url`) that Lifeboat borrows and leaves as it found it. The rest of the drill
 * only sees the Scratch interface (sources/drill-scratch.ts).
 */
import type { PostgresBackup } from '../sources/postgres/record.js';
import type { DrillConfig } from '../config/schema.js';
import { majorOf } from '../sources/postgres/binaries.js';
import { startLocalScratch } from './scratch-local.js';
import { openServerScratch } from './scratch-server.js';
import type { Scratch } from '../sources/drill-scratch.js';

export interface ScratchOptions {
  manifest: PostgresBackup;
  scratch?: DrillConfig['scratch'];
  /** The job's source URL, so a scratch URL pointing at the source server is refused. */
  sourceUrl?: string;
  /** The job's source binDir: where its client tools (and maybe server programs) live. */
  binDir?: string;
  log?: (line: string) => void;
}

export function openScratch(opts: ScratchOptions): Promise<Scratch> {
  const minMajor = majorOf(opts.manifest.source.serverVersion);
  if (opts.scratch?.url) {
    return openServerScratch({
      url: opts.scratch.url,
      disposable: opts.scratch.disposable,
      minMajor,
      manifest: opts.manifest,
      sourceUrl: opts.sourceUrl,
      log: opts.log,
    });
  }
  return startLocalScratch({ minMajor, binDir: opts.scratch?.binDir ?? opts.binDir, log: opts.log });
}
