/**
 * Where artifacts go: backup ids, the folder template (`layout`) and the base-name template
 * (`name`), and the file extensions for format, compression and encryption (SPEC §3).
 */
import { LifeboatError } from '../util/errors.js';

export const DEFAULT_LAYOUT = '{job}/{yyyy}/{MM}/{dd}/{id}';
export const CATALOG_PREFIX = '.lifeboat/';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** "20261122T023000Z", from UTC. */
export function backupId(at: Date): string {
  return (
    `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}` +
    `T${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}Z`
  );
}

const ID_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-(\d+))?$/;

export function isBackupId(text: string): boolean {
  return ID_PATTERN.test(text);
}

/** The instant an id names (its second, ignoring a collision suffix). */
export function idTime(id: string): Date {
  const m = ID_PATTERN.exec(id);
  if (!m)
    throw new LifeboatError('usage', `parse backup id "${id}": expected e.g. 20261122T023000Z or latest`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** The id after `id` for a second collision: 20261122T023000Z → 20261122T023000Z-2 → …-3. */
export function nextIdSuffix(id: string): string {
  const m = /^(.*Z)(?:-(\d+))?$/.exec(id)!;
  return `${m[1]}-${Number(m[2] ?? 1) + 1}`;
}

/** Makes a database name safe as one path segment: keeps [A-Za-z0-9._-], %-encodes the rest. */
export function safeSegment(text: string): string {
  const safe = [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
  // "." and ".." are not usable as names.
  return safe.replace(/^\.{1,2}$/, (d) => d.replace(/\./g, '%2E'));
}

export interface TemplateValues {
  job: string;
  id: string;
  at: Date;
  db?: string;
  /** What `{db}` renders as for an artifact that is not one database: `globals`, `full`. */
  role?: string;
  /** The name of the artifact's source in its job (`main` for a job's one `source:`). */
  source?: string;
}

const TOKENS = new Set(['job', 'source', 'db', 'id', 'yyyy', 'MM', 'dd', 'HH', 'mm', 'ss']);

// C0 and C1 control characters: never part of a key an operator can read or type.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export interface TemplateProblem {
  message: string;
  hint?: string;
}

/**
 * What is wrong with a `layout` (folder) or `name` (base name) template, if anything. Every key it
 * renders must stay inside the storage: no absolute path, no "." or ".." segment, and a name
 * without folders. Tokens cannot escape: {job} and {db} render as safe segments, the rest as digits.
 */
export function templateProblem(template: string, kind: 'layout' | 'name'): TemplateProblem | undefined {
  for (const [, token] of template.matchAll(/\{([^}]*)\}/g)) {
    if (!TOKENS.has(token!))
      return { message: `unknown token {${token}} (tokens: ${[...TOKENS].map((t) => `{${t}}`).join(' ')})` };
  }
  if (CONTROL.test(template)) return { message: 'control characters are not allowed' };
  const quoted = JSON.stringify(template);
  if (kind === 'name') {
    if (template === '') return { message: 'expected a file name (without extension), e.g. full or {db}' };
    if (/[/\\]/.test(template))
      return {
        message: `${quoted} contains a folder; a name is one file name`,
        hint: 'put folders in layout',
      };
    if (template === '.' || template === '..') return { message: `${quoted} is not a file name` };
    return undefined;
  }
  if (/^([/\\]|[A-Za-z]:)/.test(template)) {
    return {
      message: `${quoted} is an absolute path; a layout is a folder inside the storage`,
      hint: 'drop the leading "/"; layout: "" is the storage root',
    };
  }
  if (template.split(/[/\\]/).some((part) => part === '.' || part === '..')) {
    return {
      message: `${quoted} has a "." or ".." folder; a layout stays inside the storage`,
      hint: 'layout: "" is the storage root',
    };
  }
  return undefined;
}

/** Throws the template's problem as a config error naming `where` (e.g. jobs.app.layout). */
export function validateTemplate(template: string, where: string, kind: 'layout' | 'name' = 'layout'): void {
  const problem = templateProblem(template, kind);
  if (problem) {
    throw new LifeboatError(
      'config',
      `${where}: ${problem.message}`,
      problem.hint ? { hint: problem.hint } : {},
    );
  }
}

export function renderTemplate(template: string, v: TemplateValues): string {
  const at = v.at;
  const values: Record<string, string> = {
    job: safeSegment(v.job),
    source: safeSegment(v.source ?? ''),
    db: safeSegment(v.db ?? v.role ?? ''),
    id: v.id,
    yyyy: String(at.getUTCFullYear()),
    MM: pad(at.getUTCMonth() + 1),
    dd: pad(at.getUTCDate()),
    HH: pad(at.getUTCHours()),
    mm: pad(at.getUTCMinutes()),
    ss: pad(at.getUTCSeconds()),
  };
  return template.replace(/\{([^}]*)\}/g, (_m, token: string) => values[token] ?? '');
}

/**
 * The layout a job's artifacts go under. With several sources, unless the layout or the name
 * already says `{source}`, each source gets its own folder (`…/{id}/{source}/`), so that two
 * sources' dumps never share a key (two servers both have a database "app").
 */
export function sourceLayout(layout: string, name: string | undefined, sources: number): string {
  if (sources < 2 || layout.includes('{source}') || name?.includes('{source}')) return layout;
  return layout === '' ? '{source}' : `${layout.replace(/\/+$/, '')}/{source}`;
}

/** The part of a layout before its first token: every artifact of the job lives under it. */
export function staticPrefix(layout: string, job: string): string {
  const rendered = layout.replace(/\{job\}/g, safeSegment(job));
  const cut = rendered.indexOf('{');
  const head = cut < 0 ? rendered : rendered.slice(0, cut);
  return head.slice(0, head.lastIndexOf('/') + 1);
}

export function manifestKey(job: string, id: string): string {
  return `${CATALOG_PREFIX}${safeSegment(job)}/${id}.json`;
}

/** Artifact keys from a folder + base name, normalised ("a//b/" → "a/b"). */
export function joinKey(folder: string, file: string): string {
  return [...folder.split('/'), file].filter((p) => p !== '').join('/');
}
