/**
 * `lifeboat k8s render`: prints Kubernetes manifests for the config on stdout (src/deploy/), or
 * with --secret-template the Secret to fill in. Reads the config without its environment. Warns on
 * stderr about each sqlite or files path that no volume of its job's `kubernetes.volumes` holds.
 */
import { DEFAULT_IMAGE, renderObjects, secretTemplate, toYaml } from '../../deploy/render.js';
import { readRenderInput } from '../../deploy/input.js';
import { unmountedPaths } from '../../deploy/job-volumes.js';
import { LifeboatError } from '../../util/errors.js';
import type { Context } from '../context.js';

export interface K8sRenderFlags {
  mode?: string;
  namespace?: string;
  image?: string;
  serviceMonitor?: boolean;
  secretTemplate?: boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export async function k8sRenderCommand(ctx: Context, flags: K8sRenderFlags): Promise<number> {
  const namespace = flags.namespace ?? 'default';
  if (!DNS_LABEL.test(namespace) || namespace.length > 63)
    throw new LifeboatError(
      'usage',
      `render manifests: --namespace ${namespace} is not a valid namespace name`,
    );
  const mode = flags.mode === 'service' ? 'service' : 'cronjob';
  if (flags.serviceMonitor && mode !== 'service')
    throw new LifeboatError('usage', 'render manifests: --service-monitor needs --mode service');
  const input = await readRenderInput(ctx.configPath);
  const objects = flags.secretTemplate
    ? [secretTemplate(input, namespace)]
    : renderObjects(input, {
        mode,
        namespace,
        image: flags.image ?? DEFAULT_IMAGE,
        serviceMonitor: flags.serviceMonitor ?? false,
      });
  process.stdout.write(toYaml(objects));
  // The manifests are still right to print: the volume may be added by hand, as before.
  if (!flags.secretTemplate)
    for (const line of unmountedPaths(input.config, Object.keys(input.config.jobs).sort()))
      ctx.output.warn(`render: ${line}`);
  return 0;
}
