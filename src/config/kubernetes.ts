/**
 * A job's `kubernetes:` block: what `lifeboat k8s render` puts into its CronJobs (in service mode
 * one Deployment runs every job, and only the jobs' `volumes` reach it). Scheduling, sizing and the
 * volumes that hold a sqlite or files source's paths; everything else about the pod (security
 * context, scratch space, env from the Secret) is fixed by the renderer.
 */
import { z } from 'zod';

/** A Kubernetes quantity such as 500m, 2, 1Gi or 512M. */
const quantity = z
  .union([z.string(), z.number()])
  .transform(String)
  .refine(
    (q) => /^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(q),
    'expected a quantity like 500m or 1Gi',
  );

const resourceList = z.strictObject({
  cpu: quantity.optional(),
  memory: quantity.optional(),
  'ephemeral-storage': quantity.optional(),
});

const seconds = z.number().int('expected a whole number').min(1, 'expected 1 or more');
const count = z.number().int('expected a whole number').min(0, 'expected 0 or more');

export const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

/** Volume names the rendered pods use themselves (deploy/pod.ts, deploy/service.ts). */
const RESERVED_VOLUMES = ['config', 'scratch', 'history'];

/**
 * A volume mounted into the job's pods: where a sqlite or files source's paths live (the app's
 * PVC, a hostPath of the node, an NFS export). Exactly one kind of volume, as Kubernetes writes it.
 */
export const volumeSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a DNS label (lowercase letters, digits, "-")')
      .max(63)
      .refine((n) => !RESERVED_VOLUMES.includes(n) && !n.startsWith('lifeboat-'), {
        message: `is reserved (${RESERVED_VOLUMES.join(', ')} and lifeboat-… are the renderer's own)`,
      }),
    mountPath: z.string().startsWith('/', 'expected an absolute path'),
    /** Mounted read-only: a backup only reads. */
    readOnly: z.boolean().optional(),
    persistentVolumeClaim: z
      .strictObject({ claimName: z.string().min(1), readOnly: z.boolean().optional() })
      .optional(),
    hostPath: z
      .strictObject({
        path: z.string().startsWith('/', 'expected an absolute path'),
        type: z.string().optional(),
      })
      .optional(),
    nfs: z
      .strictObject({
        server: z.string().min(1),
        path: z.string().startsWith('/', 'expected an absolute path'),
        readOnly: z.boolean().optional(),
      })
      .optional(),
  })
  .refine((v) => [v.persistentVolumeClaim, v.hostPath, v.nfs].filter(Boolean).length === 1, {
    message: 'expected exactly one of persistentVolumeClaim, hostPath, nfs',
  });

export type VolumeConfig = z.infer<typeof volumeSchema>;

export const jobKubernetesSchema = z.strictObject({
  /** Merged over the defaults per field: `limits: { memory: 4Gi }` keeps the other defaults. */
  resources: z
    .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
    .optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(tolerationSchema).optional(),
  /** A run still going after this long is killed (the CronJob's Job activeDeadlineSeconds). */
  activeDeadlineSeconds: seconds.optional(),
  /** A run that could not start within this long after its time is skipped. */
  startingDeadlineSeconds: seconds.optional(),
  backoffLimit: count.optional(),
  successfulJobsHistoryLimit: count.optional(),
  failedJobsHistoryLimit: count.optional(),
  volumes: z.array(volumeSchema).optional(),
});

export type JobKubernetesConfig = z.infer<typeof jobKubernetesSchema>;
