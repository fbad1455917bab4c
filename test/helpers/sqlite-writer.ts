/**
 * A real writer for SQLite tests and the bench: a child process that fills a WAL-mode database,
 * then commits one transaction every `everyMs` (a row in `events` and one in `audit`, numbered
 * 1, 2, 3 … so a copy can be checked for a gap-free prefix), reporting each commit on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface SqliteWriter {
  /** Transactions committed so far (as reported by the writer). */
  committed(): number;
  waitForRows(n: number): Promise<void>;
  /** Stops the writer and waits for it to exit. */
  stop(): Promise<void>;
  child: ChildProcess;
}

const SCRIPT = String.raw`
const { DatabaseSync } = require('node:sqlite');
const [file, fillMb, everyMs] = process.argv.slice(1);
const db = new DatabaseSync(file);
db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
db.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL); CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, note TEXT NOT NULL);');
const fill = db.prepare('INSERT INTO filler (v) VALUES (?)');
db.exec('BEGIN');
for (let i = 0; i < (Number(fillMb) * 1048576) / 220; i++) fill.run('x'.repeat(150) + Math.random());
db.exec('COMMIT');
let seq = Number(db.prepare('SELECT coalesce(max(seq), 0) AS n FROM events').get().n);
const ev = db.prepare('INSERT INTO events (seq, at) VALUES (?, ?)');
const au = db.prepare('INSERT INTO audit (seq, note) VALUES (?, ?)');
console.log('ready ' + seq);
setInterval(() => {
  seq++;
  db.exec('BEGIN IMMEDIATE');
  ev.run(seq, new Date().toISOString());
  au.run(seq, 'y'.repeat(200));
  db.exec('COMMIT');
  console.log('commit ' + seq);
}, Number(everyMs));
process.on('SIGTERM', () => { db.close(); process.exit(0); });
`;

export async function startSqliteWriter(
  file: string,
  opts: { fillMb?: number; everyMs?: number } = {},
): Promise<SqliteWriter> {
  const child = spawn(
    process.execPath,
    ['--no-warnings', '-e', SCRIPT, file, String(opts.fillMb ?? 1), String(opts.everyMs ?? 20)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let committed = 0;
  let partial = '';
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const [word, n] = line.split(' ');
      if (word === 'ready') ready();
      if (word === 'commit') committed = Number(n);
    }
    for (const w of waiters.filter((w) => committed >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  await Promise.race([
    isReady,
    exited.then(() => {
      throw new Error('sqlite writer exited before it was ready');
    }),
  ]);
  return {
    child,
    committed: () => committed,
    waitForRows: (n) =>
      committed >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
