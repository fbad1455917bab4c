/**
 * `npm run bench:files`: the files and sqlite sources against the shell pipelines they replace.
 *
 *  files:  `lifeboat backup` of a tree (many small files + one large one) against
 *          `tar -cf - DIR | zstd -3 -T0 > f && sha256sum f`   (target ≤ 1.10×, Lifeboat RSS ≤ 150 MB)
 *  sqlite: `lifeboat backup` of one database against `sqlite3 db ".backup x" && zstd -3 -T0 x`,
 *          and Lifeboat again while a writer commits every 50 ms (the sqlite3 CLI's .backup does
 *          not finish under such a writer, so that arm has no shell counterpart).
 *
 * Sizes are modest by default so it runs in minutes on a small machine: BENCH_FILES (small files,
 * default 20000), BENCH_BIG_MB (the large file, default 256), BENCH_SQLITE_MB (default 256; the
 * issue's figure is for ≥ 1024), BENCH_ROUNDS (default 3). Wall times are medians over rounds, each
 * round running both arms back to back; Lifeboat's peak RSS is its own node process (rss-probe.mjs).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSqliteWriter } from '../test/helpers/sqlite-writer.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
const PROBE = path.join(ROOT, 'bench/rss-probe.mjs');
const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 256);
const SQLITE_MB = Number(process.env.BENCH_SQLITE_MB ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function lifeboat(config: string, probe: string): Promise<{ ms: number; rssMb: number }> {
  const ms = await run([process.execPath, '--import', PROBE, CLI, '--config', config, 'backup', '--json'], {
    BENCH_PROBE_FILE: probe,
  });
  const p = JSON.parse(await readFile(probe, 'utf8')) as { maxRssKb: number };
  return { ms, rssMb: p.maxRssKb / 1024 };
}

function report(name: string, lb: Array<{ ms: number; rssMb: number }>, sh: number[], target: number): void {
  const lbMs = median(lb.map((r) => r.ms));
  const shMs = median(sh);
  const rss = Math.max(...lb.map((r) => r.rssMb));
  const ratio = lbMs / shMs;
  console.log(
    `${name}: lifeboat ${(lbMs / 1000).toFixed(2)} s, shell ${(shMs / 1000).toFixed(2)} s, ratio ${ratio.toFixed(3)} ` +
      `(target ≤ ${target}: ${ratio <= target ? 'met' : 'NOT met'}), lifeboat peak RSS ${rss.toFixed(0)} MB ` +
      `(target ≤ 150: ${rss <= 150 ? 'met' : 'NOT met'})`,
  );
}

async function makeTree(dir: string): Promise<void> {
  // Compressible, not constant: text-like lines with a counter, so zstd has real work to do.
  for (let d = 0; d < FILES / 500; d++) {
    const sub = path.join(dir, `d${d}`);
    await mkdir(sub, { recursive: true });
    for (let f = 0; f < 500; f++) {
      const lines = Array.from(
        { length: 20 + ((d * 500 + f) % 80) },
        (_, i) => `line ${i} of file ${d}/${f}: ${Math.random()}\n`,
      );
      await writeFile(path.join(sub, `f${f}.txt`), lines.join(''));
    }
  }
  const block = Buffer.from(
    Array.from({ length: 1 << 16 }, () => `${Math.random()}`)
      .join('')
      .slice(0, 1 << 20),
  );
  const big = path.join(dir, 'big.bin');
  for (let i = 0; i < BIG_MB; i++) await writeFile(big, block, { flag: 'a' });
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-files-'));
  try {
    // files
    const tree = path.join(tmp, 'tree');
    await makeTree(tree);
    const store = path.join(tmp, 'store');
    const config = path.join(tmp, 'files.yaml');
    await writeFile(
      config,
      `storages:\n  disk: { type: local, path: ${store} }\njobs:\n  tree:\n    source: { type: files, paths: [${tree}] }\n    storages: [disk]\n`,
    );
    const lb: Array<{ ms: number; rssMb: number }> = [];
    const sh: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await rm(store, { recursive: true, force: true });
      lb.push(await lifeboat(config, path.join(tmp, 'probe.json')));
      const out = path.join(tmp, 'shell.tar.zst');
      sh.push(
        await run([
          'sh',
          '-c',
          `tar -cf - -C / ${tree.slice(1)} | zstd -q -3 -T0 > ${out} && sha256sum ${out} > /dev/null`,
        ]),
      );
      await rm(out, { force: true });
    }
    report(`files (${FILES} small files + ${BIG_MB} MB)`, lb, sh, 1.1);
    await rm(tree, { recursive: true, force: true });

    // sqlite
    const db = path.join(tmp, 'state.db');
    const writer = await startSqliteWriter(db, { fillMb: SQLITE_MB, everyMs: 50 });
    await writer.stop();
    const dbConfig = path.join(tmp, 'sqlite.yaml');
    await writeFile(
      dbConfig,
      `storages:\n  disk: { type: local, path: ${store} }\njobs:\n  db:\n    source: { type: sqlite, path: ${db} }\n    storages: [disk]\n`,
    );
    const lbDb: Array<{ ms: number; rssMb: number }> = [];
    const shDb: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await rm(store, { recursive: true, force: true });
      lbDb.push(await lifeboat(dbConfig, path.join(tmp, 'probe.json')));
      const copy = path.join(tmp, 'copy.db');
      shDb.push(
        await run([
          'sh',
          '-c',
          `sqlite3 ${db} ".backup ${copy}" && zstd -q -f -3 -T0 ${copy} && sha256sum ${copy}.zst > /dev/null`,
        ]),
      );
      await rm(copy, { force: true });
      await rm(`${copy}.zst`, { force: true });
    }
    report(`sqlite (${SQLITE_MB} MB, no writer)`, lbDb, shDb, 1.1);
    const busy = await startSqliteWriter(db, { fillMb: 0, everyMs: 50 });
    try {
      const under: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        await rm(store, { recursive: true, force: true });
        under.push((await lifeboat(dbConfig, path.join(tmp, 'probe.json'))).ms);
      }
      console.log(
        `sqlite (${SQLITE_MB} MB) with a writer committing every 50 ms: lifeboat ${(median(under) / 1000).toFixed(2)} s ` +
          `(${busy.committed()} commits during the runs); sqlite3 .backup: not run (it restarts on every write)`,
      );
    } finally {
      await busy.stop();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
