/**
 * Resolves the configured kinds through API discovery, as kubectl does: `ConfigMap` (core group
 * first, then every group's preferred version) or `group/version/Kind` (`apps/v1/Deployment`,
 * `v1/ConfigMap`, a CRD's `example.com/v1/Widget`). Only namespaced kinds can be backed up.
 */
import { LifeboatError } from '../../util/errors.js';
import { KubeApiError, toLifeboatError, type KubeClient } from './client.js';

export interface ResolvedKind {
  /** "" for the core group. */
  group: string;
  version: string;
  /** `v1` or `group/version`, as written in objects. */
  apiVersion: string;
  kind: string;
  /** Plural resource name used in URLs: `configmaps`. */
  resource: string;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

async function resources(
  client: KubeClient,
  apiVersion: string,
  signal?: AbortSignal,
): Promise<ApiResource[]> {
  const apiPath = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  try {
    const list = (await client.request('GET', apiPath, { what: `discover ${apiVersion}`, signal })) as {
      resources?: ApiResource[];
    };
    return (list.resources ?? []).filter((r) => !r.name.includes('/')); // no subresources
  } catch (err) {
    if (err instanceof KubeApiError && err.status.code === 404) return [];
    throw toLifeboatError(err, client.server);
  }
}

async function preferredGroupVersions(client: KubeClient, signal?: AbortSignal): Promise<string[]> {
  try {
    const list = (await client.request('GET', '/apis', { what: 'discover API groups', signal })) as {
      groups?: Array<{ preferredVersion?: { groupVersion: string } }>;
    };
    return (list.groups ?? []).flatMap((g) => (g.preferredVersion ? [g.preferredVersion.groupVersion] : []));
  } catch (err) {
    throw toLifeboatError(err, client.server);
  }
}

function resolved(apiVersion: string, r: ApiResource, spec: string): ResolvedKind {
  if (!r.namespaced) {
    throw new LifeboatError('config', `resolve kind ${spec}: ${r.kind} is not namespaced`, {
      hint: 'a kubernetes source backs up namespaced kinds only',
    });
  }
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return { group: group!, version: version!, apiVersion, kind: r.kind, resource: r.name };
}

export async function resolveKinds(
  client: KubeClient,
  specs: string[],
  signal?: AbortSignal,
): Promise<ResolvedKind[]> {
  const cache = new Map<string, Promise<ApiResource[]>>();
  const of = (gv: string) => {
    let p = cache.get(gv);
    if (!p) cache.set(gv, (p = resources(client, gv, signal)));
    return p;
  };
  let groups: Promise<string[]> | undefined;
  const out: ResolvedKind[] = [];
  for (const spec of specs) {
    const slash = spec.lastIndexOf('/');
    const kind = spec.slice(slash + 1);
    if (slash >= 0) {
      const gv = spec.slice(0, slash);
      const r = (await of(gv)).find((x) => x.kind === kind);
      if (!r)
        throw new LifeboatError('config', `resolve kind ${spec}: the API server serves no ${kind} in ${gv}`);
      out.push(resolved(gv, r, spec));
      continue;
    }
    const core = (await of('v1')).find((x) => x.kind === kind);
    if (core) {
      out.push(resolved('v1', core, spec));
      continue;
    }
    groups ??= preferredGroupVersions(client, signal);
    const hits: Array<[string, ApiResource]> = [];
    for (const gv of await groups) {
      const r = (await of(gv)).find((x) => x.kind === kind);
      if (r) hits.push([gv, r]);
    }
    if (hits.length === 0)
      throw new LifeboatError('config', `resolve kind ${spec}: the API server serves no such kind`);
    if (hits.length > 1) {
      throw new LifeboatError(
        'config',
        `resolve kind ${spec}: served by ${hits.map(([gv]) => gv).join(', ')}`,
        {
          hint: `name one as group/version/${kind}`,
        },
      );
    }
    out.push(resolved(hits[0]![0], hits[0]![1], spec));
  }
  const seen = new Set<string>();
  return out.filter((k) => !seen.has(`${k.apiVersion}/${k.kind}`) && seen.add(`${k.apiVersion}/${k.kind}`));
}

/** The URL path of a kind's collection in a namespace (or cluster-wide when none). */
export function collectionPath(
  k: Pick<ResolvedKind, 'group' | 'version' | 'resource'>,
  namespace?: string,
): string {
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return namespace === undefined
    ? `${base}/${k.resource}`
    : `${base}/namespaces/${encodeURIComponent(namespace)}/${k.resource}`;
}
