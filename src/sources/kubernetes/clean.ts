/**
 * What a stored object keeps: everything the user wrote, nothing the server manages. Stripped:
 * `uid`, `resourceVersion`, `managedFields`, `creationTimestamp`, `generation`, `selfLink`,
 * deletion fields, `ownerReferences` (they name uids that do not exist after a restore, and the
 * garbage collector would delete the restored object), `status`, and kubectl's last-applied
 * annotation. The result is what `kubectl apply -f` and server-side apply accept.
 */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } & Record<string, unknown>;
} & Record<string, unknown>;

const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'managedFields',
  'creationTimestamp',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
];
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function cleanObject(raw: Record<string, unknown>, apiVersion: string, kind: string): KubeObject {
  const { status: _status, metadata, apiVersion: _a, kind: _k, ...rest } = raw;
  const meta = { ...(metadata as KubeObject['metadata']) };
  for (const f of SERVER_METADATA) delete meta[f];
  if (meta.annotations) {
    const { [LAST_APPLIED]: _last, ...annotations } = meta.annotations;
    if (Object.keys(annotations).length) meta.annotations = annotations;
    else delete meta.annotations;
  }
  return { apiVersion, kind, metadata: meta, ...rest };
}

export interface NoiseOptions {
  /** Helm release Secrets (`helm.sh/release.v1`) are left out unless asked for. */
  helmReleases: boolean;
}

/**
 * Objects the cluster makes by itself and that a restore must not bring back: service-account
 * token Secrets (the token controller issues new ones), the `kube-root-ca.crt` ConfigMap every
 * namespace gets, and (unless opted in) Helm's release records.
 */
export function isNoise(obj: KubeObject, opts: NoiseOptions): boolean {
  if (obj.apiVersion !== 'v1') return false;
  if (obj.kind === 'ConfigMap') return obj.metadata.name === 'kube-root-ca.crt';
  if (obj.kind === 'Secret') {
    if (obj.type === 'kubernetes.io/service-account-token') return true;
    if (obj.type === 'helm.sh/release.v1') return !opts.helmReleases;
  }
  return false;
}
