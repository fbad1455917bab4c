/**
 * Test helper: an S3 endpoint for the tests, and per-test buckets on it.
 *
 * With LIFEBOAT_S3_ENDPOINT (+ LIFEBOAT_S3_ACCESS_KEY, LIFEBOAT_S3_SECRET_KEY, optional
 * LIFEBOAT_S3_REGION) the tests use that server: MinIO, AWS, or the Ceph radosgw that
 * scripts/run-tests.ts starts once for a whole `npm test`. Without it, the first test in a process
 * that asks starts its own radosgw (scripts/ceph-rgw/start.sh) and stops it when the process's tests
 * are done. A server that cannot start fails the test: S3 tests are never skipped.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  AbortMultipartUploadCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { HasAfterHook } from './cluster.js';
import { ROOT } from './lifeboat.js';

const execFileAsync = promisify(execFile);

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** `n` distinct free ports: all listeners stay open until every port is known, so none repeats. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const srv = net.createServer();
          srv.on('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => (srv.address() as net.AddressInfo).port);
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  return ports;
}

/** Starts a radosgw on free ports (memstore: data in RAM, gone when it stops). */
export async function startCephRgw(): Promise<{ server: S3Server; stop: () => Promise<void> }> {
  // A second try, on new ports, rides out a port taken in between or a slow mon on a busy machine.
  try {
    return await startCephRgwOnce();
  } catch {
    return startCephRgwOnce();
  }
}

async function startCephRgwOnce(): Promise<{ server: S3Server; stop: () => Promise<void> }> {
  const scripts = path.join(ROOT, 'scripts/ceph-rgw');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-ceph-'));
  const [rgwPort, monPort] = await freePorts(2);
  const env = {
    ...process.env,
    CEPH_DIR: path.join(dir, 'ceph'),
    OSD_STORE: 'memstore',
    RGW_PORT: String(rgwPort),
    MON_PORT: String(monPort),
  };
  const stop = async () => {
    await execFileAsync('bash', [path.join(scripts, 'stop.sh')], { env }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await execFileAsync('bash', [path.join(scripts, 'start.sh')], { env, timeout: 120_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    await stop();
    throw new Error(
      `could not start the test S3 server (Ceph radosgw): ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n` +
        'is it installed (bash scripts/setup.sh --test)? Or point LIFEBOAT_S3_ENDPOINT at an S3 server',
    );
  }
  return {
    server: {
      endpoint: `http://127.0.0.1:${rgwPort}`,
      region: 'us-east-1',
      accessKeyId: 'testkey',
      secretAccessKey: 'testsecret',
    },
    stop,
  };
}

/** The server described by LIFEBOAT_S3_* variables, if they are set. */
export function serverFromEnv(env: NodeJS.ProcessEnv = process.env): S3Server | undefined {
  if (!env.LIFEBOAT_S3_ENDPOINT) return undefined;
  return {
    endpoint: env.LIFEBOAT_S3_ENDPOINT,
    region: env.LIFEBOAT_S3_REGION || 'us-east-1',
    accessKeyId: env.LIFEBOAT_S3_ACCESS_KEY ?? '',
    secretAccessKey: env.LIFEBOAT_S3_SECRET_KEY ?? '',
  };
}

/** LIFEBOAT_S3_* variables that make serverFromEnv() find `server`. */
export function serverEnv(server: S3Server): Record<string, string> {
  return {
    LIFEBOAT_S3_ENDPOINT: server.endpoint,
    LIFEBOAT_S3_REGION: server.region,
    LIFEBOAT_S3_ACCESS_KEY: server.accessKeyId,
    LIFEBOAT_S3_SECRET_KEY: server.secretAccessKey,
  };
}

// One server per test process (the runner's, or one started here): starting one takes seconds.
let ownServer: Promise<S3Server> | undefined;

export async function s3Server(): Promise<S3Server> {
  const fromEnv = serverFromEnv();
  if (fromEnv) return fromEnv;
  if (!ownServer) {
    const started = startCephRgw();
    ownServer = started.then((s) => s.server);
    // Stop it when this process's tests are done (or killed).
    const stop = () => started.then((s) => s.stop()).catch(() => {});
    process.once('beforeExit', () => void stop());
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void stop().finally(() => process.exit(128 + os.constants.signals[signal])));
    }
  }
  return ownServer;
}

export function s3Client(server: S3Server): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Environment for the CLI with an s3:// URL: the standard AWS variables. */
export function awsEnv(server: S3Server): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: server.endpoint,
    AWS_REGION: server.region,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
  };
}

export interface TestBucket {
  name: string;
  client: S3Client;
  server: S3Server;
  /** Keys of incomplete multipart uploads in the bucket. */
  incompleteUploads(prefix?: string): Promise<string[]>;
}

/**
 * A new bucket with a random name, emptied and removed after the test. With `objectLock`, the bucket
 * has Object Lock and that default retention; COMPLIANCE-locked objects cannot be removed early, so
 * such a bucket is left behind (a memstore server forgets it when it stops).
 */
export async function testBucket(
  t: HasAfterHook,
  opts: { objectLock?: { mode: 'COMPLIANCE' | 'GOVERNANCE'; days: number } } = {},
): Promise<TestBucket> {
  const server = await s3Server();
  const client = s3Client(server);
  const name = `lifeboat-test-${randomBytes(6).toString('hex')}`;
  await client.send(
    new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: Boolean(opts.objectLock) }),
  );
  if (opts.objectLock) {
    await client.send(
      new PutObjectLockConfigurationCommand({
        Bucket: name,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: opts.objectLock.mode, Days: opts.objectLock.days } },
        },
      }),
    );
  }
  const incompleteUploads = async (prefix = '') => {
    const out = await client.send(new ListMultipartUploadsCommand({ Bucket: name, Prefix: prefix }));
    return (out.Uploads ?? []).map((u) => u.Key!);
  };
  t.after(async () => {
    if (opts.objectLock?.mode === 'COMPLIANCE') return client.destroy();
    await emptyBucket(client, name);
    await client.send(new DeleteBucketCommand({ Bucket: name })).catch(() => {});
    client.destroy();
  });
  return { name, client, server, incompleteUploads };
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  // Bounded: an object that refuses deletion (a lock) must not keep a test's cleanup spinning.
  for (let round = 0; round < 20; round++) {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of uploads.Uploads ?? [])
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }),
      );
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key!,
      VersionId: v.VersionId,
    }));
    if (objects.length === 0 && !uploads.IsTruncated) return;
    if (objects.length)
      await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: objects, Quiet: true },
          BypassGovernanceRetention: true,
        }),
      );
  }
}
