/**
 * `--mode service`: one Deployment of `lifeboat serve` (Recreate, one replica: two schedulers would
 * run every job twice, and the history is a SQLite file on a ReadWriteOnce volume), its history
 * PVC, a Service, and with --service-monitor a Prometheus Operator ServiceMonitor for /metrics.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { LifeboatError } from '../util/errors.js';
import { jobVolumes } from './job-volumes.js';
import { labels, NAMES, PATHS } from './names.js';
import { podSpec, type Obj } from './pod.js';
import { kubernetesSources, rbacFor } from './rbac.js';
import type { RenderOptions } from './cronjobs.js';

export const HISTORY_SIZE = '1Gi';

export interface ServiceOptions extends RenderOptions {
  serviceMonitor: boolean;
  /** The ConfigMap's text: its hash in the pod template restarts the pod when the config changes. */
  configText: string;
  /** The variable that holds server.token when it is exactly `${VAR}`. */
  tokenVariable?: string;
}

export function renderService(
  config: Config,
  variables: Map<string, { hasDefault: boolean }>,
  opts: ServiceOptions,
): Obj[] {
  const token = config.server?.token;
  // serve refuses to listen beyond loopback without a token; say so now, not in a crash loop.
  if (token === undefined)
    throw new LifeboatError('config', 'render service: server.token is not set', {
      hint: 'set server: { token: "${LIFEBOAT_TOKEN}" }; the Secret provides it',
    });
  const port = config.server?.port || 8080;
  const meta = labels('server');
  const selector = { 'app.kubernetes.io/name': 'lifeboat', 'app.kubernetes.io/component': 'server' };
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: '/healthz', port: 'http' },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 5,
  });
  const jobs = Object.keys(config.jobs).sort();
  const sources = kubernetesSources(config, jobs);
  const out: Obj[] = [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: NAMES.history, namespace: opts.namespace, labels: meta },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: HISTORY_SIZE } } },
    },
    ...rbacFor(NAMES.server, opts.namespace, sources, 'server'),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAMES.server, namespace: opts.namespace, labels: meta },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: meta,
            annotations: {
              'lifeboat.dev/config-sha256': createHash('sha256').update(opts.configText).digest('hex'),
            },
          },
          spec: podSpec({
            image: opts.image,
            args: [
              '--log-format',
              'json',
              'serve',
              '--host',
              '0.0.0.0',
              '--port',
              String(port),
              '--history',
              `${PATHS.history}/history.db`,
            ],
            variables,
            config,
            serviceAccount: sources.length > 0 ? NAMES.server : undefined,
            restartPolicy: 'Always',
            volumes: [
              {
                volume: { name: 'history', persistentVolumeClaim: { claimName: NAMES.history } },
                mount: { name: 'history', mountPath: PATHS.history },
              },
              ...jobVolumes(config, Object.keys(config.jobs).sort()),
            ],
            container: {
              ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
              readinessProbe: probe(10, 3),
              livenessProbe: probe(30, 5),
            },
          }),
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NAMES.server, namespace: opts.namespace, labels: meta },
      spec: { selector, ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
    },
  ];
  if (opts.serviceMonitor) out.push(serviceMonitor(config, opts, selector));
  return out;
}

function serviceMonitor(config: Config, opts: ServiceOptions, selector: Record<string, string>): Obj {
  const endpoint: Obj = { port: 'http', path: '/metrics', interval: '60s' };
  // With protectReads, /metrics wants the token: the Prometheus Operator reads the same Secret key.
  if (config.server?.protectReads) {
    if (!opts.tokenVariable)
      throw new LifeboatError('config', 'render ServiceMonitor: server.token is not one ${VAR}', {
        hint: 'write server.token as "${LIFEBOAT_TOKEN}" so that Prometheus can read it from the Secret',
      });
    endpoint.authorization = { type: 'Bearer', credentials: { name: NAMES.secret, key: opts.tokenVariable } };
  }
  const namespace = opts.namespace;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: NAMES.server, namespace, labels: labels('server') },
    spec: { selector: { matchLabels: selector }, endpoints: [endpoint] },
  };
}
