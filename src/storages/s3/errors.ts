/**
 * Turns what the S3 SDK throws into LifeboatErrors: one line that says what is wrong (bucket,
 * permission, credentials, clock, network) and a hint, with the exit-code class the CLI maps.
 * Messages are built here from error names, never copied from server bodies that may echo request
 * details; no credential ever appears in them.
 */
import { LifeboatError, oneLine } from '../../util/errors.js';

export interface S3ErrorContext {
  bucket: string;
  /** s3://bucket/prefix */
  location: string;
  /** The endpoint URL without credentials, or undefined for AWS. */
  endpoint?: string;
  stallTimeoutSeconds: number;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function s3ErrorStatus(err: unknown): number | undefined {
  return (err as SdkErrorShape)?.$metadata?.httpStatusCode;
}

export function s3ErrorName(err: unknown): string | undefined {
  return (err as SdkErrorShape)?.name;
}

/** How many attempts the SDK made before giving up (1 when it did not retry). */
export function s3ErrorAttempts(err: unknown): number {
  return (err as SdkErrorShape)?.$metadata?.attempts ?? 1;
}

/** True for failures another attempt may cure: network, stalls, throttling, 5xx. */
export function isTransientS3Error(err: unknown): boolean {
  const e = err as SdkErrorShape;
  if (e?.name === 'AbortError') return false;
  if (NETWORK_CODES.has(e?.code ?? '') || e?.name === 'TimeoutError') return true;
  if (/^(SlowDown|Throttling|RequestTimeout|InternalError|ServiceUnavailable)/.test(e?.name ?? ''))
    return true;
  return [429, 500, 502, 503, 504].includes(s3ErrorStatus(err) ?? 0);
}

function attempts(err: unknown): string {
  const n = s3ErrorAttempts(err);
  return n > 1 ? ` after ${n} attempts` : '';
}

export function s3Error(err: unknown, what: string, ctx: S3ErrorContext): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? '';
  const status = s3ErrorStatus(err);
  const server = ctx.endpoint ?? 'AWS S3';
  const make = (
    code: ConstructorParameters<typeof LifeboatError>[0],
    detail: string,
    opts: { hint?: string; retryable?: boolean } = {},
  ) => new LifeboatError(code, `${what}: ${detail}`, { cause: err, ...opts });

  if (name === 'AbortError') return make('aborted', 'cancelled');
  if (NETWORK_CODES.has(e.code ?? '')) {
    return make('unreachable', `cannot reach ${server} (${e.code})${attempts(err)}`, {
      hint: 'check the endpoint and that the S3 server is up and reachable from here',
      retryable: true,
    });
  }
  if (name === 'TimeoutError') {
    return make(
      'unreachable',
      `${server} stopped answering (no bytes moved for ${ctx.stallTimeoutSeconds} s)${attempts(err)}`,
      { hint: 'check the network to the S3 server, or raise stallTimeoutSeconds', retryable: true },
    );
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message ?? '')) {
    return make('unreachable', 'no S3 credentials found', {
      hint: 'set accessKeyId and secretAccessKey in the storage, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    });
  }
  switch (name) {
    case 'NoSuchBucket':
      return make('unreachable', `bucket ${ctx.bucket} does not exist at ${server}`, {
        hint: 'create the bucket, or correct the bucket name',
      });
    case 'InvalidAccessKeyId':
      return make('unreachable', `${server} does not know this access key`, {
        hint: 'check accessKeyId (or AWS_ACCESS_KEY_ID)',
      });
    case 'SignatureDoesNotMatch':
      return make('unreachable', `${server} refused the request signature`, {
        hint: 'check secretAccessKey (or AWS_SECRET_ACCESS_KEY)',
      });
    case 'RequestTimeTooSkewed':
    case 'RequestExpired':
    case 'RequestInTheFuture':
      return make('unreachable', `this machine's clock is too far from ${server}'s`, {
        hint: 'synchronise the clock (NTP); S3 refuses requests more than 15 minutes off',
      });
    case 'AccessDenied':
    case 'AllAccessDisabled':
    case 'AccountProblem':
      return make('unreachable', `access denied to bucket ${ctx.bucket}`, {
        hint: 'grant these credentials s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket and prefix',
      });
    case 'NoSuchKey':
    case 'NotFound':
      return make('not-found', `no such object in ${ctx.location}`);
    case 'PreconditionFailed':
      return make('exists', `an object already exists at this key in ${ctx.location}`, {
        hint: 'Lifeboat never overwrites; something else wrote this key meanwhile (another job with the same layout and no {job}?)',
      });
  }
  if (status === 403) {
    // HEAD answers carry no body, so the server's reason is lost: name every usual suspect.
    return make('unreachable', `access denied to bucket ${ctx.bucket}`, {
      hint: "check the access key, secret key, the credentials' permissions on the bucket (s3:ListBucket too) and this machine's clock",
    });
  }
  if (status === 404) return make('not-found', `no such object in ${ctx.location}`);
  if (isTransientS3Error(err)) {
    return make('failed', `${server} answered ${status ?? ''} ${name}${attempts(err)}`.replace(/ +/g, ' '), {
      hint: 'the S3 server is failing or throttling; try again later',
      retryable: true,
    });
  }
  const detail = oneLine(err);
  return make(
    'failed',
    `${name && !detail.startsWith(name) ? `${name}: ` : ''}${detail}${status ? ` (HTTP ${status})` : ''}`,
  );
}
