/**
 * `npm run bench:files`: the files and sqlite sources against the shell pipelines they replace.
 *
 *  fixed:  a 50-file tree, where nothing but the per-run cost shows: seconds and Lifeboat's CPU
 *          (start-up: Node, ~300 modules, the config schema; then tar, zstd and fsyncs).
 *  real:   `lifeboat backup` of a real tree against `tar -cf - DIRS | zstd -3 -T2 > f && sha256sum f`
 *          (target ≤ 1.10×, Lifeboat RSS ≤ 150 MB): BENCH_REAL_PATHS, comma-separated, by default
 *          this checkout's node_modules and /usr/lib/x86_64-linux-gnu (~1.3 GB in ~30,000 files:
 *          source text, JSON, executables and shared libraries, which zstd -3 takes to ~28 %).
 *  files:  the same (same target) against a synthetic tree, BENCH_FILES small files + one
 *          BENCH_BIG_MB file that repeats one 1 MiB block: zstd finds every repeat and makes it ~6 %
 *          at little CPU, so the work only Lifeboat does (the index's SHA-256 of every byte, ~1.1 s
 *          of CPU per GB, and one more pipe hop) weighs most here: the hardest case for the target.
 *  memory: BENCH_MANY_FILES (100,000) small files and a BENCH_SPARSE_GB (2) GB sparse file, backed
 *          up and restored: Lifeboat's peak RSS must stay where the 50-file run's is (≤ 150 MB).
 *  sqlite: a BENCH_SQLITE_MB (1024) database: `lifeboat backup` (VACUUM INTO, integrity_check, row
 *          counts, zstd) against `sqlite3 db ".backup x" && zstd -3 -T2 x && sha256sum x.zst` (and
 *          the same with `PRAGMA integrity_check` on x, the check Lifeboat makes before storing), and
 *          `lifeboat restore` (which integrity-checks the restored file) against
 *          `zstd -dc x.zst > y && sqlite3 y "PRAGMA integrity_check"`; then Lifeboat's backup again
 *          while a writer commits every 50 ms (the sqlite3 CLI's .backup restarts on every write,
 *          so that arm has no shell counterpart).
 *
 * BENCH_ROUNDS (default 3): each round runs both arms back to back; wall times are medians. Peak
 * RSS is Lifeboat's own node process (rss-probe.mjs: getrusage, what /proc's VmHWM reports); tar,
 * zstd and the sqlite child are separate processes. Every figure is printed with the machine's
 * load average (/proc/loadavg) when it was taken: on a shared 2-core machine it moves the figures.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSqliteWriter } from '../test/helpers/sqlite-writer.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const PROBE = path.join(ROOT, 'bench/rss-probe.mjs');
const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 1024);
const MANY_FILES = Number(process.env.BENCH_MANY_FILES ?? 100_000);
const SPARSE_GB = Number(process.env.BENCH_SPARSE_GB ?? 2);
const SQLITE_MB = Number(process.env.BENCH_SQLITE_MB ?? 1024);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = (process.env.BENCH_ONLY ?? 'fixed,real,files,memory,sqlite').split(',');
const REAL_PATHS = (
  process.env.BENCH_REAL_PATHS ?? `${path.join(ROOT, 'node_modules')},/usr/lib/x86_64-linux-gnu`
)
  .split(',')
  .filter((p) => p && existsSync(p));
const RSS_LIMIT_MB = 150;

const load = () => `load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`;

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`)),
    );
  });
  return performance.now() - started;
}

const sh = (script: string) => run(['sh', '-c', script]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface LifeboatRun {
  ms: number;
  rssMb: number;
  cpuMs: number;
}

async function lifeboat(args: string[], probe: string): Promise<LifeboatRun> {
  const ms = await run([process.execPath, '--import', PROBE, CLI, ...args], { BENCH_PROBE_FILE: probe });
  const p = JSON.parse(await readFile(probe, 'utf8')) as {
    maxRssKb: number;
    userMs: number;
    systemMs: number;
  };
  return { ms, rssMb: p.maxRssKb / 1024, cpuMs: p.userMs + p.systemMs };
}

/**
 * The ratio is the median of each round's own ratio (the two arms of a round run back to back, so
 * a load that comes and goes moves both); the rounds' ratios are printed beside it.
 */
function ratioLine(name: string, lb: LifeboatRun[], shell: number[], target?: number): void {
  const lbMs = median(lb.map((r) => r.ms));
  const shMs = median(shell);
  const rss = Math.max(...lb.map((r) => r.rssMb));
  const rounds = lb.map((r, i) => r.ms / shell[i]!);
  const ratio = median(rounds);
  const goal = target ? ` (target ≤ ${target}: ${ratio <= target ? 'met' : 'NOT met'})` : '';
  console.log(
    `${name}: lifeboat ${s(lbMs)}, shell ${s(shMs)}, ratio ${ratio.toFixed(3)}${goal} ` +
      `(rounds ${rounds.map((r) => r.toFixed(3)).join(', ')}), ` +
      `lifeboat peak RSS ${rss.toFixed(0)} MB (≤ ${RSS_LIMIT_MB}: ${rss <= RSS_LIMIT_MB ? 'met' : 'NOT met'}); ${load()}`,
  );
}

