/**
 * The least RBAC a kubernetes source needs to be backed up: get and list of its kinds in its
 * namespaces (a Role and RoleBinding in each), or, for `namespaces: all`, a ClusterRole that also
 * lists namespaces. API discovery needs no grant (every authenticated user may read it).
 */
import { LifeboatError } from '../util/errors.js';
import type { Config } from '../config/schema.js';
import { DEFAULT_KINDS } from '../sources/kubernetes/config.js';
import { labels } from './names.js';
import type { Obj } from './pod.js';

/** The API group of built-in kinds named without one (as `kinds: [Deployment]` allows). */
const BUILTIN_GROUPS: Record<string, string> = {
  ConfigMap: '',
  Secret: '',
  Service: '',
  ServiceAccount: '',
  PersistentVolumeClaim: '',
  Pod: '',
  Endpoints: '',
  LimitRange: '',
  ResourceQuota: '',
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  ReplicaSet: 'apps',
  ControllerRevision: 'apps',
  CronJob: 'batch',
  Job: 'batch',
  Ingress: 'networking.k8s.io',
  NetworkPolicy: 'networking.k8s.io',
  Role: 'rbac.authorization.k8s.io',
  RoleBinding: 'rbac.authorization.k8s.io',
  PodDisruptionBudget: 'policy',
  HorizontalPodAutoscaler: 'autoscaling',
  Lease: 'coordination.k8s.io',
  EndpointSlice: 'discovery.k8s.io',
};

/** The resource name the API serves a kind under, as discovery would report it. */
export function plural(kind: string): string {
  const k = kind.toLowerCase();
  if (k === 'endpoints') return k;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

/** `Kind`, `v1/Kind` or `group/version/Kind` → the group and resource of an RBAC rule. */
export function ruleTarget(spec: string, where: string): { group: string; resource: string } {
  const parts = spec.split('/');
  const kind = parts.at(-1)!;
  if (parts.length === 3) return { group: parts[0]!, resource: plural(kind) };
  if (parts.length === 2) return { group: '', resource: plural(kind) };
  const group = BUILTIN_GROUPS[kind];
  if (group === undefined)
    throw new LifeboatError('config', `render RBAC for ${where}: kind ${kind} has no known API group`, {
      hint: `name it as group/version/${kind}`,
    });
  return { group, resource: plural(kind) };
}

interface KubeSource {
  namespaces?: unknown;
  kinds?: unknown;
}

/** get/list rules, one per API group, sorted: stable output for the same kinds. */
function rules(kinds: string[], where: string, extra: Obj[] = []): Obj[] {
  const byGroup = new Map<string, Set<string>>();
  for (const spec of kinds) {
    const t = ruleTarget(spec, where);
    byGroup.set(t.group, (byGroup.get(t.group) ?? new Set()).add(t.resource));
  }
  return [
    ...[...byGroup.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([group, resources]) => ({
        apiGroups: [group],
        resources: [...resources].sort(),
        verbs: ['get', 'list'],
      })),
    ...extra,
  ];
}

/** The kubernetes sources of these jobs, in config order. */
export function kubernetesSources(
  config: Config,
  jobs: string[],
): Array<{ where: string; source: KubeSource }> {
  return jobs.flatMap((job) =>
    Object.entries(config.jobs[job]!.sources)
      .filter(([, s]) => s.type === 'kubernetes')
      .map(([name, s]) => ({ where: `jobs.${job}.sources.${name}`, source: s as KubeSource })),
  );
}

/** A ServiceAccount named `account` and the grants the given sources need, or [] when none. */
export function rbacFor(
  account: string,
  namespace: string,
  sources: ReturnType<typeof kubernetesSources>,
  component: string,
): Obj[] {
  if (sources.length === 0) return [];
  const meta = (name: string, ns?: string) => ({
    name,
    ...(ns ? { namespace: ns } : {}),
    labels: labels(component),
  });
  const subject = [{ kind: 'ServiceAccount', name: account, namespace }];
  const out: Obj[] = [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(account, namespace) }];
  const kindsOf = (s: KubeSource) => (Array.isArray(s.kinds) ? (s.kinds as string[]) : DEFAULT_KINDS);
  const everywhere = sources.filter((s) => s.source.namespaces === 'all');
  if (everywhere.length > 0) {
    const name = `${namespace}-${account}`;
    const kinds = everywhere.flatMap((s) => kindsOf(s.source));
    const listNamespaces = { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list'] };
    out.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: meta(name),
        rules: rules(kinds, everywhere[0]!.where, [listNamespaces]),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: meta(name),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: subject,
      },
    );
  }
  const perNamespace = new Map<string, string[]>();
  for (const { source, where } of sources) {
    for (const kind of kindsOf(source)) ruleTarget(kind, where); // refused here, naming the source
    if (source.namespaces === 'all') continue;
    const list = typeof source.namespaces === 'string' ? [source.namespaces] : source.namespaces;
    if (!Array.isArray(list) || list.length === 0)
      throw new LifeboatError('config', `render RBAC for ${where}: expected namespaces: a list or all`);
    for (const ns of list as string[])
      perNamespace.set(ns, [...(perNamespace.get(ns) ?? []), ...kindsOf(source)]);
  }
  for (const ns of [...perNamespace.keys()].sort()) {
    out.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(account, ns),
        rules: rules(perNamespace.get(ns)!, ns),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(account, ns),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: account },
        subjects: subject,
      },
    );
  }
  return out;
}
