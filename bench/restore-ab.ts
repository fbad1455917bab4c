/**
 * A/B bench of builds against each other (not part of `npm run bench`): one cluster, one database,
 * one plain and one age+signed backup, then ROUNDS rounds of restores by the shell pipeline and by
 * each lifeboat build in VARIANTS (name=/path/to/dist/cli/main.js,...; copy an older commit's
 * dist/ inside the repo so its imports resolve), the order rotating every round. Prints each run
 * (wall, the node process's peak RSS and CPU), the per-round ratio to the shell run and the load.
 *
 *   BENCH_SCALE=20 BENCH_ROUNDS=3 ARMS=plain,signed,age \
 *     VARIANTS=new=$PWD/dist/cli/main.js,old=$PWD/bench/out/dist-old/cli/main.js node --import tsx bench/restore-ab.ts
 *
 * MODE=backup times backups instead (ARMS=oneoff,config,agesign: one-off, a config job, and one
 * with age and signing) against `pg_dump | zstd && sha256sum`; MODE=hold keeps the cluster and
 * backups for manual runs until SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCluster, stopAllLocalClusters } from '../src/sources/postgres/local-cluster.js';
import { buildDatabase, tuneForBulkLoad } from './data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROBE = path.join(ROOT, 'bench/rss-probe.mjs');
const SCALE = Number(process.env.BENCH_SCALE ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const VARIANTS = (process.env.VARIANTS ?? `new=${path.join(ROOT, 'dist/cli/main.js')}`)
  .split(',')
  .map((v) => v.split('=') as [string, string]);
const ARMS = (process.env.ARMS ?? 'plain').split(','); // plain, signed, age (unsigned)
const tmp = await mkdtemp(path.join(os.tmpdir(), 'lb-ab-'));
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function timed(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const probeFile = path.join(tmp, 'probe.json');
  await rm(probeFile, { force: true });
  const full: NodeJS.ProcessEnv = { ...process.env, ...env, BENCH_PROBE_FILE: probeFile };
  for (const k of Object.keys(full)) if (k.startsWith('PG')) delete full[k];
  const t = performance.now();
  const { code, err } = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { env: full, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-3000)));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, err }));
  });
  const ms = performance.now() - t;
  if (code !== 0) throw new Error(`${argv.join(' ').slice(0, 200)}: exit ${code}\n${err}`);
  let rss: number | undefined;
  let cpu: number | undefined;
  try {
    const p = JSON.parse(await readFile(probeFile, 'utf8')) as {
      maxRssKb: number;
      userMs: number;
      systemMs: number;
    };
    rss = p.maxRssKb / 1024;
    cpu = p.userMs + p.systemMs;
  } catch {
    /* not a node run */
  }
  return { ms, rss, cpu };
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    void stopAllLocalClusters()
      .then(() => rm(tmp, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  });
