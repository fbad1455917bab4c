/**
 * The `lifeboat` command line (started by ./main.ts): parses arguments, builds a Context and hands off to one command
 * module. Owns the process: exit codes (SPEC §1), signals, the one-line error at the end, and
 * unhandled promise rejections (logged and counted as bugs, never a crash: ./unhandled.ts).
 */
import { setMaxListeners } from 'node:events';
import { Command, CommanderError, Option } from 'commander';
import { exitCodeFor, LifeboatError } from '../util/errors.js';
import { LIFEBOAT_VERSION } from '../util/version.js';
import { stopAllLocalClusters } from '../sources/postgres/local-cluster.js';
import { Context, type GlobalOptions } from './context.js';
import { describeError } from './errors.js';
import { installUnhandledRejectionHandler, unhandledRejections } from './unhandled.js';

const controller = new AbortController();
// Every child process and stream of a command listens to this one signal.
setMaxListeners(100, controller.signal);
let context: Context | undefined;

function finish(code: number): never {
  process.exit(code);
}

installUnhandledRejectionHandler((line) => {
  if (context) context.output.log('error', line);
  else process.stderr.write(`lifeboat: ${line}\n`);
});

/** Wraps a command: builds the context, runs it, maps any error to one line and an exit code. */
function action<A extends unknown[]>(
  run: (ctx: Context, ...args: A) => Promise<number>,
  opts: { service?: boolean } = {},
) {
  return async (...args: A) => {
    const cmd = args.at(-1) as Command;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    let code: number;
    try {
      context = new Context(globals);
      code = await run(context, ...args);
    } catch (err) {
      const text = `lifeboat: ${describeError(err)}`;
      if (context) context.output.log('error', text.replace(/^lifeboat: /, ''));
      else process.stderr.write(text + '\n');
      if (!(err instanceof LifeboatError) && process.env.LIFEBOAT_DEBUG) console.error(err);
      code = exitCodeFor(err);
    }
    await stopAllLocalClusters();
    // A command whose exit code reports one operation does not report success over a bug; a
    // service counts them in its metrics instead, and its exit code says how it stopped.
    if (code === 0 && !opts.service && unhandledRejections() > 0) code = 1;
    finish(code);
  };
}

const program = new Command('lifeboat')
  .description('Back up PostgreSQL and prove that the backups restore.')
  .version(LIFEBOAT_VERSION)
  .addOption(
    new Option('--config <file>', 'configuration file (default: $LIFEBOAT_CONFIG or ./lifeboat.yaml)'),
  )
  .option('--json', 'machine-readable output on stdout')
  .addOption(
    new Option('--log-format <format>', 'log format on stderr').choices(['text', 'json']).default('text'),
  )
  .showHelpAfterError('(run lifeboat --help for usage)')
  .exitOverride();

program
  .command('backup')
  .description('run the named jobs now (all when none), or a one-off backup with --source/--to')
  .argument('[job...]', 'jobs from the config')
  .option('--source <url>', 'one-off: postgres:// URL to back up (no config needed)')
  .option('--to <dest>', 'one-off: a directory (or a storage name)')
  .option('--job <name>', 'one-off: job name recorded in the catalog', 'postgres')
  .option(
    '--databases <names>',
    'one-off: "all" or comma-separated names (default: the URL\'s database, or all)',
  )
  .option('--dumpall', 'one-off: one pg_dumpall stream instead of globals + one dump per database')
  .addOption(new Option('--format <format>', 'one-off: dump format').choices(['plain', 'custom']))
  .addOption(new Option('--compression <type>', 'one-off: compression').choices(['zstd', 'gzip', 'none']))
  .action(
    action(async (ctx, jobs: string[], opts) =>
      (await import('./commands/backup.js')).backupCommand(ctx, jobs, opts, controller.signal),
    ),
  );

program
  .command('list')
  .description('list committed backups, read from the storage itself')
  .argument('[job]', 'only this job')
  .option('--from <storage>', 'a storage name, a directory or s3://bucket/prefix')
  .action(
    action(async (ctx, job: string | undefined, opts) =>
      (await import('./commands/list.js')).listCommand(ctx, job, opts, controller.signal),
    ),
  );

program
  .command('verify')
  .description('re-read stored bytes and check size and sha256 against the manifest')
  .argument('[id]', 'backup id or latest (default: latest)')
  .option('--all', 'verify every backup')
  .option('--job <job>', 'the job the backup belongs to')
  .option('--from <storage>', 'a storage name, a directory or s3://bucket/prefix')
  .option(
    '--deep',
    'also decode every artifact and check its content: a files archive against its index, an SQLite database by integrity_check and row counts',
  )
  .action(
    action(async (ctx, id: string | undefined, opts) =>
      (await import('./commands/verify.js')).verifyCommand(ctx, id, opts, controller.signal),
    ),
  );