function rssLine(name: string, r: LifeboatRun): void {
  console.log(
    `${name}: ${s(r.ms)}, lifeboat peak RSS ${r.rssMb.toFixed(0)} MB ` +
      `(≤ ${RSS_LIMIT_MB}: ${r.rssMb <= RSS_LIMIT_MB ? 'met' : 'NOT met'}), CPU ${s(r.cpuMs)}; ${load()}`,
  );
}

/** `count` small text-like files (compressible, not constant), 500 to a directory. */
async function smallFiles(dir: string, count: number): Promise<void> {
  for (let d = 0; d < Math.ceil(count / 500); d++) {
    const sub = path.join(dir, `d${d}`);
    await mkdir(sub, { recursive: true });
    const writes: Array<Promise<void>> = [];
    for (let f = 0; f < Math.min(500, count - d * 500); f++) {
      const lines = Array.from(
        { length: 20 + ((d * 500 + f) % 80) },
        (_, i) => `line ${i} of file ${d}/${f}: ${Math.random()}\n`,
      );
      writes.push(writeFile(path.join(sub, `f${f}.txt`), lines.join('')));
    }
    await Promise.all(writes);
  }
}

/** A `mb` MB file repeating one 1 MiB block of random decimal digits (zstd -3 makes ~6 % of it). */
async function bigFile(file: string, mb: number): Promise<void> {
  const block = Buffer.from(
    Array.from({ length: 1 << 16 }, () => `${Math.random()}`)
      .join('')
      .slice(0, 1 << 20),
  );
  const handle = await open(file, 'w');
  try {
    for (let i = 0; i < mb; i++) await handle.write(block);
  } finally {
    await handle.close();
  }
}

async function config(tmp: string, name: string, source: string, store: string): Promise<string> {
  const file = path.join(tmp, `${name}.yaml`);
  await writeFile(
    file,
    `storages:\n  disk: { type: local, path: ${store} }\njobs:\n  ${name}:\n    source: ${source}\n    storages: [disk]\n`,
  );
  return file;
}

/** Lifeboat and the shell pipeline on the same tree (absolute paths), ROUNDS times. */
async function treeCase(tmp: string, tree: string[], rounds: number) {
  const store = path.join(tmp, 'store');
  const cfg = await config(tmp, 'tree', `{ type: files, paths: [${tree.join(', ')}] }`, store);
  const lb: LifeboatRun[] = [];
  const shell: number[] = [];
  const out = path.join(tmp, 'shell.tar.zst');
  const relative = tree.map((t) => t.slice(1)).join(' ');
  // Both arms read from the page cache, the first round's too.
  await sh(`tar -cf - -C / ${relative} > /dev/null`);
  for (let r = 0; r < rounds; r++) {
    await rm(store, { recursive: true, force: true });
    lb.push(await lifeboat(['--config', cfg, 'backup'], path.join(tmp, 'probe.json')));
    shell.push(
      await sh(`tar -cf - -C / ${relative} | zstd -q -3 -T2 > ${out} && sha256sum ${out} > /dev/null`),
    );
    await rm(out, { force: true });
  }
  return { lb, shell, cfg, store };
}

async function fixedCase(tmp: string): Promise<void> {
  const tree = path.join(tmp, 'tiny');
  await smallFiles(tree, 50);
  const { lb, shell } = await treeCase(tmp, [tree], Math.max(ROUNDS, 5));
  console.log(
    `fixed (50 small files): lifeboat ${s(median(lb.map((r) => r.ms)))} (CPU ${s(median(lb.map((r) => r.cpuMs)))} ` +
      `in its node process), shell ${s(median(shell))}, lifeboat peak RSS ` +
      `${Math.max(...lb.map((r) => r.rssMb)).toFixed(0)} MB; ${load()}`,
  );
  await rm(tree, { recursive: true, force: true });
}

async function filesCase(tmp: string): Promise<void> {
  const tree = path.join(tmp, 'tree');
  await smallFiles(tree, FILES);
  await bigFile(path.join(tree, 'big.bin'), BIG_MB);
  const { lb, shell } = await treeCase(tmp, [tree], ROUNDS);
  ratioLine(
    `files, synthetic (${FILES} small files + ${BIG_MB} MB repeating one 1 MiB block)`,
    lb,
    shell,
    1.1,
  );
  await rm(tree, { recursive: true, force: true });
}

