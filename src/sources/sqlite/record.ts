/** What an SQLite source records in the manifest, and its part of a backup as restore and drill read it. */
import type { SourceBackup, SourceRecord } from '../../catalog/manifest.js';

export interface SqliteSourceRecord extends SourceRecord {
  kind: 'sqlite';
  /** The files' names (each one artifact's `database`), in the order backed up. */
  databases: string[];
  /** Where each was read: name → absolute path. */
  files: Array<{ name: string; path: string }>;
}

export type SqliteBackup = SourceBackup<SqliteSourceRecord>;
