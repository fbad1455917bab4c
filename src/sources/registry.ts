/**
 * Every source kind this Lifeboat can back up, by `type:`. Adding a kind is its folder under
 * sources/ and one line here: config validation (config/schema.ts), building sources (compose.ts),
 * health probes (serve) and drill settings all read this table.
 */
import type { SourceKind } from './kind.js';
import { bucketKind } from './bucket/kind.js';
import { filesKind } from './files/kind.js';
import { kubernetesKind } from './kubernetes/kind.js';
import { postgresKind } from './postgres/kind.js';
import { sqliteKind } from './sqlite/kind.js';

export const SOURCE_KINDS = {
  postgres: postgresKind,
  sqlite: sqliteKind,
  files: filesKind,
  bucket: bucketKind,
  kubernetes: kubernetesKind,
} as const;

/**
 * Kinds the SPEC names that are still to come: accepted by `type` only, refused when built. None
 * now; a new kind may be listed here while it is built.
 */
export const PLANNED_KINDS: readonly string[] = [];

/** The kind of a `type:`, or undefined when this Lifeboat has none. */
export function sourceKind(type: string): SourceKind<{ type: string }> | undefined {
  return Object.hasOwn(SOURCE_KINDS, type)
    ? (SOURCE_KINDS[type as keyof typeof SOURCE_KINDS] as unknown as SourceKind<{ type: string }>)
    : undefined;
}
