/**
 * A job's `kubernetes:` block: what `lifeboat k8s render` puts into its CronJobs (or, in service
 * mode, nothing: one Deployment runs every job). Only scheduling and sizing; everything else about
 * the pod (security context, volumes, env from the Secret) is fixed by the renderer.
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
});

export type JobKubernetesConfig = z.infer<typeof jobKubernetesSchema>;
