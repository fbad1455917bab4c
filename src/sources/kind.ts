/**
 * A source kind as a plug-in: everything the rest of Lifeboat needs to know about one `type:` of
 * source, so that nothing else asks "is this PostgreSQL?". Each kind lives in its own folder
 * (sources/<kind>/) and is listed once in sources/registry.ts.
 */
import type { z } from 'zod';
import type { CheckResult, DrillReport, DrillStage } from '../catalog/drill-report.js';
import type { SourceBackup, TableCount } from '../catalog/manifest.js';
import type { CodecKeys } from '../codecs/chain.js';
import type { Storage } from '../storages/storage.js';
import type { Scratch } from './drill-scratch.js';
import type { Source } from './source.js';

/** What `lifeboat restore --source NAME --to …` asks of a kind (its checksums already verified). */
export interface SourceRestoreOptions {
  /** The target: a URL, a path or a directory, as the kind restores to. */
  to: string;
  clean?: boolean;
  create?: boolean;
  force?: boolean;
  /**
   * Create the roles a single-database backup names (owners, grantees) that the target lacks,
   * NOLOGIN. Without it, missing roles stop the restore before anything changes.
   */
  createRoles?: boolean;
  /** Only what matches these globs (a files or bucket source's paths or keys). */
  paths?: string[];
  /** The source's config block in the job, when a config names it (a bucket restore's connection). */
  config?: unknown;
  /**
   * `--to NAME` named a storage of the config: its name and config block (a bucket source restores
   * into an `s3` storage's bucket and prefix, or a `local` storage's directory). Kinds that restore
   * elsewhere ignore it.
   */
  toStorage?: { name: string; config: unknown };
  /** Parallel jobs (pg_restore of a custom-format dump). */
  jobs?: number;
  binDir?: string;
  /** The caller has verified the checksums, so the bytes are not read twice. */
  verified?: boolean;
  /**
   * Checks the stored bytes of the part (checksums; an encrypted one also decrypted once,
   * discarding) and throws an integrity error naming every bad object. A kind's restore calls it
   * once, before it changes anything on the target, at the point it chooses (after its own
   * refusals, or alongside read-only target checks). Core's restore supplies it (at once settled
   * when `verified`) and refuses a restore that never called it; a drill, which verified the whole
   * backup first, passes none.
   */
  verify?: () => Promise<void>;
  /** What decrypting needs (the age identity file; else LIFEBOAT_AGE_IDENTITY_FILE). */
  keys?: CodecKeys;
  /**
   * The manifest's signature was checked in this run: its sha256 values are authentic, so an
   * encrypted artifact is decrypted once, as it is restored (core/verify.ts, verifyBeforeRestore).
   */
  signed?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onBytes?: (key: string, read: number) => void;
  /** A kubernetes source restored into a cluster (`--to-cluster`), by server-side apply. */
  cluster?: ClusterRestoreOptions;
}

export interface ClusterRestoreOptions {
  /** A kubeconfig file and context; else KUBECONFIG, ~/.kube/config or the pod's service account. */
  kubeconfig?: string;
  context?: string;
  /** Backed-up namespace → namespace restored into. */
  namespaceMap?: Record<string, string>;
  /** Server-side dry run (`dryRun=All`): validated by the server, nothing stored. */
  dryRun?: boolean;
}

/** What a restore into a cluster did, per kind (`ConfigMap`, `Deployment.apps`). */
export interface ClusterRestoreSummary {
  server: string;
  context: string;
  dryRun: boolean;
  perKind: Record<string, { created: number; unchanged: number; conflicting: number }>;
  /** `namespace/Kind/name` of every object that differed (overwritten: the restore was forced). */
  conflicts: string[];
  namespacesCreated: string[];
}

