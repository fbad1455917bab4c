/** Field shapes several parts of lifeboat.yaml share: names, timer seconds. */
import { z } from 'zod';

/** A job, storage or source name: safe in a key, a URL path and a Kubernetes object name part. */
export const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'expected letters, digits, "_", "." or "-", starting with a letter or digit',
  );

/**
 * Seconds that end up in one timer: Node fires a timer above 2^31-1 ms (about 24.8 days) at once,
 * so a longer value would silently mean "now".
 */
export const TIMER_MAX_SECONDS = 24 * 24 * 3600;
export const timerSeconds = () =>
  z
    .number()
    .positive('expected a number of seconds above 0')
    .max(TIMER_MAX_SECONDS, `expected at most ${TIMER_MAX_SECONDS} seconds (24 days)`);
