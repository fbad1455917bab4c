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
  return `DO $lifeboat$ BEGIN CREATE ROLE ${m[1]}; EXCEPTION WHEN duplicate_object THEN RAISE NOTICE 'role ${m[1]!.replace(/'/g, "''")} exists, keeping it'; END $lifeboat$;`;
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
