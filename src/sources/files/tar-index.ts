/**
 * A streaming reader of a POSIX (pax/ustar) tar stream that turns it into the per-file index: one
 * entry per member with its path, type, size, mode, owner, mtime and, for regular files, the
 * SHA-256 of the bytes the archive holds. It keeps only the current header in memory, so memory
 * stays flat however many files or however large they are. GNU tar writes the archive; this only
 * reads it as it passes (backup) or as it is extracted (drill, verify).
 */
import { createHash, type Hash } from 'node:crypto';
import { LifeboatError } from '../../util/errors.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'other';

export interface IndexEntry {
  path: string;
  type: EntryType;
  size: number;
  /** Permission bits, as octal text: "0644". */
  mode: string;
  uid: number;
  gid: number;
  mtime: number;
  /** Regular files: SHA-256 of the content. */
  sha256?: string;
  /** Symlinks and hard links: the target. */
  link?: string;
}

const BLOCK = 512;

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '5': 'dir',
  '2': 'symlink',
  '1': 'hardlink',
  '6': 'fifo',
};

function text(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const end = slice.indexOf(0);
  return slice.subarray(0, end === -1 ? len : end).toString('utf8');
}

function octal(buf: Buffer, start: number, len: number): number {
  // Base-256 (GNU) for values that do not fit in octal digits.
  if (buf[start]! & 0x80) {
    let n = 0;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + buf[i]!;
    return n;
  }
  const t = text(buf, start, len).trim();
  return t ? parseInt(t, 8) : 0;
}

/** pax extended header records: "LEN key=value\n" … */
function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!len) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

interface Pending {
  entry: IndexEntry;
  remaining: number;
  padding: number;
  hash?: Hash;
  /** Collects the body of a pax or GNU long-name header instead of hashing it. */
  meta?: { kind: string; chunks: Buffer[] };
}

/**
 * Feed it the archive's bytes in order with `write`; it calls `onEntry` for each member. `end()`
 * checks that the archive ended cleanly (two zero blocks, no member cut short).
 */
export class TarIndexer {
  private head = Buffer.alloc(0);
  private pending: Pending | undefined;
  private pax = new Map<string, string>();
  private longName: string | undefined;
  private longLink: string | undefined;
  private ended = false;
  bytes = 0;

  /**
   * `onEntry` hears of each member once its content went by (with its SHA-256); `onHeader` as soon
   * as its header has, before any of its content: a restore refuses a member there, before tar
   * has been handed a byte of it.
   */
  constructor(
    private readonly onEntry: (entry: IndexEntry) => void,
    private readonly onHeader?: (entry: IndexEntry) => void,
  ) {}

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      const p = this.pending;
      if (p) {
        if (p.remaining > 0) {
          const n = Math.min(p.remaining, chunk.length - pos);
          const part = chunk.subarray(pos, pos + n);
          if (p.meta) p.meta.chunks.push(Buffer.from(part));
          else p.hash?.update(part);
          p.remaining -= n;
          pos += n;
          continue;
        }
        if (p.padding > 0) {
          const n = Math.min(p.padding, chunk.length - pos);
          p.padding -= n;
          pos += n;
          continue;
        }
        this.finish(p);
        continue;
      }
      if (this.ended) return; // zero blocks after the end marker
      const need = BLOCK - this.head.length;
      const take = chunk.subarray(pos, pos + need);
      this.head = this.head.length ? Buffer.concat([this.head, take]) : Buffer.from(take);
      pos += take.length;
      if (this.head.length === BLOCK) {
        const block = this.head;
        this.head = Buffer.alloc(0);
        this.header(block);
      }
    }
    if (this.pending && this.pending.remaining === 0 && this.pending.padding === 0) this.finish(this.pending);
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      this.ended = true;
      return;
    }
    const typeflag = String.fromCharCode(block[156]!);
    const size = octal(block, 124, 12);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      const entry = { path: '', type: 'other', size, mode: '', uid: 0, gid: 0, mtime: 0 } as IndexEntry;
      this.pending = { entry, remaining: size, padding, meta: { kind: typeflag, chunks: [] } };
      return;
    }
    const prefix = text(block, 345, 155);
    const name = text(block, 0, 100);
    const pax = this.pax;
    const entry: IndexEntry = {
      path: pax.get('path') ?? this.longName ?? (prefix ? `${prefix}/${name}` : name),
      type: TYPES[typeflag] ?? 'other',
      size: pax.has('size') ? Number(pax.get('size')) : size,
      mode: (octal(block, 100, 8) & 0o7777).toString(8).padStart(4, '0'),
      uid: pax.has('uid') ? Number(pax.get('uid')) : octal(block, 108, 8),
      gid: pax.has('gid') ? Number(pax.get('gid')) : octal(block, 116, 8),
      mtime: pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : octal(block, 136, 12),
    };
    const link = pax.get('linkpath') ?? this.longLink ?? text(block, 157, 100);
    if (entry.type === 'symlink' || entry.type === 'hardlink') entry.link = link;
    if (entry.type === 'dir') entry.path = entry.path.replace(/\/+$/, '');
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    this.onHeader?.(entry);
    const dataSize = entry.type === 'file' ? entry.size : size;
    this.pending = {
      entry,
      remaining: dataSize,
      padding: (BLOCK - (dataSize % BLOCK)) % BLOCK,
      hash: entry.type === 'file' ? createHash('sha256') : undefined,
    };
  }

  private finish(p: Pending): void {
    this.pending = undefined;
    if (p.meta) {
      const body = Buffer.concat(p.meta.chunks);
      if (p.meta.kind === 'x') this.pax = parsePax(body);
      else if (p.meta.kind === 'L') this.longName = text(body, 0, body.length);
      else if (p.meta.kind === 'K') this.longLink = text(body, 0, body.length);
      return;
    }
    if (p.hash) p.entry.sha256 = p.hash.digest('hex');
    this.onEntry(p.entry);
  }

  /** true once the end-of-archive marker went by (what follows is padding). */
  get complete(): boolean {
    return this.ended;
  }

  /** Throws when the archive stopped before its end marker or inside a member. */
  end(what: string): void {
    if (this.pending && (this.pending.remaining > 0 || this.pending.padding > 0))
      throw new LifeboatError(
        'integrity',
        `${what}: the archive ends inside ${this.pending.entry.path || 'a header'}`,
      );
    if (this.pending) this.finish(this.pending);
    if (!this.ended) throw new LifeboatError('integrity', `${what}: the archive has no end marker`);
  }
}
