/**
 * The two libpq files node-postgres does not read the way libpq does: the connection service file
 * (PGSERVICE / `?service=`, ~/.pg_service.conf or PGSERVICEFILE, then PGSYSCONFDIR/pg_service.conf)
 * and the password file (~/.pgpass or PGPASSFILE). pg_dump, psql and the other client tools read
 * them themselves; these few lines make Lifeboat's own connections see the same settings.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../../util/errors.js';

/** Where libpq looks for the system-wide service file when PGSYSCONFDIR is unset (Debian's build). */
const DEFAULT_SYSCONFDIR = '/etc/postgresql-common';

function readIfFile(file: string): string | undefined {
  try {
    return statSync(file).isFile() ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** One `[name]` section of an INI-style service file, or undefined when the file has none. */
export function parseServiceSection(text: string, name: string): Record<string, string> | undefined {
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      current = section[1]!.trim();
      if (current === name) found ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (current === name && eq > 0) found![line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return found;
}

/** The named service's settings, looked up as libpq does; an unknown service is an error, as in libpq. */
export function serviceSettings(name: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const files = [
    env.PGSERVICEFILE || path.join(home(env), '.pg_service.conf'),
    path.join(env.PGSYSCONFDIR || DEFAULT_SYSCONFDIR, 'pg_service.conf'),
  ];
  for (const file of files) {
    const text = readIfFile(file);
    const section = text === undefined ? undefined : parseServiceSection(text, name);
    if (section) return section;
  }
  throw new LifeboatError('config', `read service "${name}": no such service in ${files.join(' or ')}`, {
    hint: "check PGSERVICE or the URL's service= and the service file (PGSERVICEFILE)",
  });
}

/** Splits a .pgpass line on unescaped colons, unescaping `\:` and `\\`. */
function passfileFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) field += line[++i];
    else if (c === ':') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

export interface PassfileKey {
  host: string;
  port: string;
  database: string;
  user: string;
}

/**
 * The password for these connection settings from the password file, as libpq finds it: the first
 * matching `host:port:database:user:password` line, `*` matching anything. Like libpq, a file that
 * others may read (group or world permissions) is ignored.
 */
export function passfilePassword(key: PassfileKey, env: NodeJS.ProcessEnv): string | undefined {
  const file = env.PGPASSFILE || path.join(home(env), '.pgpass');
  let mode: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return undefined;
    mode = st.mode;
  } catch {
    return undefined;
  }
  if (mode & 0o077) return undefined;
  const text = readIfFile(file);
  if (text === undefined) return undefined;
  // A Unix socket (or no host) counts as "localhost", as in libpq.
  const host = !key.host || key.host.startsWith('/') ? 'localhost' : key.host;
  const wanted = [host, key.port, key.database, key.user];
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const fields = passfileFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((w, i) => fields[i] === '*' || fields[i] === w)) return fields.slice(4).join(':');
  }
  return undefined;
}
