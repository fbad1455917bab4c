/**
 * `lifeboat verify`'s step after the checksums: each source's kind checks what it stores outside
 * the manifest's artifacts (sources/kind.ts `verify`; a bucket source's blobs), through the
 * registry. Kinds without it add nothing: their checksums were the whole check.
 */
import { sourceBackup, type Manifest } from '../catalog/manifest.js';
import type { SourceVerifyOptions, SourceVerifyResult } from '../sources/kind.js';
import { sourceKind } from '../sources/registry.js';
import type { Storage } from '../storages/storage.js';

export type { SourceVerifyOptions };

export async function verifySources(
  storage: Storage,
  m: Manifest,
  opts: SourceVerifyOptions,
): Promise<{ problems: SourceVerifyResult['problems']; warnings: string[]; proven: string[] }> {
  const out = {
    problems: [] as SourceVerifyResult['problems'],
    warnings: [] as string[],
    proven: [] as string[],
  };
  for (const name of Object.keys(m.sources)) {
    const part = sourceBackup(m, name)!;
    const verify = sourceKind(part.source.kind)?.verify;
    if (!verify) continue;
    const r = await verify(storage, part, opts);
    out.problems.push(...r.problems);
    out.warnings.push(...r.warnings);
    if (r.proven) out.proven.push(r.proven);
  }
  return out;
}
