/** The `type: files` config block (SPEC §5): paths (files, directories, globs), exclude globs. */
import { z } from 'zod';
import { sourceCommon } from '../common-config.js';

export const filesSourceSchema = z.strictObject({
  ...sourceCommon,
  type: z.literal('files'),
  paths: z.array(z.string().min(1)).min(1),
  /** Globs: with a slash they match the whole path, without one any file or directory name. */
  exclude: z.array(z.string().min(1)).default([]),
  /** fail: an unreadable file or directory fails the run; warn: it is skipped and named. */
  onUnreadable: z.enum(['fail', 'warn']).default('fail'),
});

export type FilesSourceConfig = z.infer<typeof filesSourceSchema>;
