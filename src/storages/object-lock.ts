/**
 * The typed signal a storage gives when it refuses to delete an object that Object Lock (WORM)
 * retention or a legal hold still protects. Prune reports such a backup as retained instead of
 * failing: the refusal is the bucket doing its job, and a later prune removes it once it may.
 */
import { LifeboatError } from '../util/errors.js';

export class ObjectLockedError extends LifeboatError {
  /** Until when the retention protects the object, when the server told us. */
  readonly lockedUntil?: Date;
  readonly legalHold: boolean;

  constructor(key: string, location: string, lock: { until?: Date; mode?: string; legalHold?: boolean }) {
    const why = [
      lock.until ? `${lock.mode ? `${lock.mode} ` : ''}retention until ${lock.until.toISOString()}` : '',
      lock.legalHold ? 'a legal hold' : '',
    ]
      .filter(Boolean)
      .join(' and ');
    super('failed', `delete ${key} in ${location}: object is locked by ${why || 'Object Lock'}`, {
      hint: 'it stays until the lock ends; prune removes it then',
    });
    this.lockedUntil = lock.until;
    this.legalHold = Boolean(lock.legalHold);
  }
}

export function isObjectLocked(err: unknown): err is ObjectLockedError {
  return err instanceof ObjectLockedError;
}

/** "until 2026-11-23T05:38:30Z", "under legal hold", for prune's report. */
export function describeLock(err: ObjectLockedError): string {
  const parts: string[] = [];
  if (err.lockedUntil) parts.push(`until ${err.lockedUntil.toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
  if (err.legalHold) parts.push('under legal hold');
  return parts.join(', ') || 'by Object Lock';
}
