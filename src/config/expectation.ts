/**
 * What a user check expects of its query's value (`drill.checks[].expect`): a comparison
 * (`">= 1"`, `"= 0"`, `"< 5"`, `"!= 3"`), a range (`"between 10 and 20"`, inclusive), `"is null"` /
 * `"is not null"`, or anything else as an exact value compared as text. Pure functions only: config
 * validation parses expectations up front, so a typo fails at load time instead of at 3 a.m.
 */

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expectation =
  | { kind: 'compare'; op: CompareOp; value: string }
  | { kind: 'between'; low: string; high: string }
  | { kind: 'null'; negate: boolean }
  | { kind: 'exact'; value: string; negate: boolean };

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

export function isNumber(text: string): boolean {
  return NUMBER.test(text.trim());
}

/**
 * Orders two numbers given as text. Integers compare as BigInt, so counts beyond 2^53 stay exact;
 * anything with a fraction or exponent compares as a double.
 */
export function compareNumbers(a: string, b: string): number {
  const x = a.trim();
  const y = b.trim();
  if (INTEGER.test(x) && INTEGER.test(y)) {
    const d = BigInt(x) - BigInt(y);
    return d === 0n ? 0 : d < 0n ? -1 : 1;
  }
  return Math.sign(Number(x) - Number(y));
}

/** Parses an expectation; throws an Error saying what is wrong when it starts like an operator but is malformed. */
export function parseExpectation(input: string | number | boolean): Expectation {
  const text = String(input).trim();
  if (!text) throw new Error('expected an expectation such as ">= 1", "= 0", "between 10 and 20" or a value');

  if (/^between\b/i.test(text)) {
    const m = /^between\s+(\S+)\s+and\s+(\S+)$/i.exec(text);
    if (!m || !isNumber(m[1]!) || !isNumber(m[2]!))
      throw new Error(`"${text}": expected "between LOW and HIGH" with two numbers`);
    if (compareNumbers(m[1]!, m[2]!) > 0) throw new Error(`"${text}": LOW is greater than HIGH`);
    return { kind: 'between', low: m[1]!, high: m[2]! };
  }

  const nullTest = /^is\s+(not\s+)?null$/i.exec(text);
  if (nullTest) return { kind: 'null', negate: Boolean(nullTest[1]) };

  const op = /^(>=|<=|<>|!=|=|<|>)\s*(.*)$/s.exec(text);
  if (op) {
    const symbol = (op[1] === '<>' ? '!=' : op[1]) as CompareOp;
    const value = op[2]!.trim();
    if (isNumber(value)) return { kind: 'compare', op: symbol, value };
    // "= ok" / "!= broken" read naturally as text comparisons; "> ok" has no meaning.
    if ((symbol === '=' || symbol === '!=') && value)
      return { kind: 'exact', value, negate: symbol === '!=' };
    throw new Error(`"${text}": expected a number after ${op[1]}`);
  }

  return { kind: 'exact', value: text, negate: false };
}

/** The expectation as it reads in a report. */
export function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'compare':
      return `${e.op} ${e.value}`;
    case 'between':
      return `between ${e.low} and ${e.high}`;
    case 'null':
      return e.negate ? 'is not null' : 'is null';
    case 'exact':
      return e.negate ? `!= ${e.value}` : e.value;
  }
}

export interface Verdict {
  ok: boolean;
  /** Why it failed, when the value was not even comparable (NULL, not a number). */
  detail?: string;
}

/** PostgreSQL prints booleans as t/f; a YAML `expect: true` should still match. */
function sameText(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  const bool: Record<string, string> = { true: 't', false: 'f' };
  return bool[expected.toLowerCase()] === actual;
}

/** Checks one value (the first column of the first row, as PostgreSQL prints it; null for SQL NULL). */
export function checkExpectation(e: Expectation, actual: string | null): Verdict {
  if (e.kind === 'null') return { ok: (actual === null) !== e.negate };
  if (actual === null) return { ok: false, detail: 'the query returned NULL' };
  if (e.kind === 'exact') return { ok: sameText(e.value, actual) !== e.negate };
  if (!isNumber(actual)) return { ok: false, detail: `"${actual}" is not a number` };
  if (e.kind === 'between')
    return { ok: compareNumbers(actual, e.low) >= 0 && compareNumbers(actual, e.high) <= 0 };
  const c = compareNumbers(actual, e.value);
  const ok = {
    '=': c === 0,
    '!=': c !== 0,
    '<': c < 0,
    '<=': c <= 0,
    '>': c > 0,
    '>=': c >= 0,
  }[e.op];
  return { ok };
}
