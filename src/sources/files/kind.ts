/** Files as a source kind: its config and backup source (restore: core/restore-files.ts; drill: drill/files-drill.ts). */
import { filesSourceSchema, type FilesSourceConfig } from './config.js';
import { createFilesSource } from './files-source.js';

export const filesKind = {
  type: 'files' as const,
  schema: filesSourceSchema,
  create: (cfg: FilesSourceConfig) => createFilesSource(cfg),
};
