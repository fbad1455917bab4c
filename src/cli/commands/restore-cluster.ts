/**
 * `lifeboat restore ID --source NAME --to-cluster [--context C] [--namespace-map a=b] [--dry-run]
 * [--force]`: a kubernetes source applied into a cluster through its kind's restore; prints what
 * was created, left unchanged and (forced) overwritten per kind. The cluster is reached with the
 * source's kubeconfig file when the config names one, and --context, else the source's context.
 */
import type { CodecKeys } from '../../codecs/chain.js';
import type { Manifest } from '../../catalog/manifest.js';
import type { Config } from '../../config/schema.js';
import { sourceIfResolved } from '../../config/unresolved.js';
import { restorePlan } from '../../core/restore-source.js';
import type { KubernetesSourceConfig } from '../../sources/kubernetes/config.js';
import { parseNamespaceMap } from '../../sources/kubernetes/apply.js';
import type { Storage } from '../../storages/storage.js';
import { LifeboatError } from '../../util/errors.js';
import type { Context } from '../context.js';
import { formatDuration } from '../progress.js';

export interface ClusterCliOptions {
  source?: string;
  context?: string;
  namespaceMap?: string[];
  dryRun?: boolean;
  force?: boolean;
  keys?: CodecKeys;
}

export async function restoreToCluster(
  ctx: Context,
  storage: Storage,
  manifest: Manifest,
  config: Config | undefined,
  opts: ClusterCliOptions,
  verified: boolean,
  signal: AbortSignal,
): Promise<number> {
  const { part, run } = restorePlan(manifest, opts.source);
  if (part.source.kind !== 'kubernetes') {
    throw new LifeboatError(
      'usage',
      `restore ${manifest.job} ${manifest.id}: --to-cluster restores a kubernetes source; source ${part.name} is a ${part.source.kind} source`,
      { hint: 'restore it with --to' },
    );
  }
  const namespaceMap = parseNamespaceMap(opts.namespaceMap ?? []);
  const cfg = sourceIfResolved(config?.jobs[manifest.job]?.sources[part.name]);
  const kube = cfg?.type === 'kubernetes' ? (cfg as KubernetesSourceConfig) : undefined;
  const what = `${manifest.job} ${manifest.id} source ${part.name}`;
  ctx.output.info(`restore ${what} (kubernetes) from ${storage.location}${opts.dryRun ? ' (dry run)' : ''}`);
  const result = await run(storage, {
    to: 'cluster',
    cluster: {
      kubeconfig: kube?.kubeconfig,
      context: opts.context ?? kube?.context,
      namespaceMap,
      dryRun: opts.dryRun,
    },
    force: opts.force,
    verified,
    keys: opts.keys,
    signal,
    log: (line) => ctx.output.info(line),
  });
  const summary = result.cluster!;
  const total = { created: 0, unchanged: 0, conflicting: 0 };
  const lines = Object.entries(summary.perKind).map(([kind, k]) => {
    total.created += k.created;
    total.unchanged += k.unchanged;
    total.conflicting += k.conflicting;
    return `${kind}\t${k.created} created\t${k.unchanged} unchanged\t${k.conflicting} conflicting`;
  });
  const mapped = Object.entries(namespaceMap).map(([a, b]) => `${a} → ${b}`);
  const verb = summary.dryRun ? 'dry run of restoring' : 'restored';
  ctx.output.result(
    [
      `${verb} ${what} into ${summary.server} (context ${summary.context}), namespaces ${result.databases.join(', ')}` +
        `${mapped.length ? ` (${mapped.join(', ')})` : ''}: ${total.created} created, ${total.unchanged} unchanged, ` +
        `${total.conflicting} conflicting${total.conflicting ? ' (overwritten: --force)' : ''}` +
        `${summary.dryRun ? '; nothing was stored' : ''} in ${formatDuration(result.durationMs)}`,
      ...lines,
    ],
    {
      job: manifest.job,
      id: manifest.id,
      source: part.name,
      storage: storage.name,
      namespaces: result.databases,
      namespaceMap,
      durationMs: result.durationMs,
      bytes: result.bytes,
      ...summary,
    },
  );
  return 0;
}
