/**
 * The pod every rendered workload runs: the image as a non-root user with a read-only root
 * filesystem, the config from the ConfigMap, every `${VAR}` from the Secret, and an emptyDir as
 * scratch space (TMPDIR: dumps in flight, drills' throwaway clusters).
 */
import type { JobKubernetesConfig } from '../config/kubernetes.js';
import type { Config } from '../config/schema.js';
import { LifeboatError } from '../util/errors.js';
import { NAMES, PATHS } from './names.js';

export type Obj = Record<string, unknown>;

/** The image's lifeboat user (scripts/image-install.sh creates it with these ids). */
export const RUN_AS = 10001;

export const DEFAULT_RESOURCES = {
  requests: { cpu: '100m', memory: '256Mi', 'ephemeral-storage': '1Gi' },
  limits: { memory: '1Gi', 'ephemeral-storage': '8Gi' },
};

export interface PodOptions {
  image: string;
  args: string[];
  variables: Map<string, { hasDefault: boolean }>;
  config: Config;
  overrides?: JobKubernetesConfig;
  serviceAccount?: string;
  /** Extra volumes and mounts (the history PVC in service mode, the jobs' `kubernetes.volumes`). */
  volumes?: Array<{ volume: Obj; mount: Obj }>;
  /** Extra container fields (ports, probes). */
  container?: Obj;
  restartPolicy?: 'Never' | 'Always';
  /** Only these storages' volumes (a job's own); all when unset (serve runs every job). */
  storages?: string[];
}

export function resourcesFor(overrides?: JobKubernetesConfig) {
  const r = overrides?.resources;
  return {
    requests: { ...DEFAULT_RESOURCES.requests, ...r?.requests },
    limits: { ...DEFAULT_RESOURCES.limits, ...r?.limits },
  };
}

function envFrom(variables: PodOptions['variables']): Obj[] {
  const fixed = [
    { name: 'LIFEBOAT_CONFIG', value: PATHS.configFile },
    { name: 'TMPDIR', value: PATHS.scratch },
    { name: 'HOME', value: PATHS.scratch },
  ];
  const fromSecret = [...variables.keys()]
    .filter((name) => !fixed.some((f) => f.name === name))
    .sort()
    .map((name) => ({
      name,
      valueFrom: {
        secretKeyRef: {
          name: NAMES.secret,
          key: name,
          // A variable with a default may be left out of the Secret.
          ...(variables.get(name)!.hasDefault ? { optional: true } : {}),
        },
      },
    }));
  return [...fixed, ...fromSecret];
}

/** Local storages are directories: each is a PVC (`lifeboat-storage-<name>`) at its path. */
export function localStorageVolumes(
  config: Config,
  only?: string[],
): Array<{ volume: Obj; mount: Obj; claim: string }> {
  return Object.entries(config.storages)
    .filter(([name, s]) => s.type === 'local' && (!only || only.includes(name)))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, s]) => {
      const claim = `lifeboat-storage-${name.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`;
      return {
        claim,
        volume: { name: claim, persistentVolumeClaim: { claimName: claim } },
        mount: { name: claim, mountPath: (s as { path: string }).path },
      };
    });
}

/** Kubernetes refuses a pod with two volumes at one path: said here, naming both, at render. */
function refuseSharedMountPaths(mounts: Obj[]): void {
  const at = new Map<string, string>();
  for (const m of mounts) {
    const path = String(m.mountPath);
    const other = at.get(path);
    if (other !== undefined)
      throw new LifeboatError(
        'config',
        `render: volumes ${other} and ${String(m.name)} are both mounted at ${path}`,
        {
          hint: 'give one of them another mountPath (a kubernetes.volumes entry, or a local storage path)',
        },
      );
    at.set(path, String(m.name));
  }
}

export function podSpec(o: PodOptions): Obj {
  const resources = resourcesFor(o.overrides);
  const extra = [...localStorageVolumes(o.config, o.storages), ...(o.volumes ?? [])];
  const mounts = [
    { name: 'config', mountPath: PATHS.configDir, readOnly: true },
    { name: 'scratch', mountPath: PATHS.scratch },
    ...extra.map((v) => v.mount),
  ];
  refuseSharedMountPaths(mounts);
  return {
    ...(o.serviceAccount
      ? { serviceAccountName: o.serviceAccount, automountServiceAccountToken: true }
      : { automountServiceAccountToken: false }),
    restartPolicy: o.restartPolicy ?? 'Never',
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUN_AS,
      runAsGroup: RUN_AS,
      fsGroup: RUN_AS,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(o.overrides?.nodeSelector ? { nodeSelector: o.overrides.nodeSelector } : {}),
    ...(o.overrides?.tolerations ? { tolerations: o.overrides.tolerations } : {}),
    containers: [
      {
        name: 'lifeboat',
        image: o.image,
        args: o.args,
        env: envFrom(o.variables),
        resources,
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
        volumeMounts: mounts,
        ...o.container,
      },
    ],
    volumes: [
      { name: 'config', configMap: { name: NAMES.config } },
      // Bounded by the ephemeral-storage limit, so a runaway dump is evicted, not the node filled.
      { name: 'scratch', emptyDir: { sizeLimit: resources.limits['ephemeral-storage'] } },
      ...extra.map((v) => v.volume),
    ],
  };
}