const cluster = await startLocalCluster({ name: 'ab' });
try {
  await tuneForBulkLoad(cluster);
  const bin = (p: string) => path.join(cluster.binDir, p);
  console.log(`building scale ${SCALE} (load ${load()})`);
  await buildDatabase(cluster, 'bench', SCALE);
  const cli = VARIANTS[0]![1];
  const plainDir = path.join(tmp, 'plain');
  await timed([
    process.execPath,
    cli,
    'backup',
    '--source',
    cluster.url('bench'),
    '--to',
    plainDir,
    '--job',
    'bench',
  ]);
  const files = (await readdir(plainDir, { recursive: true })).filter((f) => f.endsWith('.sql.zst'));
  const artifact = path.join(plainDir, files[0]!);
  const keyFile = path.join(tmp, 'age.txt');
  await timed(['age-keygen', '-o', keyFile]);
  const recipient = await new Promise<string>((resolve) => {
    const c = spawn('age-keygen', ['-y', keyFile]);
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.on('close', () => resolve(out.trim()));
  });
  await timed([process.execPath, cli, 'keygen', '--out', tmp]);
  const ageDir = path.join(tmp, 'age');
  const config = path.join(tmp, 'age.yaml');
  await writeFile(
    config,
    `storages:\n  disk: { type: local, path: ${JSON.stringify(ageDir)} }\n` +
      `jobs:\n  bench:\n    source: { type: postgres, url: "${cluster.url('bench')}" }\n` +
      `    encryption: { type: age, recipients: [${recipient}] }\n    storages: [disk]\n` +
      `signing: { key: ${path.join(tmp, 'lifeboat-signing.key')} }\n`,
  );
  if (process.env.MODE !== 'backup' && ARMS.some((a) => a !== 'plain'))
    await timed([process.execPath, cli, '--config', config, 'backup']);
  console.log(`backups made (load ${load()})`);
  if (process.env.MODE === 'hold') {
    console.log(
      JSON.stringify({ url: cluster.url(), plainDir, ageDir, config, keyFile, artifact, psql: bin('psql') }),
    );
    await new Promise(() => setInterval(() => {}, 1 << 30));
  }

  const configFor = (name: string, enc: boolean, sign: boolean) => {
    const file = path.join(tmp, `${name}.yaml`);
    return writeFile(
      file,
      `storages:\n  disk: { type: local, path: ${JSON.stringify(path.join(tmp, 'b-' + name))} }\n` +
        `jobs:\n  bench:\n    source: { type: postgres, url: "${cluster.url('bench')}" }\n` +
        (enc ? `    encryption: { type: age, recipients: [${recipient}] }\n` : '') +
        `    storages: [disk]\n` +
        (sign ? `signing: { key: ${path.join(tmp, 'lifeboat-signing.key')} }\n` : ''),
    ).then(() => file);
  };
  type Arm = { name: string; run: (db: string) => Promise<{ ms: number; rss?: number; cpu?: number }> };
  const arms: Arm[] = [
    {
      name: 'shell',
      run: (db) =>
        timed([
          'bash',
          '-c',
          'set -o pipefail; "$1" -X -q -d "$2" -c "create database \\"$3\\"" && zstd -q -dc "$4" | "$1" -X -q -v ON_ERROR_STOP=1 -d "$5"',
          'x',
          bin('psql'),
          cluster.url(),
          db,
          artifact,
          cluster.url(db),
        ]),
    },
  ];
  if (process.env.MODE === 'backup') {
    arms.length = 0;
    arms.push({
      name: 'shell',
      run: async (db) => {
        const file = path.join(tmp, `${db}.zst`);
        const r = await timed([
          'bash',
          '-c',
          'set -o pipefail; "$1" -d "$2" | zstd -q -3 -T2 > "$3" && sha256sum "$3" > /dev/null',
          'x',
          bin('pg_dump'),
          cluster.url('bench'),
          file,
        ]);
        await rm(file, { force: true });
        return r;
      },
    });
    for (const [name, main] of VARIANTS) {
      const lb = (args: string[]) => timed([process.execPath, '--import', PROBE, main, ...args, '--json']);
      for (const arm of ARMS) {
        arms.push({
          name: `${name}:${arm}`,
          run: async () => {
            const dir = path.join(tmp, `b-${name}-${arm}`);
            let r;
            if (arm === 'oneoff')
              r = await lb(['backup', '--source', cluster.url('bench'), '--to', dir, '--job', 'bench']);
            else {
              const file = await configFor(`${name}-${arm}`, arm.includes('age'), arm.includes('sign'));
              r = await lb(['--config', file, 'backup']);
            }
            await rm(dir, { recursive: true, force: true });
            return r;
          },
        });
      }
    }
  }
  const ageEnv = { LIFEBOAT_AGE_IDENTITY_FILE: keyFile };
  for (const [name, main] of VARIANTS) {
    const lb = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      timed([process.execPath, '--import', PROBE, main, ...args, '--json'], env);
    if (ARMS.includes('plain'))
      arms.push({
        name,
        run: (db) =>
          lb([
            'restore',
            'latest',
            '--job',
            'bench',
            '--from',
            plainDir,
            '--to',
            cluster.url(db),
            '--create',
          ]),
      });
    if (ARMS.includes('signed'))
      arms.push({
        name: `${name}+signed`,
        run: (db) =>
          lb(
            ['--config', config, 'restore', 'latest', '--job', 'bench', '--to', cluster.url(db), '--create'],
            ageEnv,
          ),
      });
    if (ARMS.includes('age'))
      arms.push({
        name: `${name}+age`,
        run: (db) =>
          lb(
            ['restore', 'latest', '--job', 'bench', '--from', ageDir, '--to', cluster.url(db), '--create'],
            ageEnv,
          ),
      });
  }
  const results: Record<string, number[]> = {};
  const ratios: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const order = arms.map((_, i) => arms[(i + round) % arms.length]!);
    if (round % 2) order.reverse();
    const thisRound: Record<string, number> = {};
    for (const arm of order) {
      const db = `r_${arm.name.replace(/\W/g, '_')}_${round}`;
      await cluster.psql('checkpoint');
      await timed(['sync']);
      const before = load();
      const r = await arm.run(db);
      thisRound[arm.name] = r.ms;
      (results[arm.name] ??= []).push(r.ms);
      console.log(
        `round ${round + 1} ${arm.name.padEnd(14)} ${(r.ms / 1000).toFixed(2)} s` +
          (r.rss ? `  rss ${r.rss.toFixed(0)} MB cpu ${(r.cpu! / 1000).toFixed(2)} s` : '') +
          `  load ${before}`,
      );
      if (process.env.MODE !== 'backup') await cluster.psql(`drop database "${db}"`);
    }
    for (const a of arms)
      if (a.name !== 'shell') (ratios[a.name] ??= []).push(thisRound[a.name]! / thisRound.shell!);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  for (const a of arms) {
    const r = ratios[a.name];
    console.log(
      `${a.name.padEnd(14)} median ${(median(results[a.name]!) / 1000).toFixed(2)} s  min ${(Math.min(...results[a.name]!) / 1000).toFixed(2)} s` +
        (r ? `  ratio median ${median(r).toFixed(3)} [${r.map((x) => x.toFixed(3)).join(' ')}]` : ''),
    );
  }
} finally {
  await stopAllLocalClusters();
  await rm(tmp, { recursive: true, force: true });
}
