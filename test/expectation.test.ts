/**
 * The expectation language of drill checks (src/config/expectation.ts): `drill.checks[].expect`
 * parsed into a comparison, a range, a NULL test or an exact value, described back as it reads in
 * the config, and checked against the value a query printed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkExpectation,
  compareNumbers,
  describeExpectation,
  isNumber,
  parseExpectation,
} from '../src/config/expectation.js';

const holds = (expect: string | number | boolean, actual: string | null) =>
  checkExpectation(parseExpectation(expect), actual).ok;

describe('expectations', () => {
  test('comparisons against numbers', () => {
    assert.ok(holds('>= 1', '1'));
    assert.ok(holds('>=1', '2000'));
    assert.ok(!holds('>= 1', '0'));
    assert.ok(holds('= 0', '0'));
    assert.ok(holds('= 0', '0.000'), 'numbers compare by value');
    assert.ok(!holds('= 0', '2000'));
    assert.ok(holds('> 5', '6') && !holds('> 5', '5'));
    assert.ok(holds('< 5', '4.99') && !holds('< 5', '5'));
    assert.ok(holds('<= -1', '-1'));
    assert.ok(holds('!= 3', '4') && holds('<> 3', '4') && !holds('!= 3', '3'));
    assert.ok(holds('> 1e3', '1001'));
  });

  test('between is inclusive', () => {
    assert.ok(holds('between 10 and 20', '10'));
    assert.ok(holds('BETWEEN 10 AND 20', '20'));
    assert.ok(holds('between 10 and 20', '15.5'));
    assert.ok(!holds('between 10 and 20', '9'));
    assert.ok(!holds('between 10 and 20', '21'));
    assert.deepEqual(parseExpectation('between -1.5 and 2'), { kind: 'between', low: '-1.5', high: '2' });
  });

  test('counts beyond 2^53 compare exactly', () => {
    assert.equal(compareNumbers('9007199254740993', '9007199254740992'), 1);
    assert.ok(holds('= 9007199254740993', '9007199254740993'));
    assert.ok(!holds('= 9007199254740993', '9007199254740992'));
  });

  test('anything else is an exact value, compared as text', () => {
    assert.ok(holds('ok', 'ok'));
    assert.ok(!holds('ok', 'OK'));
    assert.ok(holds('2024-01-01', '2024-01-01'));
    assert.ok(holds('= active', 'active'), '"= text" is a text comparison');
    assert.ok(holds('!= broken', 'fine') && !holds('!= broken', 'broken'));
    assert.ok(holds(42, '42'), 'YAML numbers become text');
    assert.deepEqual(parseExpectation('ok'), { kind: 'exact', value: 'ok', negate: false });
  });

  test('booleans match PostgreSQL t/f', () => {
    assert.ok(holds(true, 't'));
    assert.ok(holds('false', 'f'));
    assert.ok(!holds(true, 'f'));
  });

  test('is null / is not null', () => {
    assert.ok(holds('is null', null));
    assert.ok(!holds('is null', '1'));
    assert.ok(holds('IS NOT NULL', '1'));
    assert.ok(!holds('is not null', null));
  });

  test('NULL and non-numbers fail numeric expectations, saying why', () => {
    assert.deepEqual(checkExpectation(parseExpectation('>= 1'), null), {
      ok: false,
      detail: 'the query returned NULL',
    });
    assert.deepEqual(checkExpectation(parseExpectation('>= 1'), 'abc'), {
      ok: false,
      detail: '"abc" is not a number',
    });
    assert.ok(!holds('ok', null));
  });

  test('malformed expectations are rejected, not silently taken as text', () => {
    for (const [bad, message] of [
      ['', /^expected an expectation such as ">= 1"/],
      ['   ', /^expected an expectation such as ">= 1"/],
      ['>= ', /^">=": expected a number after >=$/],
      ['> abc', /^"> abc": expected a number after >$/],
      ['between 1 and', /^"between 1 and": expected "between LOW and HIGH" with two numbers$/],
      ['between a and b', /^"between a and b": expected "between LOW and HIGH" with two numbers$/],
      ['between 5 and 1', /^"between 5 and 1": LOW is greater than HIGH$/],
      ['< x', /^"< x": expected a number after <$/],
    ] as const)
      assert.throws(() => parseExpectation(bad), { message }, bad);
  });

  test('descriptions read like the config', () => {
    for (const text of ['>= 1', '= 0', 'between 10 and 20', 'is null', 'is not null', 'ok', '!= broken'])
      assert.equal(describeExpectation(parseExpectation(text)), text);
    assert.equal(describeExpectation(parseExpectation('<>3')), '!= 3');
  });
});

describe('expectations: the edges of the grammar', () => {
  test('a number is a whole string of digits, sign, fraction and exponent, around blanks', () => {
    for (const text of ['1', '+1', '-1', '1.', '1.5', '.5', '.25', '-.25', '1e3', '1E+10', '2.5e-12', ' 7 '])
      assert.ok(isNumber(text), text);
    for (const text of ['', '.', 'e3', '1e', 'x1', '1x', '1 2', '1.2.3', '--1', '.e1', '.x', '1e1x'])
      assert.ok(!isNumber(text), text);
    assert.ok(holds('> .25', '.5') && !holds('> .5', '.25'), 'fractions without a leading digit');
    assert.ok(holds('> 1e10', '20000000000') && !holds('> 1e10', '9999999999'), 'exponents of two digits');
    assert.ok(holds('>= 1', ' 2 '), 'a value printed with blanks around it is still a number');
  });

  test('a value with a number inside is not a number', () => {
    for (const actual of ['abc1', '1abc', '1 row'])
      assert.deepEqual(checkExpectation(parseExpectation('>= 1'), actual), {
        ok: false,
        detail: `"${actual}" is not a number`,
      });
    assert.throws(() => parseExpectation('> 5 rows'), { message: '"> 5 rows": expected a number after >' });
  });

  test('integers compare exactly with a sign or blanks; fractions compare as doubles', () => {
    assert.equal(compareNumbers('+9007199254740993', '9007199254740992'), 1);
    assert.equal(compareNumbers('-9007199254740993', '-9007199254740992'), -1);
    assert.equal(compareNumbers(' 9007199254740993', '9007199254740992 '), 1);
    assert.equal(compareNumbers('0.5', '1'), -1);
    assert.equal(compareNumbers('.5', '1'), -1);
    assert.equal(compareNumbers('2', '1.5'), 1);
    assert.equal(compareNumbers('1.0', '1'), 0);
  });

  test('every comparison operator both ways', () => {
    const cases: Array<[string, string, boolean]> = [
      ['= 5', '5', true],
      ['= 5', '6', false],
      ['!= 5', '6', true],
      ['!= 5', '5', false],
      ['< 5', '4', true],
      ['< 5', '5', false],
      ['<= 5', '5', true],
      ['<= 5', '6', false],
      ['> 5', '6', true],
      ['> 5', '5', false],
      ['>= 5', '5', true],
      ['>= 5', '4', false],
    ];
    for (const [expect, actual, ok] of cases)
      assert.equal(holds(expect, actual), ok, `${expect} of ${actual}`);
  });

  test('between: any blanks between the words, equal bounds allowed, nothing before or after', () => {
    assert.ok(holds('between  1   and\t2', '2'));
    assert.deepEqual(parseExpectation('between 1 and   2'), { kind: 'between', low: '1', high: '2' });
    assert.deepEqual(parseExpectation('between 5 and 5'), { kind: 'between', low: '5', high: '5' });
    for (const bad of ['between 1 and 2 and 3', 'between between 1 and 2', 'between 1 and 2 or 3'])
      assert.throws(() => parseExpectation(bad), {
        message: `"${bad}": expected "between LOW and HIGH" with two numbers`,
      });
    // Only a leading "between" makes a range: anything else is a value compared as text.
    assert.deepEqual(parseExpectation('not between 1 and 2'), {
      kind: 'exact',
      value: 'not between 1 and 2',
      negate: false,
    });
  });

  test('is null needs the whole text; operators only lead', () => {
    assert.deepEqual(parseExpectation('is   not  null'), { kind: 'null', negate: true });
    assert.deepEqual(parseExpectation('is\tnull'), { kind: 'null', negate: false });
    assert.deepEqual(parseExpectation('is null or 0'), {
      kind: 'exact',
      value: 'is null or 0',
      negate: false,
    });
    assert.deepEqual(parseExpectation('this is null'), {
      kind: 'exact',
      value: 'this is null',
      negate: false,
    });
    assert.deepEqual(parseExpectation('a=b'), { kind: 'exact', value: 'a=b', negate: false });
    assert.ok(holds('a=b', 'a=b'));
    assert.deepEqual(parseExpectation('>=  5'), { kind: 'compare', op: '>=', value: '5' });
  });
});