async function realCase(tmp: string): Promise<void> {
  if (REAL_PATHS.length === 0) return console.log('real tree: none of BENCH_REAL_PATHS exists, skipped');
  const { lb, shell } = await treeCase(tmp, REAL_PATHS, ROUNDS);
  ratioLine(`files, a real tree (${REAL_PATHS.join(', ')})`, lb, shell, 1.1);
}

async function memoryCase(tmp: string): Promise<void> {
  const tree = path.join(tmp, 'many');
  await smallFiles(tree, MANY_FILES);
  await writeFile(path.join(tree, 'sparse.img'), '');
  await truncate(path.join(tree, 'sparse.img'), Math.round(SPARSE_GB * 1024 ** 3));
  const store = path.join(tmp, 'store');
  await rm(store, { recursive: true, force: true });
  const cfg = await config(tmp, 'many', `{ type: files, paths: [${tree}] }`, store);
  const what = `${MANY_FILES} files + ${SPARSE_GB} GB sparse`;
  rssLine(`memory backup (${what})`, await lifeboat(['--config', cfg, 'backup'], path.join(tmp, 'p.json')));
  const into = path.join(tmp, 'restored');
  rssLine(
    `memory restore (${what})`,
    await lifeboat(['--config', cfg, 'restore', 'latest', '--to', into], path.join(tmp, 'p.json')),
  );
  await rm(into, { recursive: true, force: true });
  await rm(tree, { recursive: true, force: true });
  await rm(store, { recursive: true, force: true });
}

async function sqliteCase(tmp: string): Promise<void> {
  const db = path.join(tmp, 'state.db');
  const writer = await startSqliteWriter(db, { fillMb: SQLITE_MB, everyMs: 50 });
  await writer.stop();
  const store = path.join(tmp, 'store');
  const cfg = await config(tmp, 'db', `{ type: sqlite, path: ${db} }`, store);
  const copy = path.join(tmp, 'copy.db');
  const back = path.join(tmp, 'back.db');
  const restored = path.join(tmp, 'restored.db');
  const lb: LifeboatRun[] = [];
  const shell: number[] = [];
  const shellChecked: number[] = [];
  const lbRestore: LifeboatRun[] = [];
  const shellRestore: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    await rm(store, { recursive: true, force: true });
    lb.push(await lifeboat(['--config', cfg, 'backup'], path.join(tmp, 'probe.json')));
    await rm(restored, { force: true });
    lbRestore.push(
      await lifeboat(['--config', cfg, 'restore', 'latest', '--to', restored], path.join(tmp, 'probe.json')),
    );
    shell.push(
      await sh(
        `sqlite3 ${db} ".backup ${copy}" && zstd -q -f -3 -T2 ${copy} && sha256sum ${copy}.zst > /dev/null`,
      ),
    );
    // The same with the check Lifeboat makes before it stores anything (issue 13 requires it).
    await rm(`${copy}.zst`, { force: true });
    shellChecked.push(
      await sh(
        `rm -f ${copy} && sqlite3 ${db} ".backup ${copy}" && test "$(sqlite3 ${copy} 'PRAGMA integrity_check')" = ok && ` +
          `zstd -q -f -3 -T2 ${copy} && sha256sum ${copy}.zst > /dev/null`,
      ),
    );
    shellRestore.push(
      await sh(
        `zstd -q -dc ${copy}.zst > ${back} && test "$(sqlite3 ${back} 'PRAGMA integrity_check')" = ok`,
      ),
    );
    for (const f of [copy, `${copy}.zst`, back]) await rm(f, { force: true });
  }
  ratioLine(`sqlite backup (${SQLITE_MB} MB, no writer)`, lb, shell);
  ratioLine(`sqlite backup against the shell with integrity_check (${SQLITE_MB} MB)`, lb, shellChecked);
  ratioLine(`sqlite restore + integrity_check (${SQLITE_MB} MB)`, lbRestore, shellRestore);
  await rm(restored, { force: true });
  const busy = await startSqliteWriter(db, { fillMb: 0, everyMs: 50 });
  try {
    const under: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await rm(store, { recursive: true, force: true });
      under.push((await lifeboat(['--config', cfg, 'backup'], path.join(tmp, 'probe.json'))).ms);
    }
    console.log(
      `sqlite (${SQLITE_MB} MB) with a writer committing every 50 ms: lifeboat ${s(median(under))} ` +
        `(${busy.committed()} commits during the runs); sqlite3 .backup: not run (it restarts on every write); ${load()}`,
    );
  } finally {
    await busy.stop();
  }
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-files-'));
  console.log(`bench:files on ${os.cpus().length} CPUs, rounds ${ROUNDS}; ${load()}`);
  try {
    if (ONLY.includes('fixed')) await fixedCase(tmp);
    if (ONLY.includes('real')) await realCase(tmp);
    if (ONLY.includes('files')) await filesCase(tmp);
    if (ONLY.includes('memory')) await memoryCase(tmp);
    if (ONLY.includes('sqlite')) await sqliteCase(tmp);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
