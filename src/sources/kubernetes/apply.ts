/**
 * Restore into a cluster by server-side apply (field manager `lifeboat`), as `kubectl apply
 * --server-side` does. First every object is compared with what the cluster holds: missing ones
 * are created (and their namespaces first), identical ones left alone, and ones whose content
 * differs are conflicts — the restore refuses them all, listing each, unless `force`. With
 * `dryRun` the server validates every change (`dryRun=All`) and nothing is stored.
 */
import { LifeboatError } from '../../util/errors.js';
import type { KubeObject } from './clean.js';
import { KubeApiError, toLifeboatError, type KubeClient } from './client.js';
import { kindLabel } from './collect.js';
import { collectionPath, resolveKinds, type ResolvedKind } from './discovery.js';

export const FIELD_MANAGER = 'lifeboat';

export interface ApplyOptions {
  /** Source namespace → target namespace. */
  namespaceMap?: Record<string, string>;
  dryRun?: boolean;
  force?: boolean;
  /** Target namespaces known to be empty (a drill's fresh scratch namespace): nothing in them is looked up. */
  emptyNamespaces?: string[];
  signal?: AbortSignal;
}

export interface KindSummary {
  created: number;
  unchanged: number;
  conflicting: number;
}

export interface ApplySummary {
  perKind: Record<string, KindSummary>;
  /** `namespace/Kind/name` of every object whose content differed (overwritten when forced). */
  conflicts: string[];
  namespacesCreated: string[];
}

/** Parses `a=b` pairs of --namespace-map. */
export function parseNamespaceMap(pairs: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([a-z0-9-]+)=([a-z0-9-]+)$/.exec(pair);
    if (!m)
      throw new LifeboatError('usage', `parse --namespace-map ${pair}: expected FROM=TO namespace names`);
    map[m[1]!] = m[2]!;
  }
  return map;
}

/** True when every field of `want` is present in `have` with the same value (server defaults ignored). */
export function contains(have: unknown, want: unknown): boolean {
  if (want && typeof want === 'object' && !Array.isArray(want)) {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, v]) => contains((have as Record<string, unknown>)[k], v));
  }
  return JSON.stringify(have) === JSON.stringify(want);
}

function sameContent(live: Record<string, unknown>, want: KubeObject): boolean {
  const { metadata, apiVersion: _a, kind: _k, ...rest } = want;
  const liveMeta = (live.metadata ?? {}) as KubeObject['metadata'];
  return (
    contains(live, rest) &&
    contains(liveMeta.labels ?? {}, metadata.labels ?? {}) &&
    contains(liveMeta.annotations ?? {}, metadata.annotations ?? {})
  );
}

async function getOrMissing(client: KubeClient, apiPath: string, what: string, signal?: AbortSignal) {
  try {
    return (await client.request('GET', apiPath, { what, signal })) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof KubeApiError && err.status.code === 404) return undefined;
    throw toLifeboatError(err, client.server);
  }
}

async function serverSideApply(
  client: KubeClient,
  apiPath: string,
  obj: object,
  what: string,
  opts: ApplyOptions,
): Promise<void> {
  try {
    await client.request('PATCH', apiPath, {
      what,
      signal: opts.signal,
      contentType: 'application/apply-patch+yaml',
      body: JSON.stringify(obj), // JSON is YAML
      query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: opts.dryRun ? 'All' : undefined },
    });
  } catch (err) {
    throw toLifeboatError(err, client.server);
  }
}

function objectPath(k: ResolvedKind, namespace: string, name: string): string {
  return `${collectionPath(k, namespace)}/${encodeURIComponent(name)}`;
}

export async function applyObjects(
  client: KubeClient,
  objects: KubeObject[],
  opts: ApplyOptions,
): Promise<ApplySummary> {
  const map = opts.namespaceMap ?? {};
  const targets = objects.map((o) => {
    const from = o.metadata.namespace ?? '';
    const namespace = map[from] ?? from;
    if (!namespace)
      throw new LifeboatError('integrity', `read object ${o.kind}/${o.metadata.name}: no namespace`);
    return { ...o, metadata: { ...o.metadata, namespace } } as KubeObject;
  });
  const specs = [...new Set(targets.map((o) => `${o.apiVersion}/${o.kind}`))];
  const kinds = new Map(
    (await resolveKinds(client, specs, opts.signal)).map((k) => [`${k.apiVersion}/${k.kind}`, k]),
  );

  const namespaces = [...new Set(targets.map((o) => o.metadata.namespace!))].sort();
  const missingNs = new Set<string>();
  for (const ns of namespaces) {
    const live = await getOrMissing(
      client,
      `/api/v1/namespaces/${encodeURIComponent(ns)}`,
      `get namespace ${ns}`,
      opts.signal,
    );
    if (!live) missingNs.add(ns);
  }

  const summary: ApplySummary = { perKind: {}, conflicts: [], namespacesCreated: [...missingNs] };
  const plan: Array<{ obj: KubeObject; kind: ResolvedKind }> = [];
  for (const obj of targets) {
    const kind = kinds.get(`${obj.apiVersion}/${obj.kind}`)!;
    const ns = obj.metadata.namespace!;
    const counts = (summary.perKind[kindLabel(obj)] ??= { created: 0, unchanged: 0, conflicting: 0 });
    const live =
      missingNs.has(ns) || opts.emptyNamespaces?.includes(ns)
        ? undefined
        : await getOrMissing(
            client,
            objectPath(kind, ns, obj.metadata.name),
            `get ${obj.kind} ${obj.metadata.name} in namespace ${ns}`,
            opts.signal,
          );
    if (!live) counts.created++;
    else if (sameContent(live, obj)) {
      counts.unchanged++;
      continue;
    } else {
      counts.conflicting++;
      summary.conflicts.push(`${ns}/${obj.kind}/${obj.metadata.name}`);
    }
    plan.push({ obj, kind });
  }
  if (summary.conflicts.length && !opts.force) {
    const shown = summary.conflicts.slice(0, 20).join(', ');
    const more = summary.conflicts.length > 20 ? ` and ${summary.conflicts.length - 20} more` : '';
    throw new LifeboatError(
      'exists',
      `restore to cluster: ${summary.conflicts.length} existing objects differ from the backup: ${shown}${more}`,
      {
        hint: 'nothing was applied; --force overwrites them, --namespace-map restores beside them',
      },
    );
  }

  for (const ns of missingNs) {
    await serverSideApply(
      client,
      `/api/v1/namespaces/${encodeURIComponent(ns)}`,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      `create namespace ${ns}`,
      opts,
    );
  }
  for (const { obj, kind } of plan) {
    const ns = obj.metadata.namespace!;
    // A dry run cannot place objects in a namespace it did not really create: the server's answer is 404.
    if (opts.dryRun && missingNs.has(ns)) continue;
    await serverSideApply(
      client,
      objectPath(kind, ns, obj.metadata.name),
      obj,
      `apply ${obj.kind} ${obj.metadata.name} in namespace ${ns}`,
      opts,
    );
  }
  return summary;
}
