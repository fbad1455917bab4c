/**
 * Reads a kubernetes source's part of a backup back into objects: each namespace's stream
 * decoded (decrypt, decompress: the manifest's codec chain), parsed, validated against its kind's
 * schema, and counted against the manifest. Restore and drill both start here, so nothing is
 * applied from a stream a drill would have refused.
 */
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactRecord } from '../../catalog/manifest.js';
import { codecChain, startDecoders, type CodecKeys } from '../../codecs/chain.js';
import type { Storage } from '../../storages/storage.js';
import { LifeboatError } from '../../util/errors.js';
import type { KubeObject } from './clean.js';
import type { KubernetesBackup } from './record.js';
import { compareCounts, parseObjects, validateObjects } from './validate.js';

/** One artifact's decoded bytes as text (a namespace's YAML is small: objects are at most 1.5 MiB). */
async function decodedText(
  storage: Storage,
  part: KubernetesBackup,
  a: ArtifactRecord,
  signal: AbortSignal,
  keys?: CodecKeys,
): Promise<{ text: string; bytes: number }> {
  const decoders = startDecoders(codecChain(part, keys), signal, storage.localPath?.(a.key));
  const stored = decoders?.stdin ? await storage.get(a.key, { signal }) : undefined;
  const source = decoders ? decoders.stdout : await storage.get(a.key, { signal });
  const feeds: Array<Promise<unknown>> = [...(decoders?.stages ?? [])];
  if (decoders?.stdin && stored) feeds.push(pipeline(stored, decoders.stdin, { signal }));
  const all = Promise.all(feeds);
  all.catch(() => {});
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk as Uint8Array));
  await all;
  const buf = Buffer.concat(chunks);
  return { text: buf.toString('utf8'), bytes: buf.length };
}

export interface NamespaceStream {
  namespace: string;
  /** The stored object's file name, for messages. */
  artifact: string;
  text: string;
  bytes: number;
}

/** Every namespace's stream of the part, decoded; a namespace the manifest counts but lacks is an error. */
export async function decodeNamespaces(
  storage: Storage,
  part: KubernetesBackup,
  opts: { keys?: CodecKeys; signal: AbortSignal },
): Promise<NamespaceStream[]> {
  const out: NamespaceStream[] = [];
  for (const a of part.artifacts) {
    const namespace = a.database;
    if (a.role !== 'namespace' || !namespace)
      throw new LifeboatError('integrity', `read ${a.key}: not a namespace stream of a kubernetes source`);
    const decoded = await decodedText(storage, part, a, opts.signal, opts.keys);
    out.push({ namespace, artifact: path.posix.basename(a.key), ...decoded });
  }
  const lacking = Object.keys(part.source.counts ?? {}).filter((ns) => !out.some((n) => n.namespace === ns));
  if (lacking.length)
    throw new LifeboatError('integrity', `read ${part.name}: no stream for namespace ${lacking.join(', ')}`);
  return out;
}

/** One namespace's objects: parsed, validated against their kinds' schemas, counted against the manifest. */
export async function checkNamespace(part: KubernetesBackup, ns: NamespaceStream) {
  const objects = parseObjects(ns.text, ns.artifact);
  const counts = await validateObjects(objects, ns.namespace, ns.artifact);
  compareCounts(ns.namespace, part.source.counts?.[ns.namespace] ?? {}, counts);
  return { objects, counts };
}

/** What a restore applies: every namespace's objects, checked as a drill checks them. */
export async function readObjects(
  storage: Storage,
  part: KubernetesBackup,
  opts: { keys?: CodecKeys; signal: AbortSignal },
): Promise<{ objects: KubeObject[]; namespaces: string[]; bytes: number }> {
  const streams = await decodeNamespaces(storage, part, opts);
  const objects: KubeObject[] = [];
  for (const ns of streams) objects.push(...(await checkNamespace(part, ns)).objects);
  return {
    objects,
    namespaces: streams.map((n) => n.namespace),
    bytes: streams.reduce((sum, n) => sum + n.bytes, 0),
  };
}
