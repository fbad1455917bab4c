/**
 * The Source interface: something that can be turned into one or more dump streams. A source first
 * plans a run (discovers databases, picks tools, checks versions) so that every "cannot work"
 * problem surfaces before any byte is written; then each planned artifact is opened in turn.
 */
import type { Readable } from 'node:stream';
import type { ArtifactRole, SourceRecord, TableCount } from '../catalog/manifest.js';
import type { CodecKeys, CodecSettings } from '../codecs/chain.js';
import type { Storage } from '../storages/storage.js';

/** One artifact's raw dump bytes as a source produces them; core/write-artifact.ts stores them. */
export interface DumpStream {
  /** The raw dump bytes. */
  stream: Readable;
  /** true when `stream` is a child's stdout that can be handed to the first codec as an OS pipe. */
  osPipe: boolean;
  /**
   * An open file descriptor holding the same bytes as `stream` (a regular file at offset 0, or a
   * FIFO's read end): the first codec reads it as its stdin, so the bytes do not pass through
   * Lifeboat's streams (a 1 GB SQLite copy was ~2 s of Lifeboat's CPU that way). `stream` is then
   * destroyed unread, which closes it.
   */
  fd?: number;
  /** Settles when the producer is finished; rejects if it failed. */
  done: Promise<void>;
  /** Size and SHA-256 of the raw bytes, when they passed through Lifeboat. */
  raw?: () => { size: number; sha256: string };
}

export interface PlannedArtifact {
  role: ArtifactRole;
  database?: string;
  /** The default base-name template before extensions: `full`, `globals`, `{db}`. */
  baseName: string;
  /** Its own file extension when it differs from the plan's (a files source's `.index.jsonl`). */
  extension?: string;
  /** Starts the dump. Called once; the stream's `done` settles when the producer exits. */
  open(signal: AbortSignal): Promise<DumpStream>;
  /**
   * After the dump failed: true when its database no longer exists (dropped during the run), so
   * the backup goes on without it. Resolves false when that cannot be told.
   */
  vanished?(signal: AbortSignal): Promise<boolean>;
  /** Row counts recorded while the dump ran (available after `done`). */
  tables?(): TableCount[] | undefined;
  /** Roles the dump names without creating them (available after `done`). */
  roles?(): string[] | undefined;
  /** What the run should warn about though the dump succeeded (files changed while read). */
  warnings?(): string[];
}

export interface SourcePlan {
  /** What the manifest records for the source: kind, identity (host, databases …), client tool. */
  record: SourceRecord;
  /** The dumps' own file extension, before compression and encryption: `.sql`, `.dump`. */
  extension: string;
  artifacts: PlannedArtifact[];
  /** One line for `lifeboat check`: what was reached, e.g. server version, databases, client tool. */
  summary: string;
}

/**
 * What a backup run tells a source about itself: a kind that stores more than its artifacts (a
 * bucket source's content-addressed blobs) writes to the job's storages through the job's codecs,
 * and reads its previous backup. `check` plans without it.
 */
export interface PlanContext {
  job: string;
  /** The source's name in the job (`main` for `source:`). */
  source: string;
  storages: Storage[];
  codecs: CodecSettings;
  /** What decoding the job's earlier backups needs (the age identity), when configured. */
  keys?: CodecKeys;
  /** Lines worth a warning that do not fail the run. */
  warn?: (line: string) => void;
}

export interface Source {
  /** Safe to print: host, port and database, never a password. */
  readonly description: string;
  plan(signal: AbortSignal, ctx?: PlanContext): Promise<SourcePlan>;
  /**
   * For `lifeboat check`: what the source's credentials lack for the planned dumps, one phrase
   * each (empty when nothing), and who they are.
   */
  missingPrivileges?(plan: SourcePlan, signal: AbortSignal): Promise<{ role: string; missing: string[] }>;
}
