/**
 * Lifeboat performance bench (`npm run bench:pg`, the first part of `npm run bench`): is Lifeboat
 * as fast as the shell pipeline it replaces, and does its own memory stay small and flat?
 *
 *   1. Starts a throwaway cluster and builds `bench`: pgbench -i -s SCALE plus a jsonb table
 *      (see bench/data.ts).
 *   2. Backup: `lifeboat backup` vs `pg_dump | zstd -3 -T2 > f && sha256sum f`, interleaved over
 *      ROUNDS rounds (the order flips every round).
 *   3. Restore: `lifeboat restore latest --create` vs `create database; zstd -dc f | psql`, both
 *      from the same artifact, each into a fresh database that is dropped afterwards.
 *   3b. The encrypted pair: each round also backs up with `encryption: { type: age }` (zstd, then
 *      the age program) and `signing:`, and restores that backup twice: without the config (the
 *      signature unchecked, so the checksum pass decrypts every artifact before the restore) and
 *      with it (the signature checked: the pass only checks the identity and the restore decrypts
 *      as it streams). Ratios are to the unencrypted lifeboat run of the same round.
 *   4. Memory flatness: builds a database of twice the scale and backs it up once more.
 *   5. Prints a summary and writes it to bench/out/results-<timestamp>.json.
 *
 * Wall time is measured around the whole command. The target is held to the median of the
 * per-round ratios (lifeboat / shell of the same round, run back to back), which cancels the drift
 * of a shared machine between rounds; the ratio of the two medians and the fastest runs are
 * printed too. Before each run the server checkpoints and the kernel syncs. Peak RSS is that of
 * the lifeboat node process alone (bench/rss-probe.mjs reads getrusage at exit; pg_dump, zstd and
 * psql are not counted); "client CPU" is the user+sys of the command's whole process tree, from
 * GNU time, when /usr/bin/time exists. Targets: wall ratio ≤ 1.05, RSS ≤ 150 MB, RSS at double scale ≤ 1.1× — reported, never
 * asserted: the bench exits non-zero only when something failed to run. On a shared 2-core
 * machine the timings are noisy; the note under the table says when other work was running.
 *
 * Environment: BENCH_SCALE (default 50), BENCH_ROUNDS (5), BENCH_FLAT=0 skips step 4.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startLocalCluster,
  stopAllLocalClusters,
  type LocalCluster,
} from '../src/sources/postgres/local-cluster.js';
import { buildDatabase, DOCS_PER_SCALE, tuneForBulkLoad } from './data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const PROBE = path.join(ROOT, 'bench/rss-probe.mjs');
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

const SCALE = Number(process.env.BENCH_SCALE ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const FLAT = process.env.BENCH_FLAT !== '0';
const TARGETS = { ratio: 1.05, rssMb: 150, flatGrowth: 1.1 };

interface Run {
  wallMs: number;
  /** user+sys of the command's whole process tree (not the server's). */
  treeCpuMs?: number;
  /** The lifeboat node process only. */
  rssMb?: number;
  nodeCpuMs?: number;
  /** durationMs from lifeboat's --json output. */
  reportedMs?: number;
}

let tmp: string | undefined;
let current: ChildProcess | undefined;

// ---------------------------------------------------------------------------------------------
// Running timed commands

