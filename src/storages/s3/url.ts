/**
 * `s3://bucket/prefix` URLs as given to --to and --from: splitting them into a bucket and a key
 * prefix, and turning a prefix into the form every S3 key of a storage starts with.
 */
import { LifeboatError } from '../../util/errors.js';

// S3's own rule for bucket names (3–63 lower-case letters, digits, dots and hyphens), loosened to
// allow the upper case and underscores that older buckets and S3-compatible servers accept.
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/;

export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (!m || !BUCKET.test(m[1]!)) {
    throw new LifeboatError('usage', `open ${url}: expected s3://bucket or s3://bucket/prefix`);
  }
  return { bucket: m[1]!, prefix: normalizePrefix(m[2] ?? '') };
}

/** "" stays ""; "a/b" and "/a/b/" become "a/b/", so storage keys join to it with no separator. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}

/** The printable location of a storage: s3://bucket/prefix (never an endpoint's credentials). */
export function s3Location(bucket: string, prefix: string): string {
  return `s3://${bucket}${prefix ? `/${prefix.replace(/\/$/, '')}` : ''}`;
}

/**
 * Storage options for an s3:// URL given on the command line, from the standard AWS variables:
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (a non-AWS server, addressed path-style), AWS_REGION or
 * AWS_DEFAULT_REGION (default us-east-1). Credentials are left to the SDK's default chain, which
 * reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile, or an instance role).
 */
export function s3OptionsFromUrl(url: string, env: NodeJS.ProcessEnv) {
  const { bucket, prefix } = parseS3Url(url);
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return {
    name: s3Location(bucket, prefix),
    bucket,
    prefix,
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: endpoint !== undefined,
  };
}

/** An endpoint URL fit to print: any user:password@ removed. */
export function printableEndpoint(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid endpoint)';
  }
}
