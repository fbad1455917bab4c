#!/usr/bin/env node
/**
 * The `lifeboat` executable. It turns on Node's on-disk compile cache before the command line
 * (./program.ts) and its ~300 modules load: every run is a fresh process, and compiling them again
 * each time was ~15% of the start-up CPU of a run (measured by the files bench; issue 13). Where
 * the cache cannot be written (a read-only file system), Node carries on without it.
 *
 * It also keeps V8's young generation at its first size. Streams hand over every chunk in a fresh
 * buffer whose memory lives outside the heap; with a young generation free to grow, those buffers
 * stay unreclaimed until a full collection, and a files backup of 20,000 files + 1 GB peaked at
 * 150-160 MB of RSS; kept small, collected sooner: ~100 MB, and no more CPU (issue 13). The
 * growth factor is the one young-generation setting V8 still reads once the process runs
 * (--max-semi-space-size would have to be on Node's command line).
 *
 * And it lets the old generation grow to three times what a full collection left before the next
 * one (--heap-growing-percent, also read while the process runs). V8 otherwise picks the factor from
 * how fast its collections ran, and at a small one it starts marking again right after each full
 * collection: identical bucket backups ran 50 or 270 full collections, 30 or 45 s of CPU, by
 * chance. The live heap is ~20 MB, so this costs at most ~40 MB more before a collection.
 *
 * First of all it checks the Node version (./node-version.ts): too old a Node gets one line.
 */
import module from 'node:module';
import v8 from 'node:v8';
import { nodeTooOld } from './node-version.js';

const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(1);
}

v8.setFlagsFromString('--semi-space-growth-factor=1');
v8.setFlagsFromString('--heap-growing-percent=200');
module.enableCompileCache?.();
await import('./program.js');
