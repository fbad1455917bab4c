/**
 * pg_dumpall writes `CREATE ROLE name;` for every role, including the one the restore connects
 * as, so a plain `psql -v ON_ERROR_STOP=1` restore into any running cluster stops at the first
 * line. This stage rewrites just those lines into a block that skips an existing role; the
 * `ALTER ROLE` that pg_dumpall writes next still sets every attribute. The output stays plain SQL.
 * Only the preamble (before the first `\connect`) is scanned; the rest passes through untouched.
 */
const CREATE_ROLE = /^CREATE ROLE ((?:"(?:[^"]|"")+")|[a-z_][a-z0-9_$]*);$/;

export function guardRoleLine(line: string): string {
  const m = CREATE_ROLE.exec(line);
  if (!m) return line;
  const name = m[1]!;
  // The dollar-quote tag must not occur in the name, or the name could end the block early.
  let tag = '$lifeboat$';
  for (let n = 1; name.includes(tag); n++) tag = `$lifeboat${n}$`;
  // The name goes in as a RAISE argument, not into the format string, where "%" is a placeholder.
  const literal = `'${name.replace(/'/g, "''")}'`;
  return `DO ${tag} BEGIN CREATE ROLE ${name}; EXCEPTION WHEN duplicate_object THEN RAISE NOTICE 'role % exists, keeping it', ${literal}; END ${tag};`;
}

export async function* guardRoles(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // Works on bytes: a newline byte never sits inside a UTF-8 sequence, so whole lines decode safely.
  let pending = Buffer.alloc(0);
  let scanning = true;
  for await (const chunk of source) {
    if (!scanning) {
      yield chunk;
      continue;
    }
    const data = Buffer.concat([pending, chunk]);
    const out: string[] = [];
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0 && scanning; nl = data.indexOf(10, start)) {
      const line = data.subarray(start, nl).toString('utf8');
      if (line.startsWith('\\connect')) scanning = false;
      out.push((scanning ? guardRoleLine(line) : line) + '\n');
      start = nl + 1;
    }
    pending = Buffer.from(data.subarray(start));
    if (out.length) yield Buffer.from(out.join(''), 'utf8');
    if (!scanning && pending.length) {
      yield pending;
      pending = Buffer.alloc(0);
    }
  }
  if (pending.length) yield scanning ? Buffer.from(guardRoleLine(pending.toString('utf8')), 'utf8') : pending;
}
