/**
 * Unit tests for the pg_dumpall role guard (src/sources/postgres/role-guard.ts): which lines are
 * rewritten, that the rewrite is well-formed SQL for awkward names, and that the streaming version
 * gives the same bytes however the input is chunked (inside UTF-8 characters and inside the
 * `\connect` line too).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { guardRoleLine, guardRoles } from '../src/sources/postgres/role-guard.js';

/** Splits a rewritten line into its dollar-quote tag and the body between the tags. */
function dollarQuoted(line: string): { tag: string; occurrences: number; body: string } {
  const m = /^DO (\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$) /.exec(line);
  assert.ok(m, `not a DO block: ${line}`);
  const tag = m[1]!;
  const occurrences = line.split(tag).length - 1;
  const body = line.slice(m[0].length, line.lastIndexOf(` ${tag};`));
  return { tag, occurrences, body };
}

/**
 * The format string and parameter count of the RAISE in a rewritten line. PL/pgSQL checks at
 * compile time that every lone "%" in the format has a parameter ("too few parameters specified
 * for RAISE"), so a stray "%" makes the whole DO block fail.
 */
function raise(body: string): { format: string; params: number } {
  const start = body.indexOf("RAISE NOTICE '");
  assert.ok(start >= 0, `no RAISE NOTICE in ${body}`);
  let i = start + "RAISE NOTICE '".length;
  let format = '';
  for (;;) {
    const ch = body[i];
    assert.ok(ch !== undefined, 'unterminated string literal');
    if (ch === "'" && body[i + 1] === "'") {
      format += "'";
      i += 2;
    } else if (ch === "'") {
      i += 1;
      break;
    } else {
      format += ch;
      i += 1;
    }
  }
  // Parameters: comma-separated expressions up to the ';' that ends the statement.
  let params = 0;
  let inString = false;
  for (; i < body.length; i++) {
    const ch = body[i];
    if (ch === "'") inString = !inString;
    else if (!inString && ch === ',') params++;
    else if (!inString && ch === ';') break;
  }
  return { format, params };
}

function placeholders(format: string): number {
  return (format.replace(/%%/g, '').match(/%/g) ?? []).length;
}

/**
 * Checks that `out` is the guarded form of `CREATE ROLE <quoted>;`: one dollar-quoted DO block that
 * creates the role as written and turns duplicate_object into a notice (and nothing else).
 */
function assertGuarded(out: string, quoted: string): void {
  const { tag, occurrences, body } = dollarQuoted(out);
  assert.equal(occurrences, 2, `the tag ${tag} must appear only as the opening and closing quote: ${out}`);
  assert.ok(out.endsWith(` ${tag};`), out);
  assert.ok(
    body.startsWith(`BEGIN CREATE ROLE ${quoted}; EXCEPTION WHEN duplicate_object THEN RAISE NOTICE '`),
    out,
  );
  assert.ok(body.endsWith('; END'), out);
  const { format, params } = raise(body);
  assert.equal(
    placeholders(format),
    params,
    `RAISE format ${JSON.stringify(format)} has ${params} parameters`,
  );
}

describe('guardRoleLine', () => {
  test('rewrites a plain CREATE ROLE into a DO block that tolerates an existing role', () => {
    assertGuarded(guardRoleLine('CREATE ROLE postgres;'), 'postgres');
    assertGuarded(guardRoleLine('CREATE ROLE app_user$1;'), 'app_user$1');
  });

  test('rewrites quoted names, keeping the quoting exactly', () => {
    assertGuarded(guardRoleLine('CREATE ROLE "we""ird";'), '"we""ird"');
    assertGuarded(guardRoleLine('CREATE ROLE "Admin User";'), '"Admin User"');
    assertGuarded(guardRoleLine('CREATE ROLE "café€";'), '"café€"');
  });

  test("a quote in a name is doubled in the notice's string literal", () => {
    const out = guardRoleLine(`CREATE ROLE "it's";`);
    assertGuarded(out, `"it's"`);
    // The name is in the notice (as the format or as a parameter), decoded back to the quote.
    assert.ok(out.includes(`'role "it''s" exists`) || out.includes(`'"it''s"'`), out);
  });

  test('leaves every other line untouched', () => {
    for (const line of [
      'ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;',
      'CREATE ROLE postgres WITH LOGIN;',
      ' CREATE ROLE postgres;',
      'CREATE ROLE postgres; ',
      'CREATE ROLE postgres',
      '-- CREATE ROLE postgres;',
      'create role postgres;',
      'CREATE ROLE "unterminated;',
      'CREATE ROLE "";',
      'CREATE DATABASE app;',
      '\\connect template1',
      '',
    ]) {
      assert.equal(guardRoleLine(line), line, JSON.stringify(line));
    }
  });

  test('a name containing the dollar-quote tag cannot end the DO block early', () => {
    // pg_dumpall quotes this name correctly; the rewrite must not turn it into SQL.
    const line = 'CREATE ROLE "x$lifeboat$; DROP DATABASE app; --";';
    const out = guardRoleLine(line);
    if (out === line) return; // leaving such a line alone is safe too
    assertGuarded(out, '"x$lifeboat$; DROP DATABASE app; --"');
  });

  test('a "%" in a name does not become a RAISE placeholder', () => {
    const line = 'CREATE ROLE "100%_owner";';
    const out = guardRoleLine(line);
    if (out === line) return;
    assertGuarded(out, '"100%_owner"');
  });
});