/** Runs argv in its own process group (so SIGINT can take down a whole pipeline) and times it. */
async function timed(
  argv: string[],
  opts: { probe?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Run & { stdout: string }> {
  const cpuFile = path.join(tmp!, 'cpu.txt');
  const probeFile = path.join(tmp!, 'probe.json');
  await rm(probeFile, { force: true });
  const full = GNU_TIME ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, ...argv] : argv;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    BENCH_PROBE_FILE: opts.probe ? probeFile : undefined,
  };
  for (const k of Object.keys(env)) if (k.startsWith('PG')) delete env[k];

  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(full[0]!, full.slice(1), {
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      current = child;
      let out = '';
      let err = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    },
  );
  const wallMs = performance.now() - started;
  current = undefined;
  if (code !== 0) throw new Error(`${argv.slice(0, 4).join(' ')} … exited ${code}:\n${stderr.trim()}`);

  const run: Run & { stdout: string } = { wallMs, stdout };
  if (GNU_TIME) {
    const [user, sys] = (await readFile(cpuFile, 'utf8')).trim().split(/\s+/).slice(-2).map(Number);
    run.treeCpuMs = ((user ?? 0) + (sys ?? 0)) * 1000;
  }
  if (opts.probe) {
    const p = JSON.parse(await readFile(probeFile, 'utf8')) as {
      maxRssKb: number;
      userMs: number;
      systemMs: number;
    };
    run.rssMb = p.maxRssKb / 1024;
    run.nodeCpuMs = p.userMs + p.systemMs;
  }
  return run;
}

/** Before each timed run: flush the server's dirty buffers and the kernel's, so no run pays for the last. */
async function settle(cluster: LocalCluster): Promise<void> {
  await cluster.psql('checkpoint');
  await timed(['sync']);
}

const lifeboat = (args: string[], env?: NodeJS.ProcessEnv) =>
  timed([process.execPath, '--import', PROBE, CLI, ...args, '--json'], { probe: true, env });

/** The age identity and signing key of the encrypted arm (made once per bench run in the temp folder). */
let ageKey: { file: string; recipient: string; signingKey: string } | undefined;
async function makeAgeKey(): Promise<void> {
  const file = path.join(tmp!, 'age-key.txt');
  await timed(['age-keygen', '-o', file]);
  const { stdout } = await timed(['age-keygen', '-y', file]);
  await timed([process.execPath, CLI, 'keygen', '--out', tmp!]);
  ageKey = { file, recipient: stdout.trim(), signingKey: path.join(tmp!, 'lifeboat-signing.key') };
}

/** The config of an encrypted arm's backup in `dir` (its restore with signing reads it too). */
const ageConfigOf = (dir: string) => path.join(tmp!, `age-${path.basename(dir)}.yaml`);

/** As lifeboatBackup, with a config whose job encrypts to ageKey (zstd -3, then age). */
async function lifeboatBackupEncrypted(cluster: LocalCluster, database: string, dir: string): Promise<Run> {
  const config = ageConfigOf(dir);
  await writeFile(
    config,
    `storages:\n  disk: { type: local, path: ${JSON.stringify(dir)} }\n` +
      `jobs:\n  bench:\n    source: { type: postgres, url: "${cluster.url(database)}" }\n` +
      `    encryption: { type: age, recipients: [${ageKey!.recipient}] }\n    storages: [disk]\n` +
      `signing: { key: ${ageKey!.signingKey} }\n`,
  );
  const { stdout, ...run } = await lifeboat(['--config', config, 'backup']);
  const [result] = JSON.parse(stdout) as Array<{ ok: boolean; durationMs: number }>;
  if (!result?.ok) throw new Error(`lifeboat backup (age) did not succeed: ${stdout}`);
  return { ...run, reportedMs: result.durationMs };
}

async function lifeboatBackup(cluster: LocalCluster, database: string, dir: string): Promise<Run> {
  const args = ['backup', '--source', cluster.url(database), '--to', dir, '--job', 'bench'];
  const { stdout, ...run } = await lifeboat(args);
  const [result] = JSON.parse(stdout) as Array<{ ok: boolean; durationMs: number }>;
  if (!result?.ok) throw new Error(`lifeboat backup did not succeed: ${stdout}`);
  return { ...run, reportedMs: result.durationMs };
}

const SHELL_BACKUP = 'set -o pipefail; "$1" -d "$2" | zstd -q -3 -T2 > "$3" && sha256sum "$3" > /dev/null';
const SHELL_RESTORE =
  'set -o pipefail; "$1" -X -q -d "$2" -c "create database \\"$3\\"" && ' +
  'zstd -q -dc "$4" | "$1" -X -q -v ON_ERROR_STOP=1 -d "$5"';

