/**
 * `lifeboat verify --deep`: after the stored bytes matched their checksums, reads each source's
 * artifacts back through the codec chain (decompress, decrypt) and checks their content, by its
 * kind (sources/kind.ts `verifyContent`, through the registry):
 *
 * - files:  the archive against its index, member by member (sources/files/verify-content.ts);
 * - sqlite: each database decoded into a private temp file, `PRAGMA integrity_check`, and every
 *           table's row count against the manifest's (sources/sqlite/verify-content.ts);
 * - others: every artifact decodes to the end (zstd's frame checksums, age's authentication).
 *
 * Nothing is restored anywhere but a temp directory of its own, removed afterwards.
 */
import { decodeArtifact } from '../catalog/artifact-stream.js';
import { decodingChain } from '../codecs/chain.js';
import { sourceBackup, type Manifest, type SourceBackup } from '../catalog/manifest.js';
import type { SourceContentOptions, SourceContentResult } from '../sources/kind.js';
import { sourceKind } from '../sources/registry.js';
import type { Storage } from '../storages/storage.js';
import { isLifeboatError, oneLine } from '../util/errors.js';

export type ContentProblem = SourceContentResult['problems'][number];

export interface DeepResult {
  problems: ContentProblem[];
  /** What was proven, one phrase per source: "files main: 52 members match the index". */
  proven: string[];
}

export type DeepOptions = SourceContentOptions;

/** A kind without its own content check: every artifact decodes to its end. */
async function checkDecodes(
  storage: Storage,
  part: SourceBackup,
  opts: DeepOptions,
): Promise<SourceContentResult> {
  const problems: ContentProblem[] = [];
  for (const a of part.artifacts) {
    const codecs = decodingChain(part, opts.keys);
    const { stream, done } = await decodeArtifact(storage, codecs, a.key, opts.signal);
    // Read to the end and dropped: the decoders' own checks (frame checksums, age's MACs) speak.
    for await (const chunk of stream) void chunk;
    try {
      await done;
    } catch (err) {
      if (isLifeboatError(err, 'aborted')) throw err;
      problems.push({ key: a.key, problem: 'content', detail: `does not decode: ${oneLine(err)}` });
    }
  }
  return {
    problems,
    proven: `${part.source.kind} ${part.name}: ${part.artifacts.length} artifact(s) decode`,
  };
}

export async function verifyContent(storage: Storage, m: Manifest, opts: DeepOptions): Promise<DeepResult> {
  const out: DeepResult = { problems: [], proven: [] };
  for (const name of Object.keys(m.sources)) {
    const part = sourceBackup(m, name)!;
    const check = sourceKind(part.source.kind)?.verifyContent ?? checkDecodes;
    try {
      const r = await check(storage, part, opts);
      out.problems.push(...r.problems);
      if (r.proven) out.proven.push(r.proven);
    } catch (err) {
      // Content that cannot be read back (a cut archive, a database SQLite refuses) is a finding.
      if (!isLifeboatError(err, 'integrity')) throw err;
      const key = part.artifacts[0]?.key ?? name;
      out.problems.push({ key, problem: 'content', detail: oneLine(err) });
    }
  }
  return out;
}
