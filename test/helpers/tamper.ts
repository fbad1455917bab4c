/**
 * Test helper: replaces one stored artifact of a backup in a local storage with other bytes, and
 * updates its manifest entry and `.sha256` sidecar to match, as an attacker with write access (or a
 * bug upstream of the checksums) would: a plain `verify` then passes, and only reading the
 * content back can tell.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function replaceArtifact(
  storageDir: string,
  job: string,
  id: string,
  pick: (a: { key: string; role: string; database?: string }) => boolean,
  stored: Buffer,
): Promise<string> {
  const manifestFile = path.join(storageDir, '.lifeboat', job, `${id}.json`);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    artifacts: Array<{ key: string; role: string; size: number; sha256: string }>;
  };
  const artifact = manifest.artifacts.find(pick);
  if (!artifact) throw new Error(`no such artifact in ${manifestFile}`);
  const sha256 = createHash('sha256').update(stored).digest('hex');
  const file = path.join(storageDir, artifact.key);
  await writeFile(file, stored);
  await writeFile(`${file}.sha256`, `${sha256}  ${path.posix.basename(artifact.key)}\n`);
  Object.assign(artifact, { size: stored.length, sha256 });
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
  return artifact.key;
}