// ---------------------------------------------------------------------------------------------
// Reporting

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const max = (xs: number[]) => Math.max(...xs);
const min = (xs: number[]) => Math.min(...xs);
const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const fmtMb = (mb: number) => `${mb.toFixed(1)} MB`;
const defined = (xs: Array<number | undefined>) => xs.filter((x): x is number => x !== undefined);

function summarize(lb: Run[], sh: Run[]) {
  const lbMs = median(lb.map((r) => r.wallMs));
  const shMs = median(sh.map((r) => r.wallMs));
  const lbCpu = defined(lb.map((r) => r.treeCpuMs));
  const shCpu = defined(sh.map((r) => r.treeCpuMs));
  // Round i ran both arms back to back: their ratio cancels the machine's drift over the run,
  // which on a shared 2-core machine moves a restore by ±15% between rounds.
  const paired = median(lb.map((r, i) => r.wallMs / sh[i]!.wallMs));
  return {
    lifeboatMedianMs: Math.round(lbMs),
    shellMedianMs: Math.round(shMs),
    ratio: Number((lbMs / shMs).toFixed(3)),
    pairedRatio: Number(paired.toFixed(3)),
    ratioMet: paired <= TARGETS.ratio,
    // The fastest runs are the least disturbed by other work on the machine.
    lifeboatMinMs: Math.round(min(lb.map((r) => r.wallMs))),
    shellMinMs: Math.round(min(sh.map((r) => r.wallMs))),
    minRatio: Number((min(lb.map((r) => r.wallMs)) / min(sh.map((r) => r.wallMs))).toFixed(3)),
    lifeboatPeakRssMb: Number(max(lb.map((r) => r.rssMb ?? 0)).toFixed(1)),
    rssMet: max(lb.map((r) => r.rssMb ?? 0)) <= TARGETS.rssMb,
    lifeboatNodeCpuMedianMs: Math.round(median(lb.map((r) => r.nodeCpuMs ?? 0))),
    ...(lbCpu.length && shCpu.length
      ? {
          lifeboatTreeCpuMedianMs: Math.round(median(lbCpu)),
          shellTreeCpuMedianMs: Math.round(median(shCpu)),
        }
      : {}),
    lifeboatReportedMedianMs: Math.round(median(lb.map((r) => r.reportedMs ?? 0))),
  };
}

const yes = (ok: boolean) => (ok ? 'yes' : 'NO');

