/** Config settings every source kind has, spread into each kind's schema. */
import { z } from 'zod';

export const sourceCommon = {
  /** Holds secrets: backups of it must be encrypted (jobs.*.encryption) unless allowPlaintext. */
  sensitive: z.boolean().optional(),
  /** Lets a sensitive source be stored unencrypted; every run then warns. */
  allowPlaintext: z.boolean().optional(),
};
