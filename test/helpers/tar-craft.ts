/**
 * Test helper: writes a ustar archive byte by byte, so a test can hand restore an archive GNU tar
 * would never write (absolute names, `..` components, a member under a symlink).
 */
export interface CraftedMember {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: string;
  /** Symlink or hard-link target. */
  link?: string;
}

const FLAG = { file: '0', dir: '5', symlink: '2', hardlink: '1' } as const;

function header(m: CraftedMember, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (text: string, at: number, len: number) => {
    if (Buffer.byteLength(text) > len) throw new Error(`${text}: longer than ${len} bytes`);
    h.write(text, at, len, 'utf8');
  };
  const octal = (n: number, at: number, len: number) => put(n.toString(8).padStart(len - 1, '0'), at, len);
  put(m.name, 0, 100);
  octal(m.type === 'dir' ? 0o755 : 0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(1_700_000_000, 136, 12);
  h.write(' '.repeat(8), 148, 8, 'latin1');
  put(FLAG[m.type], 156, 1);
  if (m.link) put(m.link, 157, 100);
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

export function craftTar(members: CraftedMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const body = Buffer.from(m.type === 'file' ? (m.content ?? '') : '');
    parts.push(header(m, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