function printSummary(s: Summary): void {
  const rows: string[][] = [['', 'lifeboat', 'shell', 'ratio', 'target', 'met']];
  const row = (label: string, lb: string, sh = '', ratio = '', target = '', met = '') =>
    rows.push([label, lb, sh, ratio, target, met]);
  for (const [name, x] of [
    ['backup', s.backup],
    ['restore', s.restore],
  ] as const) {
    row(`${name} wall (median)`, fmtS(x.lifeboatMedianMs), fmtS(x.shellMedianMs), x.ratio.toFixed(3));
    row(
      `${name} wall, median of round ratios`,
      '',
      '',
      x.pairedRatio.toFixed(3),
      `≤ ${TARGETS.ratio}`,
      yes(x.ratioMet),
    );
    row(`${name} wall (fastest)`, fmtS(x.lifeboatMinMs), fmtS(x.shellMinMs), x.minRatio.toFixed(3));
    if (x.lifeboatTreeCpuMedianMs !== undefined) {
      row(`${name} client CPU (median)`, fmtS(x.lifeboatTreeCpuMedianMs), fmtS(x.shellTreeCpuMedianMs!));
    }
    row(`${name} node CPU (median)`, fmtS(x.lifeboatNodeCpuMedianMs));
    row(`${name} lifeboat's own durationMs`, fmtS(x.lifeboatReportedMedianMs));
    row(
      `${name} peak RSS (node)`,
      fmtMb(x.lifeboatPeakRssMb),
      '',
      '',
      `≤ ${TARGETS.rssMb} MB`,
      yes(x.rssMet),
    );
  }
  for (const [name, x] of [
    ['backup (signed)', s.encrypted.backup],
    ['restore (unsigned: decrypt pre-pass)', s.encrypted.restore],
    ['restore (signed: streamed)', s.encrypted.signedRestore],
  ] as const) {
    row(`${name} + age wall (median)`, fmtS(x.lifeboatMedianMs), fmtS(x.shellMedianMs), x.ratio.toFixed(3));
    row(
      `${name} + age vs unencrypted, round ratios`,
      '',
      '',
      x.pairedRatio.toFixed(3),
      `≤ ${TARGETS.ratio}`,
      yes(x.ratioMet),
    );
    row(
      `${name} + age peak RSS (node)`,
      fmtMb(x.lifeboatPeakRssMb),
      '',
      '',
      `≤ ${TARGETS.rssMb} MB`,
      yes(x.rssMet),
    );
  }
  if (s.flat) {
    const f = s.flat;
    row(`backup RSS, scale ${f.scale}`, fmtMb(f.rssMb));
    const growth = f.growth.toFixed(3);
    row(
      `backup RSS, scale ${f.doubleScale}`,
      fmtMb(f.doubleRssMb),
      '',
      growth,
      `≤ ${TARGETS.flatGrowth}`,
      yes(f.met),
    );
  }
  row('lifeboat --version (start-up)', fmtS(s.lifeboatStartupMedianMs));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(
    `\nLifeboat bench — scale ${s.config.scale}, ${s.config.rounds} round(s), database ${s.database.sizeMb} MB, dump ${s.database.dumpMb} MB (zstd -3)`,
  );
  for (const r of rows)
    console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  // Our own runs keep the CPUs busy, so only the load from before the bench tells of other work.
  if (s.config.loadBefore > 0.5) {
    console.log(
      `  note: load average ${s.config.loadBefore} before the bench started; other work skews timings`,
    );
  }
}

type Summary = {
  config: Record<string, unknown> & { loadBefore: number };
  database: { name: string; sizeMb: number; dumpMb: number };
  lifeboatStartupMedianMs: number;
  backup: ReturnType<typeof summarize>;
  restore: ReturnType<typeof summarize>;
  encrypted: {
    backup: ReturnType<typeof summarize>;
    restore: ReturnType<typeof summarize>;
    signedRestore: ReturnType<typeof summarize>;
  };
  flat?: {
    scale: number;
    rssMb: number;
    doubleScale: number;
    doubleSizeMb: number;
    doubleRssMb: number;
    growth: number;
    met: boolean;
  };
};

// ---------------------------------------------------------------------------------------------
// The bench

