/**
 * `lifeboat verify --deep` of a files source (its kind's `verifyContent`): the archive and its
 * index decoded side by side, every member compared with its index entry (./index-check.ts).
 * Nothing is extracted.
 */
import { decodeArtifact } from '../../catalog/artifact-stream.js';
import type { SourceBackup } from '../../catalog/manifest.js';
import { decodingChain } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import type { SourceContentOptions, SourceContentResult } from '../kind.js';
import { checkArchiveAgainstIndex } from './index-check.js';

export async function verifyFilesContent(
  storage: Storage,
  part: SourceBackup,
  opts: SourceContentOptions,
): Promise<SourceContentResult> {
  const archive = part.artifacts.find((a) => a.role === 'file');
  const index = part.artifacts.find((a) => a.role === 'index');
  const key = archive?.key ?? part.artifacts[0]?.key ?? part.name;
  if (!archive || !index)
    return {
      problems: [
        { key, problem: 'content', detail: `source ${part.name} holds no ${archive ? 'index' : 'archive'}` },
      ],
    };
  const codecs = decodingChain(part, opts.keys);
  // Each decoded stream is read to its end (or destroyed), then its `done` awaited.
  const a = await decodeArtifact(storage, codecs, archive.key, opts.signal);
  const i = await decodeArtifact(storage, codecs, index.key, opts.signal).catch(async (err: unknown) => {
    a.stream.destroy();
    await a.done.catch(() => {});
    throw err;
  });
  try {
    const check = await checkArchiveAgainstIndex(a.stream, i.stream, `verify ${archive.key}`);
    await Promise.all([a.done, i.done]);
    if (check.differing > 0)
      return {
        problems: [
          {
            key: archive.key,
            problem: 'content',
            detail: `${check.differing} member(s) differ from the index: ${check.details.join('; ')}`,
          },
        ],
      };
    return { problems: [], proven: `files ${part.name}: ${check.entries} members match the index` };
  } finally {
    a.stream.destroy();
    i.stream.destroy();
    await Promise.allSettled([a.done, i.done]);
  }
}
