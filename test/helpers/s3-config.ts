/**
 * Test helper: lifeboat.yaml text for jobs that back up to an S3 test bucket. Credentials go in
 * through ${S3_KEY}/${S3_SECRET} (see s3ConfigEnv), as an operator's config would take them.
 */
import type { S3Server } from './s3-server.js';

export interface S3StorageYaml {
  bucket: string;
  endpoint: string;
  prefix?: string;
  /** A literal secret instead of ${S3_SECRET} (to test a wrong one). */
  secretAccessKey?: string;
  extra?: Record<string, string | number | boolean>;
}

export function s3StorageYaml(name: string, s: S3StorageYaml): string {
  const lines = [
    `  ${name}:`,
    `    type: s3`,
    `    bucket: ${s.bucket}`,
    `    prefix: ${JSON.stringify(s.prefix ?? '')}`,
    `    endpoint: ${s.endpoint}`,
    `    region: us-east-1`,
    `    forcePathStyle: true`,
    `    accessKeyId: \${S3_KEY}`,
    `    secretAccessKey: ${s.secretAccessKey ?? '${S3_SECRET}'}`,
    ...Object.entries(s.extra ?? {}).map(([k, v]) => `    ${k}: ${v}`),
  ];
  return lines.join('\n') + '\n';
}

export function s3ConfigEnv(server: S3Server): Record<string, string> {
  return { S3_KEY: server.accessKeyId, S3_SECRET: server.secretAccessKey };
}
