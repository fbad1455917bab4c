/** Files as a source kind (sources/kind.ts): config, backup source, health probe, restore, drill. */
import type { SourceKind } from '../kind.js';
import { drillFiles } from './drill.js';
import { filesSourceSchema, type FilesSourceConfig } from './config.js';
import { createFilesSource } from './files-source.js';
import type { FilesBackup } from './record.js';
import { restoreFiles } from './restore.js';

export const filesKind = {
  type: 'files',
  schema: filesSourceSchema,
  create: (cfg) => createFilesSource(cfg),
  /** Every configured path (or glob) is there, and GNU tar is installed (what plan checks). */
  probe: (cfg) => async (signal) => {
    await createFilesSource(cfg).plan(signal);
  },
  restore: (storage, part, opts) => restoreFiles(storage, part as FilesBackup, opts),
  drill: drillFiles,
} satisfies SourceKind<FilesSourceConfig>;
