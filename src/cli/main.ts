#!/usr/bin/env node
/**
 * The `lifeboat` executable. It turns on Node's on-disk compile cache before the command line
 * (./program.ts) and its ~300 modules load: every run is a fresh process, and compiling them again
 * each time was ~15% of the start-up CPU of a run (measured by the files bench; issue 13). Where
 * the cache cannot be written (a read-only file system), Node carries on without it.
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('./program.js');