// A pg_dumpall-like stream: a preamble of roles (with multi-byte names and comments), then
// databases after `\connect`, where a CREATE ROLE-looking line must be left alone.
const DUMP = [
  '--',
  '-- PostgreSQL database cluster dump',
  '--',
  '',
  'SET default_transaction_read_only = off;',
  "SET client_encoding = 'UTF8';",
  '',
  'CREATE ROLE postgres;',
  'ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;',
  'CREATE ROLE "we""ird";',
  'ALTER ROLE "we""ird" WITH NOSUPERUSER LOGIN;',
  'CREATE ROLE "café€";',
  'COMMENT ON ROLE "café€" IS \'prix 5€, été\';',
  'CREATE ROLE app;',
  '',
  '\\connect template1',
  '',
  'CREATE ROLE x;',
  "INSERT INTO t VALUES ('é€😀');",
  '\\connect app',
  'CREATE ROLE y;',
  'COPY public.t (v) FROM stdin;',
  'CREATE ROLE z;',
  '\\.',
  '',
].join('\n');

/** What the guard must produce: rewrite only lines before the first `\connect`. */
function expectedOutput(text: string): string {
  const lines = text.split('\n');
  const cut = lines.findIndex((l) => l.startsWith('\\connect'));
  return lines.map((l, i) => (cut < 0 || i < cut ? guardRoleLine(l) : l)).join('\n');
}

async function* chunksOf(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

async function run(parts: Uint8Array[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of guardRoles(chunksOf(parts))) out.push(Buffer.from(chunk));
  return Buffer.concat(out);
}

/** Cuts `data` at the given offsets. */
function cut(data: Buffer, offsets: number[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const at of offsets) {
    parts.push(new Uint8Array(data.subarray(start, at)));
    start = at;
  }
  parts.push(new Uint8Array(data.subarray(start)));
  return parts;
}

describe('guardRoles', () => {
  const input = Buffer.from(DUMP, 'utf8');

  test('rewrites the preamble only; lines after the first \\connect pass through', async () => {
    const out = (await run([input])).toString('utf8');
    assert.equal(out, expectedOutput(DUMP));
    const guardedLines = out.split('\n').filter((l) => l.startsWith('DO $'));
    assert.equal(guardedLines.length, 4);
    assertGuarded(guardedLines[0]!, 'postgres');
    assertGuarded(guardedLines[1]!, '"we""ird"');
    assertGuarded(guardedLines[2]!, '"café€"');
    assertGuarded(guardedLines[3]!, 'app');
    for (const line of ['CREATE ROLE x;', 'CREATE ROLE y;', 'CREATE ROLE z;']) {
      assert.ok(out.includes(`\n${line}\n`), `${line} must stay as written`);
    }
    assert.ok(out.includes("INSERT INTO t VALUES ('é€😀');"));
  });

  test('gives the same bytes when split at every possible boundary', async () => {
    const whole = await run([input]);
    for (let i = 0; i <= input.length; i++) {
      const out = await run(cut(input, [i]));
      assert.ok(out.equals(whole), `split at byte ${i} changed the output`);
    }
  });

  test('gives the same bytes fed one byte at a time, with empty chunks in between', async () => {
    const whole = await run([input]);
    const parts: Uint8Array[] = [];
    for (const byte of input) parts.push(Uint8Array.of(byte), new Uint8Array(0));
    assert.ok((await run(parts)).equals(whole));
  });

  test('gives the same bytes for every pair of cuts around multi-byte characters and \\connect', async () => {
    const whole = await run([input]);
    const spots = [
      input.indexOf('café€'),
      input.indexOf('5€, été'),
      input.indexOf('\\connect template1'),
      input.indexOf('\\connect app'),
      input.indexOf('é€😀'),
    ];
    const offsets = new Set<number>();
    for (const spot of spots) {
      assert.ok(spot >= 0);
      for (let d = -3; d <= 20; d++) offsets.add(Math.min(Math.max(spot + d, 0), input.length));
    }
    const sorted = [...offsets].sort((a, b) => a - b);
    for (const a of sorted) {
      for (const b of sorted) {
        if (b < a) continue;
        const out = await run(cut(input, [a, b]));
        assert.ok(out.equals(whole), `cuts at ${a} and ${b} changed the output`);
      }
    }
  });

  test('a last line with no newline is still guarded before any \\connect', async () => {
    const text = 'CREATE ROLE a;\nCREATE ROLE "é";';
    const out = (await run([Buffer.from(text)])).toString('utf8');
    const [first, second, ...rest] = out.split('\n');
    assert.deepEqual(rest, []);
    assertGuarded(first!, 'a');
    assertGuarded(second!, '"é"');
    // …and is left alone when it is after \connect.
    const after = Buffer.from(`${text}\n\\connect app\nCREATE ROLE b;`);
    for (let i = 0; i <= after.length; i++) {
      const split = (await run(cut(after, [i]))).toString('utf8');
      assert.equal(split, `${first}\n${second}\n\\connect app\nCREATE ROLE b;`, `split at ${i}`);
    }
  });

  test('a stream with no roles and no \\connect comes out unchanged', async () => {
    const text = 'SELECT 1;\n-- é€\n';
    assert.equal((await run(cut(Buffer.from(text), [3, 14]))).toString('utf8'), text);
  });
});
