/**
 * Throwaway local PostgreSQL clusters: initdb into a fresh temp dir (or a copy of a template, in
 * test runs: local-cluster-template.ts), start on a free port, hand out a connection URL and a
 * psql runner, and on stop() kill the server and delete everything. Used by
 * the test suite, by `lifeboat demo` and by restore drills (scratch clusters), so it owns the whole
 * life cycle of those clusters, including running them as the `postgres` OS user when we are root
 * (the server refuses to run as root).
 */
import { mkdir, mkdtemp, chown, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../../util/errors.js';
import { reapOnce } from './local-cluster-orphans.js';
import { run, SUPERUSER, type ClusterContext } from './local-cluster-process.js';
import {
  assertReachableBy,
  findServerTools,
  initdb,
  serviceAccount,
  startServer,
} from './local-cluster-setup.js';
import { stopServer } from './local-cluster-stop.js';
import { initdbFromTemplate, TEMPLATES_ENV } from './local-cluster-template.js';

export { reapOrphanedClusters } from './local-cluster-orphans.js';
export { freePort } from './local-cluster-setup.js';

export interface LocalCluster {
  /** '127.0.0.1', or the socket directory when listening on a Unix socket only. */
  readonly host: string;
  readonly port: number;
  /** The bootstrap superuser, 'postgres'. */
  readonly user: string;
  readonly major: number;
  /** e.g. "15.18" */
  readonly version: string;
  /** The directory initdb, pg_ctl, postgres and psql came from. */
  readonly binDir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  /** postgres://postgres@127.0.0.1:PORT/DB, or postgres://postgres@/DB?host=SOCKDIR&port=PORT. */
  url(database?: string): string;
  /** Runs `psql -X -v ON_ERROR_STOP=1 -qAt` with `sql` on stdin; resolves to stdout, rejects with stderr. */
  psql(sql: string, opts?: { database?: string }): Promise<string>;
  /** Stops the server (immediate mode) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Smallest acceptable server major; without it, the newest installed. */
  minMajor?: number;
  /** Look for the server programs here first. */
  binDir?: string;
  /** 'tcp' (default) listens on 127.0.0.1; 'socket' only on a Unix socket in socketDir. */
  listen?: 'tcp' | 'socket';
  /**
   * Shows up in the temp dir name, to tell clusters apart when debugging. The dir is named
   * lifeboat-pg-{name}-{pid}-XXXXXX, {pid} being this process: the owner, for reapOrphanedClusters().
   */
  name?: string;
}

/**
 * Clusters started by this process and not yet stopped, so stopAllLocalClusters() can clean up
 * on exit or SIGTERM. This is deliberately module state: the clusters are OS resources owned by
 * the process (server processes, temp dirs), so one process-wide registry is the honest model.
 */
const running = new Set<LocalCluster>();
/** Start-ups in flight, so stopAllLocalClusters() also catches a cluster that is mid-start. */
const starting = new Set<Promise<unknown>>();

/** Best-effort: stops every cluster started by this process that is still running. Never throws. */
export async function stopAllLocalClusters(): Promise<void> {
  await Promise.allSettled(starting);
  await Promise.allSettled([...running].map((c) => c.stop()));
}

export async function startLocalCluster(opts: StartOptions = {}): Promise<LocalCluster> {
  const startup = start(opts);
  starting.add(startup);
  try {
    return await startup;
  } finally {
    starting.delete(startup);
  }
}

async function start(opts: StartOptions): Promise<LocalCluster> {
  await reapOnce();
  const tools = await findServerTools(opts);
  const runAs = await serviceAccount();

  const base = await mkdtemp(path.join(os.tmpdir(), `lifeboat-pg-${safeName(opts.name)}${process.pid}-`));
  const dataDir = path.join(base, 'data');
  const socketDir = path.join(base, 'sock');
  const logFile = path.join(base, 'server.log');
  const ctx: ClusterContext = {
    ...tools,
    runAs,
    base,
    dataDir,
    socketDir,
    logFile,
    listen: opts.listen ?? 'tcp',
  };

  try {
    await mkdir(socketDir);
    if (runAs) {
      await assertReachableBy(base, runAs);
      // initdb creates dataDir itself (as the service account), so only our own dirs need chown.
      await chown(base, runAs.uid, runAs.gid);
      await chown(socketDir, runAs.uid, runAs.gid);
    }
    const templates = process.env[TEMPLATES_ENV];
    if (templates) await initdbFromTemplate(ctx, templates);
    else await initdb(ctx);
    const port = await startServer(ctx);
    const cluster = new Cluster(ctx, port);
    running.add(cluster);
    return cluster;
  } catch (err) {
    await stopServer(ctx).catch(() => undefined);
    await rm(base, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

function safeName(name?: string): string {
  const clean = (name ?? '').replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 32);
  return clean ? `${clean}-` : '';
}

// ---------------------------------------------------------------------------------------------
// The cluster handle

class Cluster implements LocalCluster {
  readonly host: string;
  readonly user = SUPERUSER;
  readonly major: number;
  readonly version: string;
  readonly binDir: string;
  readonly dataDir: string;
  readonly socketDir: string;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly ctx: ClusterContext,
    readonly port: number,
  ) {
    this.host = ctx.listen === 'tcp' ? '127.0.0.1' : ctx.socketDir;
    this.major = ctx.major;
    this.version = ctx.version;
    this.binDir = ctx.binDir;
    this.dataDir = ctx.dataDir;
    this.socketDir = ctx.socketDir;
  }

  url(database = 'postgres'): string {
    const db = encodeURIComponent(database);
    if (this.ctx.listen === 'tcp') return `postgres://${this.user}@${this.host}:${this.port}/${db}`;
    return `postgres://${this.user}@/${db}?host=${encodeURIComponent(this.socketDir)}&port=${this.port}`;
  }

  async psql(sql: string, opts: { database?: string } = {}): Promise<string> {
    const database = opts.database ?? 'postgres';
    // A conninfo string rather than a bare name, so any database name (quotes, '=', spaces) is taken literally.
    const conninfo = [
      `host=${quoteConninfo(this.host)}`,
      `port=${this.port}`,
      `user=${quoteConninfo(this.user)}`,
      `dbname=${quoteConninfo(database)}`,
    ].join(' ');
    // psql runs as the current user: it only needs the socket or TCP port, not the data dir.
    const result = await run(
      undefined,
      this.ctx.psqlPath,
      ['-X', '-v', 'ON_ERROR_STOP=1', '-qAt', '-d', conninfo],
      { input: sql },
    );
    if (result.code !== 0) {
      throw new LifeboatError(
        'failed',
        `psql ${database}: ${result.stderr.trim() || `exit code ${result.code}`}`,
      );
    }
    return result.stdout;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await stopServer(this.ctx);
      await rm(this.ctx.base, { recursive: true, force: true });
      running.delete(this);
    })().catch((err) => {
      this.stopping = undefined; // let a later stop() try again
      throw err;
    });
    return this.stopping;
  }
}

function quoteConninfo(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
