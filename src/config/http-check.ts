/**
 * An http check (SPEC §8): the health endpoint a runbook checks after restoring. `url` must answer
 * `expectStatus` (200 by default), and, optionally, the JSON it returns must hold a value at
 * `json.path` that meets `json.expect` (the expectation language of SQL checks: "= ok", ">= 1" …).
 * `waitSeconds` keeps trying until it passes, for an application still starting. Usable as a
 * drill check (`drill.checks[]` with `type: http`) and as a step of an `after*` hook.
 */
import { z } from 'zod';
import { parseExpectation } from './expectation.js';
import { TIMER_MAX_SECONDS, timerSeconds } from './fields.js';
import { parseJsonPath } from './json-path.js';

/** An expectation (see expectation.ts), checked when the config loads so a typo fails then. */
export const expectationField = z
  .union([z.string(), z.number(), z.boolean()], {
    error: 'expected ">= 1", "= 0", "between 10 and 20" or a value',
  })
  .transform(String)
  .superRefine((value, ctx) => {
    try {
      parseExpectation(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const httpCheckFields = {
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  expectStatus: z
    .number()
    .int('expected a whole number')
    .min(100, 'expected an HTTP status (100-599)')
    .max(599, 'expected an HTTP status (100-599)')
    .default(200),
  json: z
    .strictObject({
      path: z.string().superRefine((value, ctx) => {
        try {
          parseJsonPath(value);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
      expect: expectationField,
    })
    .optional(),
  /** Each request's limit. */
  timeoutSeconds: timerSeconds().default(10),
  /** Keep trying (every second or so) until it passes, for up to this long; 0: once. */
  waitSeconds: z
    .number()
    .min(0, 'expected 0 or more')
    .max(TIMER_MAX_SECONDS, `expected at most ${TIMER_MAX_SECONDS} seconds (24 days)`)
    .default(0),
};

/** A drill check of `type: http`. */
export const httpDrillCheckSchema = z.strictObject({
  name: z.string().min(1, 'expected a name'),
  type: z.literal('http'),
  ...httpCheckFields,
});

/** An http step of a hook: as a drill check, its name optional. */
export const httpHookStepSchema = z.strictObject({
  type: z.literal('http'),
  name: z.string().min(1).optional(),
  ...httpCheckFields,
});

export type HttpCheck = z.infer<typeof httpHookStepSchema>;
export type HttpDrillCheck = z.infer<typeof httpDrillCheckSchema>;
