/**
 * A local throwaway cluster as a drill's scratch server: initdb in a temp dir, PostgreSQL of at
 * least the backup's major version, listening on a Unix socket only. The socket sits in the
 * cluster's own 0700 temp dir, so only this user (and root) can reach the restored production data
 * while the drill runs; with TCP on 127.0.0.1 and trust auth, any local user could.
 */
import { startLocalCluster } from '../sources/postgres/local-cluster.js';
import { oneLine } from '../util/errors.js';
import type { Scratch } from '../sources/drill-scratch.js';

export async function startLocalScratch(opts: {
  minMajor: number;
  binDir?: string;
  log?: (line: string) => void;
}): Promise<Scratch> {
  const cluster = await startLocalCluster({
    minMajor: opts.minMajor,
    binDir: opts.binDir,
    listen: 'socket',
    // Named lifeboat-pg-drill-{pid}-…: the pid tells whose scratch cluster it is.
    name: 'drill',
  });
  opts.log?.(`scratch: local PostgreSQL ${cluster.version} in ${cluster.dataDir} (socket only)`);
  // libpq and node-postgres both take a %-encoded socket directory as the URL's host.
  const base = `postgres://${cluster.user}@${encodeURIComponent(cluster.socketDir)}:${cluster.port}`;
  return {
    kind: 'local',
    where: `local PostgreSQL ${cluster.version} (socket only)`,
    serverVersion: cluster.version,
    url: (database) => `${base}/${encodeURIComponent(database)}`,
    // A fresh cluster holds nothing to make room for, and stop() removes everything at once.
    prepare: async () => {},
    dispose: async () => {
      try {
        await cluster.stop();
        return [];
      } catch (err) {
        return [`stop scratch cluster in ${cluster.dataDir}: ${oneLine(err)}`];
      }
    },
  };
}
