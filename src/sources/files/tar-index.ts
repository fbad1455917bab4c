/**
 * A streaming reader of a POSIX (pax/ustar) tar stream that turns it into the per-file index: one
 * entry per member with its path, type, size, mode, owner, mtime and, for regular files, the
 * SHA-256 of the bytes the archive holds. It keeps only the current header in memory, so memory
 * stays flat however many files or however large they are. GNU tar writes the archive; this only
 * reads it as it passes (backup) or as it is extracted (drill, verify).
 */
import { createHash, hash, type Hash } from 'node:crypto';
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
const EMPTY_SHA256 = createHash('sha256').digest('hex');

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '5': 'dir',
  '2': 'symlink',
  '1': 'hardlink',
  '6': 'fifo',
};

// The header fields are read in place, byte by byte: per member, slicing a Buffer and decoding a
// string for each field was most of the indexer's cost besides hashing (20,000 small files).

/** A NUL-terminated field of at most `len` bytes at `start`. */
function text(buf: Buffer, start: number, len: number): string {
  let end = start;
  const stop = start + len;
  while (end < stop && buf[end] !== 0) end++;
  return end === start ? '' : buf.toString('utf8', start, end);
}

function octal(buf: Buffer, start: number, len: number): number {
  // Base-256 (GNU) for values that do not fit in octal digits.
  if (buf[start]! & 0x80) {
    let n = 0;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + buf[i]!;
    return n;
  }
  // Octal digits, maybe after spaces, ended by a NUL or a space.
  let i = start;
  const stop = start + len;
  while (i < stop && buf[i] === 0x20) i++;
  let n = 0;
  for (; i < stop; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x37) break;
    n = n * 8 + (c - 0x30);
  }
  return n;
}

function zeroBlock(buf: Buffer, start: number): boolean {
  for (let i = start; i < start + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

/** pax extended header records in buf[start, end): "LEN key=value\n" … */
function parsePax(data: Buffer, start: number, end: number): Map<string, string> {
  const out = new Map<string, string>();
  let pos = start;
  while (pos < end) {
    let len = 0;
    let i = pos;
    for (; i < end && data[i]! >= 0x30 && data[i]! <= 0x39; i++) len = len * 10 + (data[i]! - 0x30);
    if (!len || data[i] !== 0x20) break;
    const recordEnd = Math.min(pos + len - 1, end);
    let eq = i + 1;
    while (eq < recordEnd && data[eq] !== 0x3d) eq++;
    if (eq > i + 1 && eq < recordEnd)
      out.set(data.toString('utf8', i + 1, eq), data.toString('utf8', eq + 1, recordEnd));
    pos += len;
  }
  return out;
}

interface Pending {
  entry: IndexEntry;
  remaining: number;
  padding: number;
  /** Regular files: their content is hashed. */
  file: boolean;
  /** Created once a file's content comes in more than one piece. */
  hash?: Hash;
  sha256?: string;
  /** Collects the body of a pax or GNU long-name header instead of hashing it. */
  meta?: { kind: string; chunks: Buffer[]; parsed?: boolean };
}

/**
 * Feed it the archive's bytes in order with `write`; it calls `onEntry` for each member. `end()`
 * checks that the archive ended cleanly (two zero blocks, no member cut short).
 */
export class TarIndexer {
  /** A header split across two writes, gathered here. */
  private readonly head = Buffer.alloc(BLOCK);
  private headLength = 0;
  private pending: Pending | undefined;
  private pax: Map<string, string> | undefined;
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
          if (p.meta) {
            // A pax or long-name body wholly in this chunk is parsed where it lies.
            if (n === p.remaining && p.meta.chunks.length === 0) {
              this.meta(p.meta.kind, chunk, pos, pos + n);
              p.meta.parsed = true;
            } else p.meta.chunks.push(Buffer.from(chunk.subarray(pos, pos + n)));
          } else if (p.file) {
            // A small file's content in one piece: one call instead of a Hash object.
            if (n === p.remaining && !p.hash) p.sha256 = hash('sha256', chunk.subarray(pos, pos + n), 'hex');
            else (p.hash ??= createHash('sha256')).update(chunk.subarray(pos, pos + n));
          }
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
      if (this.headLength === 0 && chunk.length - pos >= BLOCK) {
        this.header(chunk, pos);
        pos += BLOCK;
        continue;
      }
      const take = Math.min(BLOCK - this.headLength, chunk.length - pos);
      chunk.copy(this.head, this.headLength, pos, pos + take);
      this.headLength += take;
      pos += take;
      if (this.headLength === BLOCK) {
        this.headLength = 0;
        this.header(this.head, 0);
      }
    }
    if (this.pending && this.pending.remaining === 0 && this.pending.padding === 0) this.finish(this.pending);
  }

  /** The header block at buf[at, at + 512). */
  private header(buf: Buffer, at: number): void {
    if (zeroBlock(buf, at)) {
      this.ended = true;
      return;
    }
    const typeflag = String.fromCharCode(buf[at + 156]!);
    const size = octal(buf, at + 124, 12);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      const entry = { path: '', type: 'other', size, mode: '', uid: 0, gid: 0, mtime: 0 } as IndexEntry;
      this.pending = { entry, remaining: size, padding, file: false, meta: { kind: typeflag, chunks: [] } };
      return;
    }
    const pax = this.pax;
    let name = pax?.get('path') ?? this.longName;
    if (name === undefined) {
      const prefix = text(buf, at + 345, 155);
      name = prefix ? `${prefix}/${text(buf, at, 100)}` : text(buf, at, 100);
    }
    const paxSize = pax?.get('size');
    const uid = pax?.get('uid');
    const gid = pax?.get('gid');
    const mtime = pax?.get('mtime');
    const entry: IndexEntry = {
      path: name,
      type: TYPES[typeflag] ?? 'other',
      size: paxSize !== undefined ? Number(paxSize) : size,
      mode: (octal(buf, at + 100, 8) & 0o7777).toString(8).padStart(4, '0'),
      uid: uid !== undefined ? Number(uid) : octal(buf, at + 108, 8),
      gid: gid !== undefined ? Number(gid) : octal(buf, at + 116, 8),
      mtime: mtime !== undefined ? Math.floor(Number(mtime)) : octal(buf, at + 136, 12),
    };
    if (entry.type === 'symlink' || entry.type === 'hardlink')
      entry.link = pax?.get('linkpath') ?? this.longLink ?? text(buf, at + 157, 100);
    if (entry.type === 'dir') entry.path = entry.path.replace(/\/+$/, '');
    this.pax = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    this.onHeader?.(entry);
    const file = entry.type === 'file';
    const dataSize = file ? entry.size : size;
    this.pending = { entry, remaining: dataSize, padding: (BLOCK - (dataSize % BLOCK)) % BLOCK, file };
  }

  /** A pax or GNU long-name header's body, buf[start, end). */
  private meta(kind: string, buf: Buffer, start: number, end: number): void {
    if (kind === 'x') this.pax = parsePax(buf, start, end);
    else if (kind === 'L') this.longName = text(buf, start, end - start);
    else if (kind === 'K') this.longLink = text(buf, start, end - start);
  }

  private finish(p: Pending): void {
    this.pending = undefined;
    if (p.meta) {
      if (p.meta.parsed) return;
      const body = Buffer.concat(p.meta.chunks);
      this.meta(p.meta.kind, body, 0, body.length);
      return;
    }
    if (!p.file) return void this.onEntry(p.entry);
    p.entry.sha256 = p.sha256 ?? p.hash?.digest('hex') ?? EMPTY_SHA256;
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
