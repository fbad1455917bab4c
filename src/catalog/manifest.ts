/**
 * The backup manifest: versioned, self-describing JSON stored at `.lifeboat/{job}/{id}.json`
 * (SPEC §3). Writing it is the commit point of a backup; reading it is how every command learns
 * what a backup holds. Never holds a secret: no passwords, no keys.
 */
import { LifeboatError } from '../core/errors.js';

export const MANIFEST_FORMAT = 'lifeboat-manifest';
export const MANIFEST_VERSION = 1;

export type ArtifactRole = 'full' | 'globals' | 'database' | 'file';

export interface TableCount {
  schema: string;
  table: string;
  rows: number;
  /** true when counted with count(*) in the dump's snapshot, false when the planner's estimate. */
  exact: boolean;
}

export interface ArtifactRecord {
  key: string;
  role: ArtifactRole;
  /** The database this artifact holds (role 'database'). */
  database?: string;
  /** Stored bytes: what sha256sum -c checks. */
  size: number;
  sha256: string;
  /** The dump's bytes before compression/encryption, when Lifeboat saw them (see README). */
  raw?: { size: number; sha256: string };
  tables?: TableCount[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  id: string;
  job: string;
  source: {
    kind: 'postgres';
    host: string;
    port: number;
    user?: string;
    /** 'database': one pg_dump; 'databases': globals + one dump per database; 'dumpall': one pg_dumpall stream. */
    mode: 'database' | 'databases' | 'dumpall';
    databases: string[];
    serverVersion: string;
  };
  tool: { name: string; version: string };
  dumpFormat: 'plain' | 'custom';
  compression: { type: 'zstd' | 'gzip' | 'none'; level?: number };
  encryption: { recipients: string[] } | null;
  artifacts: ArtifactRecord[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  lifeboatVersion: string;
}

export function parseManifest(text: string, key: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new LifeboatError('integrity', `read manifest ${key}: not valid JSON`);
  }
  const m = data as Partial<Manifest>;
  if (
    m?.format !== MANIFEST_FORMAT ||
    typeof m.version !== 'number' ||
    !Array.isArray(m.artifacts) ||
    !m.id ||
    !m.job
  ) {
    throw new LifeboatError('integrity', `read manifest ${key}: not a Lifeboat manifest`);
  }
  if (m.version > MANIFEST_VERSION) {
    throw new LifeboatError(
      'usage',
      `read manifest ${key}: written by a newer Lifeboat (manifest version ${m.version})`,
      {
        hint: 'upgrade Lifeboat to read this backup',
      },
    );
  }
  return m as Manifest;
}

export function totalSize(m: Manifest): number {
  return m.artifacts.reduce((sum, a) => sum + a.size, 0);
}