async function findDump(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.sql.zst'));
  if (files.length !== 1) throw new Error(`expected one .sql.zst in ${dir}, found ${files.length}`);
  return path.join(dir, files[0]!);
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  if (!(SCALE >= 1 && ROUNDS >= 1)) throw new Error('BENCH_SCALE and BENCH_ROUNDS must be ≥ 1');
  const loadBefore = Number(os.loadavg()[0]!.toFixed(2));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-perf-'));
  log(`starting a throwaway cluster (temp files in ${tmp})`);
  const cluster = await startLocalCluster({ name: 'bench' });
  await tuneForBulkLoad(cluster);
  const bin = (p: string) => path.join(cluster.binDir, p);
  log(
    `PostgreSQL ${cluster.version} on port ${cluster.port}; building scale ${SCALE} (${SCALE * DOCS_PER_SCALE} jsonb rows)`,
  );
  let t = performance.now();
  const size = await buildDatabase(cluster, 'bench', SCALE);
  log(`built bench: ${mb(size)} MB in ${fmtS(performance.now() - t)}`);

  // Fixed cost of every lifeboat command: node start-up and loading the CLI's modules.
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) startups.push((await timed([process.execPath, CLI, '--version'])).wallMs);
  log(`lifeboat --version (node start-up + module load): ${fmtS(median(startups))}`);

  // Backups, interleaved; the last lifeboat backup is kept as the restore source.
  const lbBackups: Run[] = [];
  const shBackups: Run[] = [];
  // The encrypted pair: the same backup and restore with encryption: { type: age } on top.
  const ageBackups: Run[] = [];
  await makeAgeKey();
  let keepAge: string | undefined;
  let keep: string | undefined;
  let dumpBytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const arms = [
      async () => {
        const dir = path.join(tmp!, `lb-backup-${round}`);
        await settle(cluster);
        const run = await lifeboatBackup(cluster, 'bench', dir);
        lbBackups.push(run);
        log(`backup round ${round + 1} lifeboat: ${fmtS(run.wallMs)}, node RSS ${fmtMb(run.rssMb!)}`);
        if (keep) await rm(keep, { recursive: true, force: true });
        keep = dir;
      },
      async () => {
        const file = path.join(tmp!, `sh-backup-${round}.sql.zst`);
        await settle(cluster);
        const args = [bin('pg_dump'), cluster.url('bench'), file];
        const { stdout: _, ...run } = await timed(['bash', '-c', SHELL_BACKUP, 'bench', ...args]);
        shBackups.push(run);
        dumpBytes = (await stat(file)).size;
        log(`backup round ${round + 1} shell:    ${fmtS(run.wallMs)}`);
        await rm(file, { force: true });
      },
      async () => {
        const dir = path.join(tmp!, `age-backup-${round}`);
        await settle(cluster);
        const run = await lifeboatBackupEncrypted(cluster, 'bench', dir);
        ageBackups.push(run);
        log(`backup round ${round + 1} lifeboat+age: ${fmtS(run.wallMs)}, node RSS ${fmtMb(run.rssMb!)}`);
        if (keepAge) await rm(keepAge, { recursive: true, force: true });
        keepAge = dir;
      },
    ];
    for (const arm of round % 2 ? arms.reverse() : arms) await arm();
  }
  const artifact = await findDump(keep!);

  // Restores, interleaved, from the same artifact.
  const lbRestores: Run[] = [];
  const shRestores: Run[] = [];
  const ageRestores: Run[] = [];
  const signedRestores: Run[] = [];
  const expectedDocs = String(SCALE * DOCS_PER_SCALE);
  const restoreArm = (kind: 'lifeboat' | 'shell' | 'age' | 'signed', round: number) => async () => {
    const db = `restore_${kind}_${round}`;
    await settle(cluster);
    let run: Run;
    if (kind !== 'shell') {
      // The signed arm reads the config (so the signature is checked); the others name the folder.
      const global = kind === 'signed' ? ['--config', ageConfigOf(keepAge!)] : [];
      const from = kind === 'signed' ? [] : ['--from', kind === 'age' ? keepAge! : keep!];
      const args = [
        ...global,
        'restore',
        'latest',
        '--job',
        'bench',
        ...from,
        '--to',
        cluster.url(db),
        '--create',
      ];
      const env =
        kind === 'age' || kind === 'signed' ? { LIFEBOAT_AGE_IDENTITY_FILE: ageKey!.file } : undefined;
      const { stdout, ...r } = await lifeboat(args, env);
      run = { ...r, reportedMs: (JSON.parse(stdout) as { durationMs: number }).durationMs };
    } else {
      const args = [bin('psql'), cluster.url(), db, artifact, cluster.url(db)];
      const { stdout: _, ...r } = await timed(['bash', '-c', SHELL_RESTORE, 'bench', ...args]);
      run = r;
    }
    ({ lifeboat: lbRestores, shell: shRestores, age: ageRestores, signed: signedRestores })[kind].push(run);
    log(
      `restore round ${round + 1} ${kind.padEnd(8)}: ${fmtS(run.wallMs)}${run.rssMb ? `, node RSS ${fmtMb(run.rssMb)}` : ''}`,
    );
    const docs = (await cluster.psql('select count(*) from documents', { database: db })).trim();
    if (docs !== expectedDocs) throw new Error(`${db}: documents has ${docs} rows, expected ${expectedDocs}`);
    await cluster.psql(`drop database "${db}"`);
  };
  for (let round = 0; round < ROUNDS; round++) {
    const arms = [
      restoreArm('lifeboat', round),
      restoreArm('shell', round),
      restoreArm('age', round),
      restoreArm('signed', round),
    ];
    for (const arm of round % 2 ? arms.reverse() : arms) await arm();
  }

  const summary: Summary = {
    config: {
      scale: SCALE,
      rounds: ROUNDS,
      docsPerScale: DOCS_PER_SCALE,
      postgres: cluster.version,
      node: process.version,
      cpus: os.cpus().length,
      loadBefore,
      shellBackup: 'pg_dump -d URL | zstd -q -3 -T2 > f && sha256sum f',
      shellRestore: 'psql -c "create database X" && zstd -dc f | psql -X -q -v ON_ERROR_STOP=1 -d X',
    },
    database: { name: 'bench', sizeMb: mb(size), dumpMb: mb(dumpBytes) },
    lifeboatStartupMedianMs: Math.round(median(startups)),
    backup: summarize(lbBackups, shBackups),
    restore: summarize(lbRestores, shRestores),
    // "lifeboat" here is the encrypted arm and "shell" the unencrypted lifeboat of the same round.
    encrypted: {
      backup: summarize(ageBackups, lbBackups),
      restore: summarize(ageRestores, lbRestores),
      signedRestore: summarize(signedRestores, lbRestores),
    },
  };

  if (FLAT) {
    await cluster.psql('drop database bench');
    await rm(keep!, { recursive: true, force: true });
    log(`memory flatness: building scale ${2 * SCALE} (${2 * SCALE * DOCS_PER_SCALE} jsonb rows)`);
    t = performance.now();
    const doubleSize = await buildDatabase(cluster, 'bench_x2', 2 * SCALE);
    log(`built bench_x2: ${mb(doubleSize)} MB in ${fmtS(performance.now() - t)}`);
    const run = await lifeboatBackup(cluster, 'bench_x2', path.join(tmp, 'lb-backup-x2'));
    log(`backup bench_x2 lifeboat: ${fmtS(run.wallMs)}, node RSS ${fmtMb(run.rssMb!)}`);
    const base = summary.backup.lifeboatPeakRssMb;
    const growth = run.rssMb! / base;
    summary.flat = {
      scale: SCALE,
      rssMb: base,
      doubleScale: 2 * SCALE,
      doubleSizeMb: mb(doubleSize),
      doubleRssMb: Number(run.rssMb!.toFixed(1)),
      growth: Number(growth.toFixed(3)),
      met: growth <= TARGETS.flatGrowth,
    };
  }

  printSummary(summary);
  const outDir = path.join(ROOT, 'bench/out');
  await mkdir(outDir, { recursive: true });
  const outFile = path.join(outDir, `results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const raw = { lbBackups, shBackups, ageBackups, lbRestores, shRestores, ageRestores, signedRestores };
  await writeFile(outFile, JSON.stringify({ ...summary, runs: raw }, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), outFile)}`);
}

// ---------------------------------------------------------------------------------------------
// Clean-up, also on error and on SIGINT/SIGTERM

let cleaning: Promise<void> | undefined;
let interrupted = false;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (current?.pid) {
      try {
        process.kill(-current.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await stopAllLocalClusters();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupted = true;
    console.error(`\nbench: ${sig}: stopping the cluster and removing temp files`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(() => cleanup())
  .then(
    () => process.exit(0),
    async (err: unknown) => {
      if (!interrupted) console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
      await cleanup().catch(() => undefined);
      process.exit(interrupted ? 130 : 1);
    },
  );
