/**
 * What a drill restores a server-shaped source into: a scratch PostgreSQL server, and the promise
 * that it goes away afterwards. A kind's drill gets one from its context (`openScratch`); the
 * drill layer opens it as `drill.scratch` configures, either a local throwaway cluster
 * (drill/scratch-local.ts) or a configured server it borrows (drill/scratch-server.ts).
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
