/**
 * The backup manifest: versioned, self-describing JSON stored at `.lifeboat/{job}/{id}.json`
 * (SPEC §3). Writing it is the commit point of a backup; reading it is how every command learns
 * what a backup holds. Never holds a secret: no passwords, no keys.
 */
import { LifeboatError } from '../util/errors.js';

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
  /**
   * Roles a database dump names without creating them (owners and grantees; names only, never a
   * password). Absent in backups made before Lifeboat recorded them.
   */
  roles?: string[];
}

/** A database the run planned to dump but found dropped when its turn came. */
export interface MissingDatabase {
  database: string;
  /** Why its dump failed, one line. */
  error: string;
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
  /** Set by a run that backed up some databases but not all: not a good backup for retention. */
  partial?: boolean;
  /** The databases a partial run could not back up, and why. */
  missing?: MissingDatabase[];
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
  const problem = manifestProblem(m as Manifest);
  if (problem) throw new LifeboatError('integrity', `read manifest ${key}: ${problem}`);
  return m as Manifest;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Why a manifest that parsed cannot describe a backup, or undefined. Every command relies on these
 * fields (restore reads the artifacts, retention the start time, prune deletes the keys), so a
 * manifest failing here is invalid: listed as such and never restored, counted or pruned.
 */
function manifestProblem(m: Manifest): string | undefined {
  if (typeof m.id !== 'string' || typeof m.job !== 'string') return 'id and job must be strings';
  // No artifacts: nothing to restore, so not a backup (it must never fill a retention slot).
  if (m.artifacts.length === 0) return 'it lists no artifacts, so it is not a backup';
  for (const a of m.artifacts as unknown[]) {
    const r = a as Partial<ArtifactRecord> | null;
    const where = `artifact ${JSON.stringify(typeof r?.key === 'string' ? r.key : a)}`;
    if (typeof r?.key !== 'string' || !isArtifactKey(r.key)) return `${where}: not a valid object key`;
    if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0)
      return `${where}: size must be a whole number`;
    if (typeof r.sha256 !== 'string' || !SHA256.test(r.sha256))
      return `${where}: sha256 must be 64 hex digits`;
  }
  if (typeof m.startedAt !== 'string' || Number.isNaN(Date.parse(m.startedAt)))
    return `startedAt ${JSON.stringify(m.startedAt)} is not a time`;
  if (m.partial !== undefined && typeof m.partial !== 'boolean') return 'partial must be true or false';
  return undefined;
}

/** A relative key outside the catalog: a manifest must never make prune delete another manifest. */
function isArtifactKey(key: string): boolean {
  const parts = key.split('/');
  return (
    key !== '' &&
    !key.startsWith('/') &&
    !key.startsWith('.lifeboat/') &&
    !parts.some((p) => p === '' || p === '.' || p === '..')
  );
}

/** Every role the backup's dumps name; tolerant of manifests without the field or with a malformed one. */
export function referencedRoles(m: Manifest): string[] {
  const names = new Set<string>();
  for (const a of m.artifacts) {
    if (!Array.isArray(a.roles)) continue;
    for (const r of a.roles) if (typeof r === 'string' && r) names.add(r);
  }
  return [...names].sort();
}

/** A backup some planned database is missing from. Absent fields (older manifests) mean complete. */
export function isPartial(m: Pick<Manifest, 'partial' | 'missing'>): boolean {
  return m.partial === true || (Array.isArray(m.missing) && m.missing.length > 0);
}

export function totalSize(m: Manifest): number {
  return m.artifacts.reduce((sum, a) => sum + a.size, 0);
}
