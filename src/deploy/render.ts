/**
 * `lifeboat k8s render`: the config → Kubernetes manifests, as one multi-document YAML stream in a
 * fixed order (ConfigMap, volumes, RBAC, workloads), so that the same config always renders the
 * same bytes and a diff of two renders shows only what changed.
 */
import { stringify } from 'yaml';
import { LifeboatError } from '../util/errors.js';
import { LIFEBOAT_VERSION } from '../util/version.js';
import { renderCronJobs } from './cronjobs.js';
import type { RenderInput } from './input.js';
import { labels, NAMES } from './names.js';
import { localStorageVolumes, type Obj } from './pod.js';
import { renderService } from './service.js';

export const DEFAULT_IMAGE = `ghcr.io/lifeboat-backup/lifeboat:${LIFEBOAT_VERSION}`;
/** Size of the PVC rendered for each local storage; edit it before applying. */
export const LOCAL_STORAGE_SIZE = '20Gi';

export interface K8sRenderOptions {
  mode: 'cronjob' | 'service';
  namespace: string;
  image: string;
  serviceMonitor: boolean;
}

export function renderObjects(input: RenderInput, opts: K8sRenderOptions): Obj[] {
  const { config, variables } = input;
  const [baked] = input.scheduleVariables;
  if (opts.mode === 'cronjob' && baked)
    throw new LifeboatError(
      'config',
      `render CronJobs: ${baked.at} is "${baked.value}": a CronJob's schedule is written into its manifest, not read from the Secret`,
      {
        hint: 'write the schedule literally in the config, or render --mode service, which reads it when it runs',
      },
    );
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: NAMES.config, namespace: opts.namespace, labels: labels('config') },
    data: { 'lifeboat.yaml': input.text },
  };
  const storages = localStorageVolumes(config).map(({ claim }) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim, namespace: opts.namespace, labels: labels('storage') },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: LOCAL_STORAGE_SIZE } } },
  }));
  const workloads =
    opts.mode === 'service'
      ? renderService(config, variables, {
          ...opts,
          configText: input.text,
          tokenVariable: input.tokenVariable,
        })
      : renderCronJobs(config, variables, opts);
  return [configMap, ...storages, ...workloads];
}

/** The Secret every `${VAR}` is read from, with empty values to fill in (never real ones). */
export function secretTemplate(input: RenderInput, namespace: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: NAMES.secret, namespace, labels: labels('config') },
    type: 'Opaque',
    stringData: Object.fromEntries([...input.variables.keys()].sort().map((name) => [name, ''])),
  };
}

export function toYaml(objects: Obj[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
