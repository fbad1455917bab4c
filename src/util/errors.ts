/**
 * Lifeboat's error type. Every failure the user can see is a LifeboatError whose `code` maps to one
 * documented exit code (SPEC §1) and whose message reads "verb object: detail" on one line.
 */

export type ErrorCode =
  | 'usage' // bad command line or bad input (ids, URLs)
  | 'config' // configuration file invalid
  | 'unreachable' // a source or storage could not be reached
  | 'integrity' // checksum mismatch, missing or corrupt object
  | 'not-found' // the named backup, job or object does not exist
  | 'exists' // refusing to overwrite an existing object
  | 'aborted' // cancelled by a signal or deadline
  | 'failed'; // the operation itself failed (dump error, restore error, disk full …)

const EXIT_CODES: Record<ErrorCode, number> = {
  usage: 2,
  config: 2,
  'not-found': 2,
  unreachable: 3,
  integrity: 4,
  exists: 1,
  aborted: 1,
  failed: 1,
};

export class LifeboatError extends Error {
  readonly code: ErrorCode;
  /** Whether running the same operation again may succeed (network blips, throttling). */
  readonly retryable: boolean;
  /** One short sentence telling the operator what to try next. */
  readonly hint?: string;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; hint?: string; retryable?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.hint = opts.hint;
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof LifeboatError) return EXIT_CODES[err.code];
  return 1;
}

export function isLifeboatError(err: unknown, code?: ErrorCode): err is LifeboatError {
  return err instanceof LifeboatError && (code === undefined || err.code === code);
}

/** The message of any thrown value, flattened to one line. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Turns Node's system errors into LifeboatErrors with a code the CLI can map; leaves others alone. */
export function fromSystemError(err: unknown, what: string): unknown {
  if (err instanceof LifeboatError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOSPC':
      return new LifeboatError('failed', `${what}: no space left on device`, {
        cause: err,
        hint: 'free space or point the storage at a larger volume',
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new LifeboatError('unreachable', `${what}: permission denied`, {
        cause: err,
        hint: 'check that the directory exists and is writable by this user',
      });
    case 'ENOENT':
      return new LifeboatError('not-found', `${what}: no such file or directory`, { cause: err });
    default:
      if (code && code in NETWORK_ERRORS) {
        return new LifeboatError('unreachable', `${what}: ${NETWORK_ERRORS[code]} (${code})`, {
          cause: err,
          retryable: true,
        });
      }
      return err;
  }
}

/** Network failures a retry may cure, in words (the code stays in the message for searching). */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed for now',
};
