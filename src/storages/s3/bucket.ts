/**
 * What the S3 storage's modules share about one storage: the client, the bucket, how a storage key
 * becomes an S3 key (the prefix), and how SDK errors become messages naming this storage.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { LifeboatError } from '../../util/errors.js';

export interface S3Bucket {
  client: S3Client;
  bucket: string;
  /** The key prefix ("" or "a/b/"). */
  root: string;
  /** s3://bucket/prefix, for messages. */
  location: string;
  /** The S3 key of a storage key (validated, prefix added). */
  key(key: string): string;
  /** Maps an SDK error to a LifeboatError whose message starts with `what`. */
  fail(err: unknown, what: string): LifeboatError;
}