program
  .command('restore')
  .description(
    'verify checksums, then restore a backup (a PostgreSQL server, an SQLite file, a directory, a cluster)',
  )
  .argument('<id>', 'backup id or latest')
  .option('--job <job>', 'the job the backup belongs to')
  .option('--source <name>', 'the source to restore, in a backup of several sources')
  .option(
    '--to <target>',
    'postgres://user@host:5432/dbname; a path (sqlite), a directory (files, bucket), s3://bucket/prefix or a storage name (bucket)',
  )
  .option('--from <storage>', 'a storage name, a directory or s3://bucket/prefix')
  .option('--clean', 'drop and recreate target databases that are not empty')
  .option('--create', 'create target databases that do not exist')
  .option(
    '--force',
    'restore over non-empty databases as they are; replace a file, fill a non-empty directory, overwrite keys',
  )
  .option('--path <glob...>', 'files or bucket source: restore only the members (keys) matching these globs')
  .option('--create-roles', "create the roles a single-database backup's objects need (NOLOGIN)")
  .option('--jobs <n>', 'parallel pg_restore jobs (custom format)')
  .option('--to-cluster', 'kubernetes source: apply into a cluster by server-side apply')
  .option('--context <name>', 'kubernetes source: the kubeconfig context to restore into')
  .option('--namespace-map <from=to...>', 'kubernetes source: restore namespace FROM into TO')
  .option('--dry-run', 'kubernetes source: server-side dry run; nothing is stored')
  .option(
    '--no-hooks',
    "skip the job's beforeRestore/afterRestore hooks (e.g. a restore elsewhere than the live application)",
  )
  .action(
    action(async (ctx, id: string, opts) =>
      (await import('./commands/restore.js')).restoreCommand(ctx, id, opts, controller.signal),
    ),
  );

program
  .command('prune')
  .description('apply retention; print what is kept and removed, and why')
  .argument('[job]', 'only this job')
  .option('--dry-run', 'only print what would be removed')
  .action(
    action(async (ctx, job: string | undefined, opts) =>
      (await import('./commands/prune.js')).pruneCommand(ctx, job, opts, controller.signal),
    ),
  );

program
  .command('drill')
  .description('restore a backup into a throwaway scratch server and check it (restore drill)')
  .argument('[job]', 'the job to drill (default: the only one)')
  .option('--backup <id>', 'drill this backup instead of the latest')
  .option('--all', 'drill the latest backup of every job that has one')
  .option('--from <storage>', 'a storage name, a directory or s3://bucket/prefix')
  .action(
    action(async (ctx, job: string | undefined, opts) =>
      (await import('./commands/drill.js')).drillCommand(ctx, job, opts, controller.signal),
    ),
  );

program
  .command('status')
  .description('one line per job: last backup age and size, last drill, next run')
  .action(
    action(async (ctx) => (await import('./commands/status.js')).statusCommand(ctx, controller.signal)),
  );

program
  .command('check')
  .description('validate config, reach every source and storage, probe write/read/delete')
  .action(action(async (ctx) => (await import('./commands/check.js')).checkCommand(ctx, controller.signal)));

program
  .command('keygen')
  .description(
    'make a key pair for signing manifests (signing.key): the secret key 0600, the public key to check them',
  )
  .option('--out <dir>', 'where to write lifeboat-signing.key and lifeboat-signing.pub', '.')
  .option('--force', 'replace an existing key pair')
  .action(action(async (ctx, opts) => (await import('./commands/keygen.js')).keygenCommand(ctx, opts)));

program
  .command('serve')
  .description('scheduler + HTTP API + dashboard in one long-running process')
  .option('--port <port>', 'HTTP port (default: server.port or 8080)')
  .option('--host <address>', 'address to listen on (0.0.0.0 in a container)', '127.0.0.1')
  .option(
    '--insecure-no-token',
    'listen beyond loopback without server.token: anyone who can reach the port reads job status',
  )
  .option(
    '--history <file>',
    'run history SQLite file (default: server.historyFile or lifeboat-history.db beside the config)',
  )
  .action(
    action(
      async (ctx, opts) => (await import('./commands/serve.js')).serveCommand(ctx, opts, controller.signal),
      { service: true },
    ),
  );

const k8s = program.command('k8s').description('Kubernetes: render manifests for the config');
k8s
  .command('render')
  .description('print manifests (ConfigMap, CronJobs or a Deployment, RBAC) for the config on stdout')
  .addOption(
    new Option('--mode <mode>', 'one CronJob per schedule, or one serve Deployment')
      .choices(['cronjob', 'service'])
      .default('cronjob'),
  )
  .option('--namespace <ns>', 'namespace of every object', 'default')
  .option('--image <image>', 'container image (default: the release image of this version)')
  .option('--service-monitor', 'with --mode service: a Prometheus Operator ServiceMonitor too')
  .option('--secret-template', 'print only the Secret the ${VAR}s come from, with empty values')
  .action(action(async (ctx, opts) => (await import('./commands/k8s.js')).k8sRenderCommand(ctx, opts)));

program
  .command('demo')
  .description(
    'throwaway PostgreSQL with sample data → backup → verify → restore → compare → drill (→ dashboard with --serve)',
  )
  .option('--dir <dir>', 'where the demo keeps its backups and its config', 'lifeboat-demo')
  .option('--serve [port]', 'then serve the dashboard and API on 127.0.0.1 (default port 8080) until Ctrl-C')
  .action(
    action(async (ctx, opts) =>
      (await import('./commands/demo.js')).demoCommand(ctx, opts, controller.signal),
    ),
  );

let interrupted = 0;
// SIGHUP too: a closed terminal must not leave a demo's or a drill's throwaway server running.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    interrupted++;
    // A second signal means "now": skip the graceful stop, but still take the throwaway servers
    // down (pg_ctl detaches them, so nothing else would); a third exits outright.
    if (interrupted === 2) void stopAllLocalClusters().finally(() => process.exit(130));
    if (interrupted > 2) process.exit(130);
    if (interrupted > 1) return;
    // Through the command's output when there is one, so a --log-format json log stays all JSON.
    const line = `${sig}: stopping; nothing half-done is committed`;
    if (context) context.output.warn(line);
    else process.stderr.write(`lifeboat: ${line}\n`);
    controller.abort(new LifeboatError('aborted', `stopped by ${sig}`));
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; every usage problem exits 2 (commander already printed the message).
    finish(err.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`lifeboat: ${describeError(err)}\n`);
  finish(exitCodeFor(err) || 1);
}
