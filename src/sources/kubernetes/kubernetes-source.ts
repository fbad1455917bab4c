/**
 * The backup side of a kubernetes source: plan reads every selected object (so an RBAC refusal,
 * an unreachable server or a kind the server does not serve fails the run before a byte is
 * stored), records the counts per namespace and kind, and plans one YAML stream per namespace.
 * The objects stay in memory between plan and dump: they are what the plan counted, so the
 * manifest's counts and the stored streams cannot disagree.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { PlannedArtifact, Source, SourcePlan } from '../source.js';
import { clusterClient } from './cluster.js';
import { collect, toYaml, type NamespaceDump } from './collect.js';
import type { KubeClient } from './client.js';
import type { KubernetesSourceConfig } from './config.js';
import type { KubernetesSourceRecord } from './record.js';

const CLIENT_VERSION = (
  createRequire(import.meta.url)('@kubernetes/client-node/package.json') as { version: string }
).version;

/** The server's version (`v1.31.2`), or undefined when /version is not readable. */
export async function serverVersion(client: KubeClient, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const v = (await client.request('GET', '/version', { what: 'read server version', signal })) as {
      gitVersion?: string;
    };
    return typeof v.gitVersion === 'string' ? v.gitVersion : undefined;
  } catch {
    return undefined;
  }
}

function namespaceArtifact(dump: NamespaceDump): PlannedArtifact {
  const bytes = Buffer.from(toYaml(dump.objects));
  const raw = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  return {
    role: 'namespace',
    database: dump.namespace,
    baseName: '{db}',
    async open() {
      return { stream: Readable.from([bytes]), osPipe: false, done: Promise.resolve(), raw: () => raw };
    },
  };
}

function countsLine(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

export function createKubernetesSource(cfg: KubernetesSourceConfig): Source {
  return {
    description: `kubernetes ${cfg.namespaces === 'all' ? 'all namespaces' : cfg.namespaces.join(', ')}`,
    async plan(signal): Promise<SourcePlan> {
      const client = clusterClient(cfg);
      const snap = await collect(
        client,
        {
          namespaces: cfg.namespaces,
          excludeNamespaces: cfg.excludeNamespaces,
          kinds: cfg.kinds,
          labelSelector: cfg.labelSelector,
          exclude: cfg.exclude,
          helmReleases: cfg.helmReleases,
        },
        signal,
      );
      const version = await serverVersion(client, signal);
      const counts = Object.fromEntries(snap.namespaces.map((n) => [n.namespace, n.counts]));
      const total: Record<string, number> = {};
      for (const n of snap.namespaces)
        for (const [k, c] of Object.entries(n.counts)) total[k] = (total[k] ?? 0) + c;
      const objects = snap.namespaces.reduce((sum, n) => sum + n.objects.length, 0);
      const record: KubernetesSourceRecord = {
        kind: 'kubernetes',
        tool: { name: '@kubernetes/client-node', version: CLIENT_VERSION },
        server: client.server,
        context: client.context,
        ...(version ? { serverVersion: version } : {}),
        databases: snap.namespaces.map((n) => n.namespace),
        kinds: snap.kinds.map((k) => `${k.apiVersion}/${k.kind}`),
        ...(cfg.labelSelector ? { labelSelector: cfg.labelSelector } : {}),
        counts,
        objects,
      };
      const ns = snap.namespaces.length;
      return {
        record,
        extension: '.yaml',
        artifacts: snap.namespaces.map(namespaceArtifact),
        summary:
          `Kubernetes ${client.server}${version ? ` ${version}` : ''} (context ${client.context}): ` +
          `${ns} namespace${ns === 1 ? '' : 's'}, ${objects} objects${objects ? ` (${countsLine(total)})` : ''}`,
      };
    },
  };
}
