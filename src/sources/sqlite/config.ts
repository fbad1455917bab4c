/** The `type: sqlite` config block (SPEC §5): one database file (`path`) or several (`paths`, globs). */
import { z } from 'zod';
import { sourceCommon } from '../common-config.js';

export const sqliteSourceSchema = z
  .strictObject({
    ...sourceCommon,
    type: z.literal('sqlite'),
    path: z.string().min(1).optional(),
    paths: z.array(z.string().min(1)).min(1).optional(),
    /** Seconds a busy or locked database is waited for before the run fails. */
    busyTimeout: z.number().positive().default(30),
  })
  .refine((c) => (c.path === undefined) !== (c.paths === undefined), {
    message: 'expected one of path or paths',
  });

export type SqliteSourceConfig = z.infer<typeof sqliteSourceSchema>;
