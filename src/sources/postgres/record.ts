/**
 * What a PostgreSQL source records in the manifest (its entry in `sources`), and the view of one
 * PostgreSQL source's part of a backup that its restore and drill read.
 */
import { chooseSource, type Manifest, type SourceBackup, type SourceRecord } from '../../catalog/manifest.js';
import { LifeboatError } from '../../util/errors.js';

export interface PostgresSourceRecord extends SourceRecord {
  kind: 'postgres';
  host: string;
  port: number;
  user?: string;
  /** 'database': one pg_dump; 'databases': globals + one dump per database; 'dumpall': one pg_dumpall stream. */
  mode: 'database' | 'databases' | 'dumpall';
  databases: string[];
  serverVersion: string;
  dumpFormat: 'plain' | 'custom';
}

export type PostgresBackup = SourceBackup<PostgresSourceRecord>;

/** The PostgreSQL part of a backup, or undefined when that source is of another kind. */
export function asPostgresBackup(part: SourceBackup | undefined): PostgresBackup | undefined {
  return part?.source.kind === 'postgres' ? (part as PostgresBackup) : undefined;
}

/**
 * The PostgreSQL source a restore reads: the one named, else the backup's only one. Refuses a
 * source of another kind.
 */
export function postgresPart(m: Manifest, name?: string): PostgresBackup {
  const part = chooseSource(m, name);
  const pg = asPostgresBackup(part);
  if (!pg)
    throw new LifeboatError(
      'usage',
      `restore ${m.job} ${m.id}: source ${part.name} is a ${part.source.kind} source, not PostgreSQL`,
    );
  return pg;
}