export interface SourceRestoreResult {
  /** The databases the restore put in place (none for a files source). */
  databases: string[];
  /** Roles created on the target (--create-roles). */
  createdRoles: string[];
  durationMs: number;
  /** Stored bytes read. */
  bytes: number;
  /** A restore into a cluster: what it created, left alone and overwrote. */
  cluster?: ClusterRestoreSummary;
  /** File-shaped kinds: what was written (database files, or the directory). */
  written?: string[];
  /** SQLite: the row counts of each restored database, by its name. */
  tables?: Record<string, TableCount[]>;
  /** Files: the archive members extracted. */
  entries?: number;
}

/** What `lifeboat verify` gives a kind that checks more than the manifest's checksums cover. */
export interface SourceVerifyOptions {
  /** `--deep`: read content back, not only what a listing shows. */
  deep: boolean;
  /** What decrypting needs; without it a kind checks what it can and says what it could not. */
  keys?: CodecKeys;
  /**
   * Shared by every call of one verify run (every backup, every storage): a kind keeps here what
   * it read once per run, such as a listing of blobs that many backups share.
   */
  memo: Map<string, unknown>;
  signal: AbortSignal;
}

export interface SourceVerifyResult {
  /** Each bad object, named by its storage key. */
  problems: Array<{ key: string; problem: 'missing' | 'size' | 'sha256' | 'content'; detail: string }>;
  /** What could not be checked, and why (not a failure). */
  warnings: string[];
  /** What was proven, one phrase ("bucket main: 1043 blob(s) present"). */
  proven?: string;
}

/** What a drill needs of a source's config: its URL and tool directory, and what else its kind reads. */
export interface DrillSettings {
  url?: string;
  binDir?: string;
  [field: string]: unknown;
}

/** What a drill gives a kind for one source of the backup (checksums already verified). */
export interface SourceDrillContext {
  storage: Storage;
  part: SourceBackup;
  /** The job's drill settings as configured; `checks` only those for this source. */
  drill?: {
    checks: Array<{ name: string; database?: string; sql: string; expect: string }>;
    /** The databases a restored PostgreSQL copy must hold (default: those restored). */
    expect?: { databases?: string[] };
    /** Roles to create on a scratch server before restoring a backup that carries none. */
    scratch?: { roles?: string[] };
    [field: string]: unknown;
  };
  /** The source's URL: a scratch target must never be it. Never connected to. */
  sourceUrl?: string;
  binDir?: string;
  /** What the kind's drillSettings gave for the source (absent when the job's config is unknown). */
  settings?: DrillSettings;
  /** What decrypting an encrypted backup needs (the age identity file). */
  keys?: CodecKeys;
  /** Holds a user check's value to its `expect` (the drill's expectation language). */
  judge(expect: string, value: string | null): { ok: boolean; expected: string; detail?: string };
  /**
   * Holds a table's row count in the restored copy (undefined: the table is missing) to what the
   * backup recorded: exact counts exactly, estimates within the job's drill.rowCountTolerance.
   */
  judgeRows(
    recorded: TableCount,
    actual: number | undefined,
  ): { ok: boolean; expected: string; actual: string; detail?: string };
  /**
   * Opens the scratch PostgreSQL server this source is restored into, as drill.scratch configures
   * it (a local throwaway cluster, or a configured server that is not the source's). The kind
   * disposes of it.
   */
  openScratch(part: SourceBackup): Promise<Scratch>;
  signal: AbortSignal;
  log: (line: string) => void;
  warn: (line: string) => void;
}

/** How a kind's drill of one source went; never thrown: `error` says what stopped it. */
export interface SourceDrillResult {
  /** Where it stopped (`checks` when it got through). */
  stage: DrillStage;
  scratch: DrillReport['scratch'];
  checks: CheckResult[];
  bytes: number;
  restored: boolean;
  /** What stopped it (a failed restore, an unreachable scratch server …). */
  error?: unknown;
  /** What the operator can do about `error`, when the kind knows better than the error itself. */
  hint?: string;
  /** What could not be removed from the scratch target. */
  cleanup: string[];
  timings: { scratchMs: number; restoreMs: number; checksMs: number };
}

