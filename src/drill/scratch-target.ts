/**
 * What a drill restores into: a scratch PostgreSQL server, of one of two kinds (a local throwaway
 * cluster, scratch-local.ts, or a configured server, scratch-server.ts). The rest of the drill only
 * sees this interface; scratch.ts picks the kind.
 */

export interface Scratch {
  readonly kind: 'local' | 'server';
  /** For reports and logs: never a password. */
  readonly where: string;
  readonly serverVersion: string;
  /** URL of `database` on the scratch server. */
  url(database: string): string;
  /**
   * Called once before restoring: the databases the restore is about to create. A disposable
   * server drops same-named ones first; every kind removes them in dispose().
   */
  prepare(databases: string[]): Promise<void>;
  /** Removes everything the drill created. Never throws: returns what it could not undo. Idempotent. */
  dispose(): Promise<string[]>;
}
