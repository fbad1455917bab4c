/** Files as a source kind: config, backup source, health probe (restore: core/restore-files.ts; drill: drill/file-drill.ts). */
import { filesSourceSchema, type FilesSourceConfig } from './config.js';
import { createFilesSource } from './files-source.js';

export const filesKind = {
  type: 'files' as const,
  schema: filesSourceSchema,
  create: (cfg: FilesSourceConfig) => createFilesSource(cfg),
  /** Every configured path (or glob) is there, and GNU tar is installed (what plan checks). */
  probe: (cfg: FilesSourceConfig) => async (signal: AbortSignal) => {
    await createFilesSource(cfg).plan(signal);
  },
};
