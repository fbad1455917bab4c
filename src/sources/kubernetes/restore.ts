/**
 * `lifeboat restore ID --source NAME --to-cluster`: the namespaces' streams read and checked as a
 * drill checks them (every object parses, validates, counts match), then applied by server-side
 * apply (apply.ts). Checksums first (the caller's `verify`). A namespace map naming a namespace the
 * backup does not hold is refused: a typo must not restore into the original namespace.
 */
import { LifeboatError } from '../../util/errors.js';
import type { SourceRestoreOptions, SourceRestoreResult } from '../kind.js';
import type { SourceBackup } from '../../catalog/manifest.js';
import type { Storage } from '../../storages/storage.js';
import { applyObjects } from './apply.js';
import { clusterClient } from './cluster.js';
import { readObjects } from './read.js';
import type { KubernetesBackup } from './record.js';

export async function restoreKubernetes(
  storage: Storage,
  backup: SourceBackup,
  opts: SourceRestoreOptions,
): Promise<SourceRestoreResult> {
  const part = backup as KubernetesBackup;
  // Every stored object's checksum first, as for every kind, before anything else is looked at.
  await opts.verify?.();
  const started = Date.now();
  const cluster = opts.cluster;
  if (!cluster) {
    throw new LifeboatError(
      'usage',
      `restore ${part.job} ${part.id}: source ${part.name} is a kubernetes source; restore it with --to-cluster`,
      { hint: 'add --context C to pick the kubeconfig context, --dry-run to try it first' },
    );
  }
  const map = cluster.namespaceMap ?? {};
  const held = part.source.databases ?? [];
  const unknown = Object.keys(map).filter((ns) => !held.includes(ns));
  if (unknown.length) {
    throw new LifeboatError(
      'usage',
      `restore ${part.job} ${part.id}: --namespace-map names ${unknown.join(', ')}, which the backup does not hold`,
      { hint: `it holds ${held.join(', ') || 'no namespace'}` },
    );
  }
  const signal = opts.signal ?? new AbortController().signal;
  const client = clusterClient(cluster);
  const { objects, namespaces, bytes } = await readObjects(storage, part, { keys: opts.keys, signal });
  opts.log?.(
    `${cluster.dryRun ? 'dry run: ' : ''}apply ${objects.length} objects of ${namespaces.length} namespace${namespaces.length === 1 ? '' : 's'} to ${client.server} (context ${client.context})`,
  );
  const summary = await applyObjects(client, objects, {
    namespaceMap: map,
    dryRun: cluster.dryRun,
    force: opts.force,
    signal,
  });
  opts.log?.('restore OK');
  return {
    databases: namespaces.map((ns) => map[ns] ?? ns),
    createdRoles: [],
    durationMs: Date.now() - started,
    bytes,
    cluster: {
      server: client.server,
      context: client.context,
      dryRun: Boolean(cluster.dryRun),
      ...summary,
    },
  };
}
