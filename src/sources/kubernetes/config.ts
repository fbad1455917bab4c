/**
 * The `type: kubernetes` config block (SPEC §5): which namespaces (a list, or `all` minus
 * `excludeNamespaces` globs), which kinds (`Kind` or `group/version/Kind`, resolved through API
 * discovery), a label selector, what noise to leave out, and how the cluster is reached (a
 * kubeconfig file and context; else KUBECONFIG, ~/.kube/config or the pod's service account).
 * Also the job's `drill.kubernetes` block.
 */
import { z } from 'zod';
import { sourceCommon } from '../common-config.js';

/** What a source backs up when it names no kinds. */
export const DEFAULT_KINDS = ['ConfigMap', 'Secret'];

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** `Kind`, `v1/Kind` or `group/version/Kind`. */
const KIND_SPEC = /^(([a-z0-9.-]+\/)?v[0-9a-z]+\/)?[A-Z][A-Za-z0-9]*$/;

export const kubernetesSourceSchema = z.strictObject({
  ...sourceCommon,
  type: z.literal('kubernetes'),
  namespaces: z.union(
    [
      z.literal('all'),
      z.array(z.string().regex(NAMESPACE, 'expected a namespace name')).min(1, 'expected at least one'),
    ],
    { error: 'expected a list of namespace names, or all' },
  ),
  /** Globs (`kube-*`) of namespaces to leave out, mostly with `namespaces: all`. */
  excludeNamespaces: z.array(z.string().min(1)).default([]),
  kinds: z
    .array(
      z
        .string()
        .regex(KIND_SPEC, 'expected Kind or group/version/Kind, e.g. ConfigMap or apps/v1/Deployment'),
    )
    .min(1, 'expected at least one kind')
    .default([...DEFAULT_KINDS]),
  labelSelector: z.string().min(1).optional(),
  /** Objects to leave out as `Kind/name` globs (`ConfigMap/istio-ca-*`), beside the built-in noise. */
  exclude: z
    .array(z.string().regex(/^[A-Za-z0-9.]+\/\S+$/, 'expected Kind/name, e.g. Secret/tls-*'))
    .default([]),
  /** Keep Helm release Secrets (`helm.sh/release.v1`), left out by default. */
  helmReleases: z.boolean().default(false),
  /** The kubeconfig file (else KUBECONFIG, ~/.kube/config, or the pod's service account). */
  kubeconfig: z.string().min(1).optional(),
  /** The kubeconfig context (else its current context). */
  context: z.string().min(1).optional(),
});

export type KubernetesSourceConfig = z.infer<typeof kubernetesSourceSchema>;

/** `drill.kubernetes`: also apply every object with a server-side dry run into a scratch namespace. */
export const kubernetesDrillSchema = z.strictObject({
  dryRun: z.boolean().default(false),
});

/** True when the source backs up Secrets (by `Secret`, `v1/Secret`), which must be encrypted. */
export function listsSecrets(cfg: Pick<KubernetesSourceConfig, 'kinds'>): boolean {
  return (cfg.kinds ?? DEFAULT_KINDS).some((k) => k === 'Secret' || k === 'v1/Secret');
}
