/**
 * The bench database: pgbench's tables (`pgbench -i -s SCALE`, generated server-side) plus a
 * jsonb-heavy `documents` table of DOCS_PER_SCALE rows per scale unit — nested objects and arrays,
 * text, numbers and booleans — with a GIN and a btree index so restores rebuild realistic indexes.
 * Documents are ~0.6 KB of dump each and only ~3.5× compressible: pgbench's own tables compress
 * ~100×, which alone would hide the cost of the compressed bytes passing through Node.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { LocalCluster } from '../src/sources/postgres/local-cluster.js';

/** 20k documents per scale unit: the ratio of DESIGN.md's measurements (scale 100, 2M rows). */
export const DOCS_PER_SCALE = 20_000;

/**
 * Settings that only need a reload: bigger index builds and fewer checkpoints; no autovacuum noise.
 * The throwaway server also skips fsync: a restore writes about 2 GB, and on a shared virtual disk
 * the time to flush it varies by ±20% from run to run, which would swamp the few per cent this bench
 * compares. Both arms restore into the same server, so neither gains; Lifeboat's own fsyncs of the
 * backups it writes still run.
 */
export async function tuneForBulkLoad(cluster: LocalCluster): Promise<void> {
  await cluster.psql(
    [
      `alter system set fsync = off`,
      `alter system set full_page_writes = off`,
      `alter system set synchronous_commit = off`,
      `alter system set maintenance_work_mem = '512MB'`,
      `alter system set work_mem = '64MB'`,
      `alter system set max_wal_size = '8GB'`,
      `alter system set checkpoint_timeout = '30min'`,
      // Autovacuum waking up on a freshly restored database would land in the next timed run.
      `alter system set autovacuum = off`,
      `select pg_reload_conf()`,
    ].join(';\n') + ';',
  );
}

const DOCUMENTS_SQL = (rows: number) => `
create table documents (
  id bigint primary key,
  created_at timestamptz not null,
  doc jsonb not null
);
insert into documents
select g,
       timestamptz '2024-01-01' + g * interval '17 seconds',
       jsonb_build_object(
         'id', g,
         'title', 'Document ' || md5(g::text),
         'body', (select string_agg(md5((g * 31 + j)::text), ' ') from generate_series(1, 2 + g % 6) j),
         'score', round((random() * 1000)::numeric, 2),
         'active', g % 3 = 0,
         'tags', jsonb_build_array('t' || g % 50, 't' || g % 7, left(md5((g + 1)::text), 8)),
         'author', jsonb_build_object(
           'name', 'user_' || g % 10000,
           'email', 'user_' || g % 10000 || '@example.com',
           'address', jsonb_build_object('city', 'City ' || g % 300, 'zip', lpad((g % 99999)::text, 5, '0'))
         ),
         'items', (select jsonb_agg(jsonb_build_object(
                     'sku', left(md5((g * 10 + i)::text), 10),
                     'qty', (g + i) % 7 + 1,
                     'price', round((random() * 100)::numeric, 2)))
                   from generate_series(1, 1 + g % 5) i)
       )
  from generate_series(1, ${rows}) g;
create index documents_tags on documents using gin ((doc -> 'tags'));
create index documents_created_at on documents (created_at);
vacuum analyze documents;
`;

function pgbenchInit(cluster: LocalCluster, database: string, scale: number): Promise<void> {
  const pgbench = path.join(cluster.binDir, 'pgbench');
  const args = ['-i', '-q', '-s', String(scale), '--init-steps=dtGvp'];
  const conn = ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', database];
  return new Promise((resolve, reject) => {
    const child = spawn(pgbench, [...args, ...conn], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`pgbench -i exited ${code}: ${stderr.trim()}`)),
    );
  });
}

/** Creates `database` and fills it; pgbench and the documents load run side by side. Returns its size. */
export async function buildDatabase(cluster: LocalCluster, database: string, scale: number): Promise<number> {
  await cluster.psql(`create database "${database}"`);
  await Promise.all([
    pgbenchInit(cluster, database, scale),
    cluster.psql(DOCUMENTS_SQL(scale * DOCS_PER_SCALE), { database }),
  ]);
  await cluster.psql('checkpoint');
  return Number(await cluster.psql(`select pg_database_size('${database}')`));
}
