/**
 * An S3 storage whose implementation — and with it the AWS SDK — is loaded on first use. The SDK
 * costs about 0.15 s and 25 MB at start-up, which every command paid even when it only touched a
 * local directory; now only commands that really talk to S3 load it.
 */
import type { S3StorageOptions } from './storage.js';
import { normalizePrefix, s3Location } from './url.js';
import type { Storage } from '../storage.js';

export function createLazyS3Storage(opts: S3StorageOptions): Storage {
  let loaded: Promise<Storage> | undefined;
  const real = () => (loaded ??= import('./storage.js').then((m) => m.createS3Storage(opts)));
  return {
    name: opts.name,
    location: s3Location(opts.bucket, normalizePrefix(opts.prefix ?? '')),
    capabilities: { atomicCreateOnly: opts.conditionalWrites ?? true },
    put: async (key, body, o) => (await real()).put(key, body, o),
    replace: async (key, bytes, o) => (await real()).replace!(key, bytes, o),
    get: async (key, o) => (await real()).get(key, o),
    stat: async (key, o) => (await real()).stat(key, o),
    async *list(prefix, o) {
      yield* (await real()).list(prefix, o);
    },
    delete: async (key, o) => (await real()).delete(key, o),
    deleteMany: async (keys, o) => (await real()).deleteMany!(keys, o),
    cleanupIncomplete: async (olderThan, o) => (await real()).cleanupIncomplete!(olderThan, o),
  };
}
