/** What a bucket source records in the manifest, and its part of a backup as restore and drill read it. */
import type { SourceBackup, SourceRecord } from '../../catalog/manifest.js';

export interface BucketSourceRecord extends SourceRecord {
  kind: 'bucket';
  /** Where the objects came from (never credentials). */
  endpoint?: string;
  bucket: string;
  prefix: string;
  exclude: string[];
  /** Set when the index is written: objects in the snapshot and their bytes. */
  objects?: number;
  bytes?: number;
  /** Objects whose content was read from the bucket (new or changed since the previous backup). */
  read?: number;
  readBytes?: number;
  /** Blobs this run stored (content no storage held yet), and their raw bytes. */
  stored?: number;
  storedBytes?: number;
  /** The backup whose index told which objects were unchanged (none: every object was read). */
  previous?: string;
  /** Objects listed but gone (or changed to gone) when read: not in the snapshot. */
  skipped?: string[];
}

export type BucketBackup = SourceBackup<BucketSourceRecord>;
