/**
 * One backup of a kubernetes source: the configured kinds of the configured namespaces, cleaned
 * of server-managed fields, as one multi-document YAML per namespace sorted by (kind, name) —
 * what `kubectl apply -f` takes — with object counts per kind. Everything is read before the
 * first byte is stored, so an RBAC refusal or an unreachable server fails the run at plan time.
 */
import { stringify } from 'yaml';
import { LifeboatError } from '../../util/errors.js';
import { cleanObject, isNoise, type KubeObject } from './clean.js';
import type { KubeClient } from './client.js';
import { resolveKinds, type ResolvedKind } from './discovery.js';
import { listAll } from './list.js';
import { DEFAULT_KINDS } from './config.js';

export interface KubernetesSelection {
  namespaces: string[] | 'all';
  excludeNamespaces?: string[];
  kinds?: string[];
  labelSelector?: string;
  /** Keep Helm release Secrets (left out by default). */
  helmReleases?: boolean;
  /** `Kind/name` globs of objects to leave out. */
  exclude?: string[];
  pageSize?: number;
}

export interface NamespaceDump {
  namespace: string;
  objects: KubeObject[];
  /** Objects per kind label (`ConfigMap`, `Deployment.apps`), zero counts left out. */
  counts: Record<string, number>;
}

export interface KubernetesSnapshot {
  kinds: ResolvedKind[];
  namespaces: NamespaceDump[];
}

/** `ConfigMap` for the core group, `Deployment.apps` otherwise (as kubectl names resources). */
export function kindLabel(k: { apiVersion: string; kind: string }): string {
  const slash = k.apiVersion.indexOf('/');
  return slash < 0 ? k.kind : `${k.kind}.${k.apiVersion.slice(0, slash)}`;
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

async function namespacesOf(
  client: KubeClient,
  sel: KubernetesSelection,
  signal?: AbortSignal,
): Promise<string[]> {
  const names =
    sel.namespaces === 'all'
      ? (
          await listAll(
            client,
            { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace' },
            undefined,
            { signal },
          )
        ).map((n) => (n.metadata as { name: string }).name)
      : sel.namespaces;
  const excluded = (sel.excludeNamespaces ?? []).map(glob);
  const out = [...new Set(names)].filter((n) => !excluded.some((re) => re.test(n))).sort();
  if (out.length === 0) {
    throw new LifeboatError('config', 'select namespaces: none left after excludeNamespaces');
  }
  return out;
}

export function byKindAndName(a: KubeObject, b: KubeObject): number {
  const ka = `${a.kind}\0${a.apiVersion}\0${a.metadata.name}`;
  const kb = `${b.kind}\0${b.apiVersion}\0${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export async function collect(
  client: KubeClient,
  sel: KubernetesSelection,
  signal?: AbortSignal,
): Promise<KubernetesSnapshot> {
  const kinds = await resolveKinds(client, sel.kinds ?? DEFAULT_KINDS, signal);
  const namespaces: NamespaceDump[] = [];
  const excluded = (sel.exclude ?? []).map(glob);
  const wanted = (o: KubeObject) =>
    !isNoise(o, { helmReleases: sel.helmReleases ?? false }) &&
    !excluded.some((re) => re.test(`${o.kind}/${o.metadata.name}`));
  for (const namespace of await namespacesOf(client, sel, signal)) {
    const objects: KubeObject[] = [];
    for (const k of kinds) {
      const items = await listAll(client, k, namespace, {
        labelSelector: sel.labelSelector,
        pageSize: sel.pageSize,
        signal,
      });
      for (const item of items) {
        const obj = cleanObject(item, k.apiVersion, k.kind);
        if (wanted(obj)) objects.push(obj);
      }
    }
    objects.sort(byKindAndName);
    const counts: Record<string, number> = {};
    for (const o of objects) counts[kindLabel(o)] = (counts[kindLabel(o)] ?? 0) + 1;
    namespaces.push({ namespace, objects, counts });
  }
  return { kinds, namespaces };
}

/** One YAML stream, a document per object; `kubectl apply -f` takes it as it is. */
export function toYaml(objects: KubeObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
