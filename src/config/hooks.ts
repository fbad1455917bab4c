/**
 * A job's `hooks:` (SPEC §8): commands around its backups and restores, as a runbook's scripts
 * were (scale a deployment to 0, restart it afterwards, check its health endpoint).
 *
 *   hooks:
 *     beforeBackup: [kubectl, scale, deployment/app, --replicas=0]          # one command
 *     afterBackup:                                                          # or several steps
 *       - { run: [kubectl, scale, deployment/app, --replicas=1], timeoutSeconds: 60 }
 *     afterRestore:
 *       - [kubectl, rollout, restart, deployment/app]
 *       - { type: http, url: "http://app/healthz", waitSeconds: 120 }
 *
 * A command is an argv list (no shell: `[sh, -c, "…"]` when one is wanted) with a timeout each.
 */
import { z } from 'zod';
import { timerSeconds } from './fields.js';
import { httpHookStepSchema } from './http-check.js';

/** How long a command may run unless it says: long enough for a rollout to finish. */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 300;

const argv = z
  .array(z.string().min(1, 'expected a non-empty argument'), {
    error: 'expected a command as a list: [program, arg, …]',
  })
  .min(1, 'expected a command as a list: [program, arg, …]');

export const commandStepSchema = z.strictObject({
  type: z.literal('command'),
  run: argv,
  timeoutSeconds: timerSeconds().default(DEFAULT_HOOK_TIMEOUT_SECONDS),
});

const STEP_EXPECTED =
  'expected a command [program, arg, …], { run: [program, arg, …], timeoutSeconds } or { type: http, url }';

/** `[prog, arg]` and `{ run: […] }` are commands; `{ type: http, … }` an http check. */
const stepSchema = z.preprocess(
  (step) => {
    if (Array.isArray(step)) return { type: 'command', run: step };
    if (step && typeof step === 'object' && !('type' in step)) return { type: 'command', ...step };
    return step;
  },
  z.discriminatedUnion('type', [commandStepSchema, httpHookStepSchema], { error: STEP_EXPECTED }),
);

/** One command (a list of strings), one step (an object), or a list of steps. */
const phaseSchema = z.preprocess(
  (value) => {
    const single = Array.isArray(value)
      ? value.length > 0 && value.every((v) => typeof v === 'string')
      : value !== undefined;
    return single ? [value] : value;
  },
  z.array(stepSchema, { error: STEP_EXPECTED }),
);

export const hooksSchema = z.strictObject({
  beforeBackup: phaseSchema.optional(),
  afterBackup: phaseSchema.optional(),
  beforeRestore: phaseSchema.optional(),
  afterRestore: phaseSchema.optional(),
});

export type HooksConfig = z.infer<typeof hooksSchema>;
export type HookStep = z.infer<typeof stepSchema>;
export type HookPhase = keyof HooksConfig;
