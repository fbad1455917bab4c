/**
 * What a files restore refuses to hand to tar (SPEC §5: "never writes outside DIR"): a member with
 * an absolute path or a `..` component, a hard link to such a path, and any member that lies under
 * a symlink the same archive created earlier (extracting `evil/x` after `evil -> /etc` would write
 * wherever the link points). A symlink that merely points outside is kept: backups of real trees
 * hold them (`/etc/localtime`), and restoring one writes nothing through it. Checked on each
 * header before its bytes reach tar; GNU tar's own protections stay on behind it.
 */
import type { IndexEntry } from './tar-index.js';

/** Why a member name or hard-link target must not be extracted, or undefined. */
export function unsafeMember(name: string): string | undefined {
  if (name.startsWith('/')) return 'an absolute path';
  if (name.split('/').includes('..')) return 'a .. component';
  return undefined;
}

/** The member's path as tar resolves it below the target: no `.` or empty components. */
function components(name: string): string[] {
  return name.split('/').filter((c) => c !== '' && c !== '.');
}

export class MemberGuard {
  /** Paths of the symlinks extracted so far (memory grows with symlinks, never with files). */
  private readonly links = new Set<string>();

  /** Why `e` must not be extracted, or undefined (then it is remembered if it is a symlink). */
  check(e: IndexEntry): string | undefined {
    const why = unsafeMember(e.path) ?? (e.type === 'hardlink' && e.link ? unsafeMember(e.link) : undefined);
    if (why) return why;
    const under =
      this.underLink(e.path) ?? (e.type === 'hardlink' && e.link ? this.underLink(e.link) : undefined);
    if (under) return `it lies under the symlink ${JSON.stringify(under)} extracted before it`;
    if (e.type === 'symlink') this.links.add(components(e.path).join('/'));
    return undefined;
  }

  private underLink(name: string): string | undefined {
    const parts = components(name);
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.links.has(prefix)) return prefix;
    }
    return undefined;
  }
}
