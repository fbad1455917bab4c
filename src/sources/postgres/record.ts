/**
 * What a PostgreSQL source records in the manifest (its entry in `sources`), and the view of one
 * PostgreSQL source's part of a backup that its restore and drill read.
 */
import type { SourceBackup, SourceRecord } from '../../catalog/manifest.js';

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
