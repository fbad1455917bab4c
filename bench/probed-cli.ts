/**
 * One node process run for the benches, with bench/rss-probe.mjs preloaded: its wall time, its
 * stdout and the node process's peak RSS (zstd, pg_dump and other children are not counted).
 * `probedCli` runs the `lifeboat` CLI this way; `probedScript` any other script (the bucket
 * bench's SDK-alone copy), so both are measured alike.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ProbedRun {
  wallMs: number;
  stdout: string;
  rssMb: number;
  /** The node process's user + system CPU time. */
  cpuMs: number;
}

export interface ProbeOptions {
  probeFile: string;
  env?: Record<string, string>;
}

/** Runs dist/cli/main.js with `args`; rejects with the exit code when it is not 0. */
export function probedCli(args: string[], opts: ProbeOptions): Promise<ProbedRun> {
  return probedScript(path.join(ROOT, 'dist/cli/main.js'), args, opts, 'lifeboat');
}

/** Runs the plain JavaScript file `script` (a path) with `args`; rejects when it exits non-zero. */
export async function probedScript(
  script: string,
  args: string[],
  opts: ProbeOptions,
  label = path.basename(script),
): Promise<ProbedRun> {
  const started = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', path.join(ROOT, 'bench/rss-probe.mjs'), script, ...args],
      {
        env: { ...process.env, ...opts.env, BENCH_PROBE_FILE: opts.probeFile },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${label} ${args[0] ?? ''} exited ${code}`)),
    );
  });
  const wallMs = performance.now() - started;
  const { maxRssKb, userMs, systemMs } = JSON.parse(await readFile(opts.probeFile, 'utf8')) as {
    maxRssKb: number;
    userMs: number;
    systemMs: number;
  };
  return { wallMs, stdout, rssMb: maxRssKb / 1024, cpuMs: userMs + systemMs };
}
