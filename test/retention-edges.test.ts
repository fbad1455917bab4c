/**
 * Edges of the retention policy (src/core/retention.ts) that the tables in retention.test.ts do not
 * reach: the error codes (they decide the exit code), a backup dated exactly `now`, keepWithin cut
 * to the millisecond, in summer time, from inside a DST gap and beyond the Date range, and ties on
 * time in every input order. Each case here was a surviving mutant (docs/mutation.md).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyRetention,
  parseDuration,
  type RetentionOptions,
  type RetentionPolicy,
} from '../src/core/retention.js';
import { LifeboatError } from '../src/util/errors.js';

/** The ids applyRetention keeps, newest first, each with its reasons. */
function kept(ids: string[], policy: RetentionPolicy, opts?: RetentionOptions) {
  const items = ids.map((id) => ({ id, time: new Date(id) }));
  return applyRetention(items, policy, opts)
    .filter((d) => d.keep)
    .map((d) => [d.id, d.reasons]);
}

describe('retention errors', () => {
  const items = [{ id: 'x', time: new Date('2026-11-20T02:30Z') }];
  const fails = (run: () => unknown, code: string, message: string) =>
    assert.throws(run, (err: unknown) => {
      assert.ok(err instanceof LifeboatError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.message, message);
      return true;
    });

  test('a bad policy or zone is a config error; a backup without a time fails the run', () => {
    fails(() => parseDuration('14x'), 'config', 'invalid duration "14x": expected e.g. 14d, 36h, 2w, 1y6m');
    fails(
      () => applyRetention(items, { keepLast: -1 }),
      'config',
      'apply retention: keepLast must be a whole number 0 or more, got -1',
    );
    fails(
      () => applyRetention(items, { keepDaily: 1 }, { timeZone: 'Mars/Olympus' }),
      'config',
      'apply retention: unknown time zone "Mars/Olympus"',
    );
    fails(
      () => applyRetention([{ id: 'bad', time: new Date('nope') }], {}),
      'failed',
      'apply retention: backup "bad" has an invalid time',
    );
  });

  test('an unknown time zone keeps the runtime error as its cause', () => {
    try {
      applyRetention(items, { keepDaily: 1 }, { timeZone: 'Mars/Olympus' });
      assert.fail('no error');
    } catch (err) {
      assert.ok((err as Error).cause instanceof RangeError, String((err as Error).cause));
    }
  });
});

describe('the clock', () => {
  test('a backup dated exactly now is good, and it anchors keepWithin', () => {
    const now = new Date('2026-11-20T12:00Z');
    assert.deepEqual(
      kept(
        ['2026-11-20T10:00Z', '2026-11-20T10:45Z', '2026-11-20T11:30Z', '2026-11-20T12:00Z'],
        { keepWithin: '1h', minKeep: 0 },
        { now },
      ),
      [
        ['2026-11-20T12:00Z', ['within 1h']],
        ['2026-11-20T11:30Z', ['within 1h']],
      ],
    );
  });
});

describe('keepWithin', () => {
  test('the reason names the rule as written, without its blanks', () => {
    assert.deepEqual(kept(['2026-11-20T12:00Z'], { keepWithin: ' 36h ' }), [
      ['2026-11-20T12:00Z', ['within 36h']],
    ]);
  });

  test('the cutoff keeps the anchor’s milliseconds: exactly at it is out, 1 ms later is in', () => {
    assert.deepEqual(
      kept(
        [
          '2026-11-19T12:00:00.499Z',
          '2026-11-19T12:00:00.500Z',
          '2026-11-19T12:00:00.501Z',
          '2026-11-20T12:00:00.500Z',
        ],
        { keepWithin: '1d', minKeep: 0 },
        // In Berlin too, where "1d" is calendar arithmetic on the wall clock.
        { timeZone: 'Europe/Berlin' },
      ).map(([id]) => id),
      ['2026-11-20T12:00:00.500Z', '2026-11-19T12:00:00.501Z'],
    );
  });

  test('in summer time the offset of the cutoff instant is used (Europe/Berlin, UTC+2)', () => {
    // 1d before 2026-07-15 14:00 CEST is 2026-07-14 14:00 CEST = 12:00Z (not 13:00Z, winter's +1).
    assert.deepEqual(
      kept(
        ['2026-07-14T11:59Z', '2026-07-14T12:30Z', '2026-07-15T12:00Z'],
        { keepWithin: '1d', minKeep: 0 },
        {
          timeZone: 'Europe/Berlin',
        },
      ).map(([id]) => id),
      ['2026-07-15T12:00Z', '2026-07-14T12:30Z'],
    );
  });

  test('a cutoff inside a DST gap lands just after it (Europe/Berlin, 2026-03-29 02:00–03:00)', () => {
    // 1d before 2026-03-30 02:30 CEST (00:30Z) is 2026-03-29 02:30, which does not exist: the cutoff
    // is 03:30 CEST (01:30Z), so a backup at 01:00Z (03:00 CEST) is outside.
    assert.deepEqual(
      kept(
        ['2026-03-29T01:00Z', '2026-03-29T01:45Z', '2026-03-30T00:30Z'],
        { keepWithin: '1d', minKeep: 0 },
        {
          timeZone: 'Europe/Berlin',
        },
      ).map(([id]) => id),
      ['2026-03-30T00:30Z', '2026-03-29T01:45Z'],
    );
  });

  test('a window reaching beyond the Date range keeps everything (it used to throw a RangeError)', () => {
    for (const within of ['300000y', '4000000m', '200000000d', '3000000000h'])
      assert.deepEqual(
        kept(['1970-01-01T00:00Z', '2026-11-20T12:00Z'], { keepWithin: within, minKeep: 0 }),
        [
          ['2026-11-20T12:00Z', [`within ${within}`]],
          ['1970-01-01T00:00Z', [`within ${within}`]],
        ],
        within,
      );
  });
});

describe('ties on time', () => {
  test('backups with the same time are ordered by id, whatever the input order', () => {
    const time = new Date('2026-11-20T02:30Z');
    const ids = ['a', 'b', 'c', 'd'];
    const orders = (xs: string[]): string[][] =>
      xs.length <= 1
        ? [xs]
        : xs.flatMap((x) => orders(xs.filter((y) => y !== x)).map((rest) => [x, ...rest]));
    for (const order of orders(ids)) {
      const decisions = applyRetention(
        order.map((id) => ({ id, time })),
        { keepLast: 1 },
      );
      assert.deepEqual(
        decisions.map((d) => [d.id, d.keep]),
        [
          ['a', true],
          ['b', false],
          ['c', false],
          ['d', false],
        ],
        order.join(''),
      );
    }
  });
});