/** What `lifeboat verify --deep` gives a kind that checks its artifacts' decoded content itself. */
export interface SourceContentOptions {
  /** What decrypting needs (the age identity file; else LIFEBOAT_AGE_IDENTITY_FILE). */
  keys?: CodecKeys;
  signal: AbortSignal;
}

export interface SourceContentResult {
  /** Each artifact whose content is wrong, named by its storage key. */
  problems: Array<{ key: string; problem: 'content'; detail: string }>;
  /** What was proven, one phrase: "files main: 52 members match the index". */
  proven?: string;
}

export interface SourceKind<C extends { type: string } = { type: string }> {
  /** The `type:` a job's source names. */
  readonly type: C['type'];
  /** Its config block (a zod object with `type: z.literal(type)`); errors name the field's path. */
  readonly schema: z.ZodType<C>;
  /**
   * What the schema cannot say (fields that exclude each other), thrown as a config error naming
   * `where` (e.g. `jobs.app.source`). Runs where the source is built, as `check` and backups do.
   */
  validate?(cfg: C, where: string): void;
  /**
   * Whether a drill runs the job's SQL checks (`drill.checks`) against the restored copy. A check
   * naming a source of another kind is a config error: it could only ever fail.
   */
  readonly runsSqlChecks?: boolean;
  /**
   * Whether `restore --to` names a file or directory that the restore writes (sqlite, files): the
   * CLI then prints what was written there.
   */
  readonly restoresToPath?: boolean;
  /** The source a backup run plans and dumps. */
  create(cfg: C): Source;
  /** For `lifeboat serve`: the cheapest proof that the source answers. None: not reported. */
  probe?(cfg: C): (signal: AbortSignal) => Promise<void>;
  /** What a drill needs of the source: its URL (refused as a scratch server) and tool directory. */
  drillSettings?(cfg: C): DrillSettings;
  /**
   * Why the source holds secrets by its nature (a kubernetes source listing `Secret`), or
   * undefined: then, as for `sensitive: true`, its job must encrypt unless `allowPlaintext`.
   */
  holdsSecrets?(cfg: C): string | undefined;
  /** Secrets in the config block (e.g. a URL's password), masked in every line Lifeboat prints. */
  secretUrls?(cfg: C): string[];
  /** Plain secrets in the config block (an S3 secret key), masked the same way. */
  secrets?(cfg: C): Array<string | undefined>;
  /**
   * Restores the kind's part of a backup (`restore --source`); core/restore-source.ts dispatches
   * here. None: its backups are listed and verified, and restore refuses them in one line.
   */
  restore?(storage: Storage, part: SourceBackup, opts: SourceRestoreOptions): Promise<SourceRestoreResult>;
  /**
   * What `lifeboat verify` checks beyond the manifest's checksums, once those passed: objects the
   * kind stores outside its artifacts (a bucket source's blobs, named by its index). None: the
   * checksums are the whole check.
   */
  verify?(storage: Storage, part: SourceBackup, opts: SourceVerifyOptions): Promise<SourceVerifyResult>;
  /**
   * `lifeboat verify --deep`: checks the content its artifacts decode to (a files archive against
   * its index, an SQLite database by integrity_check and row counts); core/verify-deep.ts
   * dispatches here. None: every artifact must decode to its end (frame checksums, age's MACs). An
   * integrity error thrown is a finding on the part's first artifact.
   */
  verifyContent?(
    storage: Storage,
    part: SourceBackup,
    opts: SourceContentOptions,
  ): Promise<SourceContentResult>;
  /**
   * Restores the kind's part into scratch and checks it (SPEC §5, "drill proves"); drill/run.ts
   * dispatches here after verifying the whole backup. None: drills refuse it in one line.
   */
  drill?(ctx: SourceDrillContext): Promise<SourceDrillResult>;
}
