/**
 * Every kind of drill scratch target runs the shared conformance suite
 * (test/helpers/scratch-conformance.ts): a local throwaway cluster, and a configured server used
 * plainly (it must be empty) or as disposable.
 */
import { after } from 'node:test';

import type { PostgresBackup } from '../src/sources/postgres/record.js';
import { startLocalScratch } from '../src/drill/scratch-local.js';
import { openServerScratch } from '../src/drill/scratch-server.js';
import { withCluster } from './helpers/cluster.js';
import { scratchConformance } from './helpers/scratch-conformance.js';

const MIN_MAJOR = 14;
const PASSWORD = 'scratch-Pw-s3cr3t';

// What openServerScratch reads of the backup: its job and its source server (never the scratch one).
const manifest = {
  job: 'app',
  source: { kind: 'postgres', host: 'db.example', port: 5432, serverVersion: `${MIN_MAJOR}.0` },
} as unknown as PostgresBackup;

scratchConformance('local', {
  minMajor: MIN_MAJOR,
  open: () => startLocalScratch({ minMajor: MIN_MAJOR }),
});

// One configured server for both server variants; every test leaves it empty again.
const server = withCluster({ after }).then(async (pg) => {
  await pg.psql(`create role scratch login superuser password '${PASSWORD}'`);
  return `postgres://scratch:${PASSWORD}@127.0.0.1:${pg.port}/postgres`;
});

for (const disposable of [false, true]) {
  scratchConformance(disposable ? 'server (disposable)' : 'server', {
    minMajor: MIN_MAJOR,
    secrets: [PASSWORD],
    open: async () => openServerScratch({ url: await server, disposable, minMajor: MIN_MAJOR, manifest }),
  });
}
