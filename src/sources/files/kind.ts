/**
 * Files as a source kind (sources/kind.ts): config, backup source, health probe, restore, drill,
 * verify --deep.
 */
import type { SourceKind } from '../kind.js';
import { drillFiles } from './drill.js';
import { filesSourceSchema, type FilesSourceConfig } from './config.js';
import { createFilesSource } from './files-source.js';
import type { FilesBackup } from './record.js';
import { restoreFiles } from './restore.js';
import { verifyFilesContent } from './verify-content.js';

export const filesKind = {
  type: 'files',
  restoresToPath: true,
  schema: filesSourceSchema,
  create: (cfg) => createFilesSource(cfg),
  /** Every configured path (or glob) is there, and GNU tar is installed (what plan checks). */
  probe: (cfg) => async (signal) => {
    await createFilesSource(cfg).plan(signal);
  },
  restore: (storage, part, opts) => restoreFiles(storage, part as FilesBackup, opts),
  drill: drillFiles,
  verifyContent: verifyFilesContent,
} satisfies SourceKind<FilesSourceConfig>;
