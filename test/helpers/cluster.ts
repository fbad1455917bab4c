/**
 * Test helper: a throwaway PostgreSQL cluster tied to the life of a test or a suite. The cluster is
 * stopped and its temp dir removed by an `after` hook, so it goes away when the test fails too.
 *
 *   test('…', async (t) => { const pg = await withCluster(t); … });
 *   import { after } from 'node:test';  const pg = await withCluster({ after });  // whole file
 */
import {
  startLocalCluster,
  stopAllLocalClusters,
  type LocalCluster,
  type StartOptions,
} from '../../src/sources/postgres/local-cluster.js';

/** Anything with an `after` hook: a TestContext, a SuiteContext's hooks, or `{ after }` from node:test. */
export interface HasAfterHook {
  after(fn: () => unknown): void;
}

export async function withCluster(t: HasAfterHook, opts: StartOptions = {}): Promise<LocalCluster> {
  cleanUpOnSignals();
  const cluster = await startLocalCluster(opts);
  // Zero-argument arrow: node:test treats a hook that declares a parameter as callback-style.
  t.after(() => cluster.stop());
  return cluster;
}

let signalHooksInstalled = false;

/**
 * A test file killed by the runner (timeout, Ctrl-C) never runs its `after` hooks, and the servers
 * would outlive it: pg_ctl detaches them. On SIGINT/SIGTERM, stop them first, then exit as the
 * signal would have. ('exit' handlers can't wait for that, so there is no 'exit' hook.)
 */
function cleanUpOnSignals(): void {
  if (signalHooksInstalled) return;
  signalHooksInstalled = true;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      void stopAllLocalClusters().finally(() => process.exit(code));
    });
  }
}
