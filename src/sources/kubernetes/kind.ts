/**
 * Kubernetes objects as a source kind (sources/kind.ts): config, backup source, probe, restore
 * into a cluster and drill. The API client (@kubernetes/client-node) is loaded only when a
 * kubernetes source is used, so other commands do not pay for it.
 */
import type { Source } from '../source.js';
import type { SourceKind } from '../kind.js';
import { kubernetesSourceSchema, listsSecrets, type KubernetesSourceConfig } from './config.js';

export const kubernetesKind = {
  type: 'kubernetes',
  schema: kubernetesSourceSchema,
  create: (cfg): Source => {
    const where = cfg.namespaces === 'all' ? 'all namespaces' : cfg.namespaces.join(', ');
    return {
      description: `kubernetes ${where} (${cfg.kinds.join(', ')})`,
      plan: async (signal) =>
        (await import('./kubernetes-source.js')).createKubernetesSource(cfg).plan(signal),
    };
  },
  /** Discovery of the core API: the cheapest call that proves the server answers and takes the credentials. */
  probe: (cfg) => async (signal) => {
    const { clusterClient } = await import('./cluster.js');
    const { toLifeboatError } = await import('./client.js');
    const client = clusterClient(cfg);
    await client.request('GET', '/api', { what: 'discover the core API', signal }).catch((err: unknown) => {
      throw toLifeboatError(err, client.server);
    });
  },
  drillSettings: (cfg) => ({ kubeconfig: cfg.kubeconfig, context: cfg.context }),
  holdsSecrets: (cfg) => (listsSecrets(cfg) ? 'lists Secret' : undefined),
  restore: async (storage, part, opts) =>
    (await import('./restore.js')).restoreKubernetes(storage, part, opts),
  drill: async (ctx) => (await import('./drill.js')).drillKubernetes(ctx),
} satisfies SourceKind<KubernetesSourceConfig>;
