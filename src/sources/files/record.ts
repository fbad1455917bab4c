/** What a files source records in the manifest, and its part of a backup as restore and drill read it. */
import type { SourceBackup, SourceRecord } from '../../catalog/manifest.js';

export interface FilesSourceRecord extends SourceRecord {
  kind: 'files';
  paths: string[];
  exclude: string[];
  /** Members archived and bytes of file content (set when the archive is written). */
  entries?: number;
  bytes?: number;
  /** Files that changed, vanished or could not be read while archived. */
  warnings?: string[];
  /** Sockets and devices skipped. */
  notes?: string[];
}

export type FilesBackup = SourceBackup<FilesSourceRecord>;
