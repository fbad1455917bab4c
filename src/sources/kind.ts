/**
 * A source kind as a plug-in: everything the rest of Lifeboat needs to know about one `type:` of
 * source, so that nothing else asks "is this PostgreSQL?". Each kind lives in its own folder
 * (sources/<kind>/) and is listed once in sources/registry.ts.
 */
import type { z } from 'zod';
import type { Source } from './source.js';

export interface SourceKind<C extends { type: string } = { type: string }> {
  /** The `type:` a job's source names. */
  readonly type: C['type'];
  /** Its config block (a zod object with `type: z.literal(type)`); errors name the field's path. */
  readonly schema: z.ZodType<C>;
  /**
   * What the schema cannot say (fields that exclude each other), thrown as a config error naming
   * `where` (e.g. `jobs.app.source`). Runs where the source is built, as `check` and backups do.
   */
  validate?(cfg: C, where: string): void;
  /** The source a backup run plans and dumps. */
  create(cfg: C): Source;
  /** For `lifeboat serve`: the cheapest proof that the source answers. None: not reported. */
  probe?(cfg: C): (signal: AbortSignal) => Promise<void>;
  /** What a drill needs of the source: its URL (refused as a scratch server) and tool directory. */
  drillSettings?(cfg: C): { url?: string; binDir?: string };
  /** Secrets in the config block (e.g. a URL's password), masked in every line Lifeboat prints. */
  secretUrls?(cfg: C): string[];
}
