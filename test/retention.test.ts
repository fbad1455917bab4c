/**
 * Table tests for the retention policy (src/core/retention.ts). Every case lists exactly which
 * backups are kept (with their reasons) and which are removed. test/retention-tz.test.ts re-runs this
 * whole file under a non-UTC TZ, because bucket keys must come from the policy's zone, never the
 * process's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { policyOf } from '../src/config/compose.js';
import { parseConfig } from '../src/config/load.js';
import { applyRetention, isEmptyPolicy, parseDuration, type RetentionPolicy } from '../src/core/retention.js';

interface Case {
  name: string;
  /** Backup times; each doubles as the backup's id so the tables read as a timeline. */
  items: string[];
  policy: RetentionPolicy;
  timeZone?: string;
  keep: Record<string, string[]>;
  remove: string[];
}

const cases: Case[] = [
  {
    name: 'keepLast keeps the N newest',
    items: [
      '2026-11-16T02:30Z',
      '2026-11-17T02:30Z',
      '2026-11-18T02:30Z',
      '2026-11-19T02:30Z',
      '2026-11-20T02:30Z',
    ],
    policy: { keepLast: 3 },
    keep: {
      '2026-11-20T02:30Z': ['last 3'],
      '2026-11-19T02:30Z': ['last 3'],
      '2026-11-18T02:30Z': ['last 3'],
    },
    remove: ['2026-11-17T02:30Z', '2026-11-16T02:30Z'],
  },
  {
    name: 'keepDaily keeps the newest backup of each day',
    items: [
      '2026-11-18T01:00Z',
      '2026-11-18T09:00Z',
      '2026-11-18T17:00Z',
      '2026-11-19T03:00Z',
      '2026-11-19T23:59Z',
      '2026-11-20T00:00Z',
      '2026-11-20T12:00Z',
    ],
    policy: { keepDaily: 2 },
    keep: { '2026-11-20T12:00Z': ['daily 2026-11-20'], '2026-11-19T23:59Z': ['daily 2026-11-19'] },
    remove: [
      '2026-11-20T00:00Z',
      '2026-11-19T03:00Z',
      '2026-11-18T17:00Z',
      '2026-11-18T09:00Z',
      '2026-11-18T01:00Z',
    ],
  },
  {
    name: 'keepDaily counts days that hold a backup, not calendar days',
    items: ['2026-11-01T12:00Z', '2026-11-10T12:00Z', '2026-11-17T12:00Z', '2026-11-20T12:00Z'],
    policy: { keepDaily: 3 },
    keep: {
      '2026-11-20T12:00Z': ['daily 2026-11-20'],
      '2026-11-17T12:00Z': ['daily 2026-11-17'],
      '2026-11-10T12:00Z': ['daily 2026-11-10'],
    },
    remove: ['2026-11-01T12:00Z'],
  },
  {
    name: 'keepHourly keeps the newest backup of each hour',
    items: [
      '2026-11-20T10:05Z',
      '2026-11-20T10:55Z',
      '2026-11-20T11:15Z',
      '2026-11-20T11:45Z',
      '2026-11-20T12:00Z',
    ],
    policy: { keepHourly: 2 },
    keep: { '2026-11-20T12:00Z': ['hourly 2026-11-20T12'], '2026-11-20T11:45Z': ['hourly 2026-11-20T11'] },
    remove: ['2026-11-20T11:15Z', '2026-11-20T10:55Z', '2026-11-20T10:05Z'],
  },
  {
    // 2020 has 53 ISO weeks: 2020-W53 runs Mon Dec 28 2020 to Sun Jan 3 2021.
    name: 'keepWeekly uses ISO weeks across the week-year boundary (2020-W53)',
    items: [
      '2020-12-27T12:00Z',
      '2020-12-28T12:00Z',
      '2020-12-31T12:00Z',
      '2021-01-01T12:00Z',
      '2021-01-03T12:00Z',
      '2021-01-04T12:00Z',
    ],
    policy: { keepWeekly: 3 },
    keep: {
      '2021-01-04T12:00Z': ['weekly 2021-W01'],
      '2021-01-03T12:00Z': ['weekly 2020-W53'],
      '2020-12-27T12:00Z': ['weekly 2020-W52'],
    },
    remove: ['2021-01-01T12:00Z', '2020-12-31T12:00Z', '2020-12-28T12:00Z'],
  },
  {
    // 2026-W01 starts on Monday December 29 2025.
    name: 'keepWeekly: a week-year can start in December',
    items: ['2025-12-28T12:00Z', '2025-12-29T12:00Z', '2026-01-02T12:00Z'],
    policy: { keepWeekly: 5 },
    keep: { '2026-01-02T12:00Z': ['weekly 2026-W01'], '2025-12-28T12:00Z': ['weekly 2025-W52'] },
    remove: ['2025-12-29T12:00Z'],
  },
  {
    name: 'keepMonthly and keepYearly across the year boundary',
    items: [
      '2024-06-01T12:00Z',
      '2025-11-15T12:00Z',
      '2025-12-01T12:00Z',
      '2025-12-31T23:00Z',
      '2026-01-01T01:00Z',
      '2026-01-20T12:00Z',
      '2026-02-10T12:00Z',
    ],
    policy: { keepMonthly: 3, keepYearly: 3 },
    keep: {
      '2026-02-10T12:00Z': ['monthly 2026-02', 'yearly 2026'],
      '2026-01-20T12:00Z': ['monthly 2026-01'],
      '2025-12-31T23:00Z': ['monthly 2025-12', 'yearly 2025'],
      '2024-06-01T12:00Z': ['yearly 2024'],
    },
    remove: ['2026-01-01T01:00Z', '2025-12-01T12:00Z', '2025-11-15T12:00Z'],
  },
  {
    name: 'the rules add up and a backup can have several reasons',
    items: ['2026-11-18T02:30Z', '2026-11-19T02:30Z', '2026-11-20T02:30Z', '2026-11-20T14:00Z'],
    policy: { keepLast: 2, keepDaily: 2, keepWeekly: 1 },
    keep: {
      '2026-11-20T14:00Z': ['last 2', 'daily 2026-11-20', 'weekly 2026-W47'],
      '2026-11-20T02:30Z': ['last 2'],
      '2026-11-19T02:30Z': ['daily 2026-11-19'],
    },
    remove: ['2026-11-18T02:30Z'],
  },
  {
    // Backups from 2001: "within" counts from the newest backup, not from today.
    name: 'keepWithin is measured from the newest backup, not the clock',
    items: [
      '2001-05-01T12:00Z',
      '2001-05-08T11:59Z',
      '2001-05-08T12:00Z',
      '2001-05-08T12:01Z',
      '2001-05-22T12:00Z',
    ],
    policy: { keepWithin: '2w' },
    keep: { '2001-05-22T12:00Z': ['within 2w'], '2001-05-08T12:01Z': ['within 2w'] },
    // Exactly at the cutoff is outside, as in restic.
    remove: ['2001-05-08T12:00Z', '2001-05-08T11:59Z', '2001-05-01T12:00Z'],
  },
  {
    name: 'keepWithin "1m" subtracts a calendar month',
    items: ['2026-03-15T11:00Z', '2026-03-15T13:00Z', '2026-04-15T12:00Z'],
    policy: { keepWithin: '1m' },
    keep: { '2026-04-15T12:00Z': ['within 1m'], '2026-03-15T13:00Z': ['within 1m'] },
    remove: ['2026-03-15T11:00Z'],
  },
  {
    // Like Go's AddDate: March 31 minus a month is "February 31", which normalizes to March 3.
    name: 'keepWithin "1m" from March 31 normalizes like restic',
    items: ['2026-02-28T12:00Z', '2026-03-03T12:00Z', '2026-03-03T12:01Z', '2026-03-31T12:00Z'],
    policy: { keepWithin: '1m' },
    keep: { '2026-03-31T12:00Z': ['within 1m'], '2026-03-03T12:01Z': ['within 1m'] },
    remove: ['2026-03-03T12:00Z', '2026-02-28T12:00Z'],
  },
  {
    name: 'keepWithin with years, days and hours',
    items: ['2025-05-08T23:00Z', '2025-05-09T01:00Z', '2026-05-10T12:00Z'],
    policy: { keepWithin: '1y1d12h' },
    keep: { '2026-05-10T12:00Z': ['within 1y1d12h'], '2025-05-09T01:00Z': ['within 1y1d12h'] },
    remove: ['2025-05-08T23:00Z'],
  },
  {
    // São Paulo is UTC-3 (no DST since 2019): 02:30 UTC is 23:30 on the previous local day.
    name: 'daily buckets follow the local date (America/Sao_Paulo)',
    timeZone: 'America/Sao_Paulo',
    items: ['2026-11-20T12:00Z', '2026-11-21T02:30Z', '2026-11-21T12:00Z'],
    policy: { keepDaily: 2 },
    keep: { '2026-11-21T12:00Z': ['daily 2026-11-21'], '2026-11-21T02:30Z': ['daily 2026-11-20'] },
    remove: ['2026-11-20T12:00Z'],
  },
  {
    name: 'the same backups bucketed in UTC',
    items: ['2026-11-20T12:00Z', '2026-11-21T02:30Z', '2026-11-21T12:00Z'],
    policy: { keepDaily: 2 },
    keep: { '2026-11-21T12:00Z': ['daily 2026-11-21'], '2026-11-20T12:00Z': ['daily 2026-11-20'] },
    remove: ['2026-11-21T02:30Z'],
  },
  {
    // DST began 2018-11-04: local midnight jumped to 01:00 (-03 -> -02). Backups at 01:30 local.
    name: 'daily buckets across a DST start at midnight (America/Sao_Paulo 2018)',
    timeZone: 'America/Sao_Paulo',
    items: ['2018-11-03T04:30Z', '2018-11-04T02:30Z', '2018-11-04T03:30Z', '2018-11-05T03:30Z'],
    policy: { keepDaily: 3 },
    keep: {
      '2018-11-05T03:30Z': ['daily 2018-11-05'],
      '2018-11-04T03:30Z': ['daily 2018-11-04'],
      '2018-11-04T02:30Z': ['daily 2018-11-03'], // 23:30 on Nov 3, just before the jump
    },
    remove: ['2018-11-03T04:30Z'],
  },
  {
    // 2026-03-08 02:00 EST became 03:00 EDT. Backups at 01:30 local, plus one at 23:30 local.
    name: 'daily buckets across a DST start (America/New_York)',
    timeZone: 'America/New_York',
    items: ['2026-03-07T06:30Z', '2026-03-08T06:30Z', '2026-03-09T03:30Z', '2026-03-09T05:30Z'],
    policy: { keepDaily: 2 },
    keep: { '2026-03-09T05:30Z': ['daily 2026-03-09'], '2026-03-09T03:30Z': ['daily 2026-03-08'] },
    remove: ['2026-03-08T06:30Z', '2026-03-07T06:30Z'],
  },
  {
    // 2026-10-25 03:00 CEST became 02:00 CET: 02:30 local happens twice (00:30Z and 01:30Z).
    // Buckets are wall-clock hours, as in restic, so both fall in the same hour bucket.
    name: 'hourly buckets across a DST end follow the wall clock (Europe/Berlin)',
    timeZone: 'Europe/Berlin',
    items: ['2026-10-24T23:30Z', '2026-10-25T00:30Z', '2026-10-25T01:30Z', '2026-10-25T02:30Z'],
    policy: { keepHourly: 3 },
    keep: {
      '2026-10-25T02:30Z': ['hourly 2026-10-25T03'],
      '2026-10-25T01:30Z': ['hourly 2026-10-25T02'],
      '2026-10-24T23:30Z': ['hourly 2026-10-25T01'],
    },
    remove: ['2026-10-25T00:30Z'],
  },
  {
    // 2026-03-29 is 23 hours long in Berlin: "1d" back from 12:00 CEST is 12:00 CET (11:00Z).
    name: 'keepWithin "1d" across a DST start is a calendar day (Europe/Berlin)',
    timeZone: 'Europe/Berlin',
    items: ['2026-03-28T10:30Z', '2026-03-28T11:30Z', '2026-03-29T10:00Z'],
    policy: { keepWithin: '1d' },
    keep: { '2026-03-29T10:00Z': ['within 1d'], '2026-03-28T11:30Z': ['within 1d'] },
    remove: ['2026-03-28T10:30Z'],
  },
  {
    name: 'the same keepWithin "1d" in UTC is 24 hours',
    items: ['2026-03-28T10:30Z', '2026-03-28T11:30Z', '2026-03-29T10:00Z'],
    policy: { keepWithin: '1d' },
    keep: {
      '2026-03-29T10:00Z': ['within 1d'],
      '2026-03-28T11:30Z': ['within 1d'],
      '2026-03-28T10:30Z': ['within 1d'],
    },
    remove: [],
  },
  {
    name: 'minKeep tops up with the newest removed backups',
    items: [
      '2026-11-16T02:30Z',
      '2026-11-17T02:30Z',
      '2026-11-18T02:30Z',
      '2026-11-19T02:30Z',
      '2026-11-20T02:30Z',
    ],
    policy: { keepWithin: '1h', minKeep: 3 },
    keep: {
      '2026-11-20T02:30Z': ['within 1h'],
      '2026-11-19T02:30Z': ['minKeep 3'],
      '2026-11-18T02:30Z': ['minKeep 3'],
    },
    remove: ['2026-11-17T02:30Z', '2026-11-16T02:30Z'],
  },
  {
    name: 'minKeep larger than the number of backups keeps them all',
    items: ['2026-11-19T02:30Z', '2026-11-20T02:30Z'],
    policy: { keepLast: 1, minKeep: 5 },
    keep: { '2026-11-20T02:30Z': ['last 1'], '2026-11-19T02:30Z': ['minKeep 5'] },
    remove: [],
  },
  {
    // Backups from 2001, all years older than today: the newest is still kept.
    name: 'the newest backup is kept even when every backup is old',
    items: ['2001-01-01T00:00Z', '2001-01-02T00:00Z', '2001-01-03T00:00Z'],
    policy: { keepWithin: '1h', minKeep: 0 },
    keep: { '2001-01-03T00:00Z': ['within 1h'] },
    remove: ['2001-01-02T00:00Z', '2001-01-01T00:00Z'],
  },
  {
    name: 'an empty policy keeps everything',
    items: ['2026-11-19T02:30Z', '2026-11-20T02:30Z'],
    policy: {},
    keep: { '2026-11-20T02:30Z': ['no retention policy'], '2026-11-19T02:30Z': ['no retention policy'] },
    remove: [],
  },
  {
    // As in restic, a rule set to zero counts as not set.
    name: 'a policy of zeros is empty and keeps everything',
    items: ['2026-11-19T02:30Z', '2026-11-20T02:30Z'],
    policy: { keepLast: 0, keepDaily: 0, keepWithin: '0d', minKeep: 1 },
    keep: { '2026-11-20T02:30Z': ['no retention policy'], '2026-11-19T02:30Z': ['no retention policy'] },
    remove: [],
  },
];

function run(c: Case) {
  const items = c.items.map((id) => ({ id, time: new Date(id) }));
  return applyRetention(items, c.policy, { timeZone: c.timeZone });
}

describe('applyRetention', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(
        [...Object.keys(c.keep), ...c.remove].sort(),
        [...c.items].sort(),
        'table lists every item',
      );
      const decisions = run(c);

      const times = decisions.map((d) => d.time.getTime());
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first',
      );
      const kept = Object.fromEntries(decisions.filter((d) => d.keep).map((d) => [d.id, d.reasons]));
      assert.deepEqual(kept, c.keep);
      const removed = decisions.filter((d) => !d.keep);
      assert.deepEqual(
        removed.map((d) => d.id),
        c.remove,
      );
      for (const d of removed) assert.deepEqual(d.reasons, []);
    });
  }

  test('an empty list gives no decisions', () => {
    assert.deepEqual(applyRetention([], { keepLast: 3 }), []);
  });

  test('only a backup that is not good carries a problem', () => {
    const items = [
      { id: 'b', time: new Date('2026-01-02T00:00:00Z'), problem: 'partial' },
      { id: 'a', time: new Date('2026-01-01T00:00:00Z') },
    ];
    const [bad, good] = applyRetention(items, { keepLast: 1 });
    assert.equal(bad!.problem, 'partial');
    assert.ok(!Object.hasOwn(good!, 'problem'), 'a good backup has no problem field, not even undefined');
  });

  test('the result does not depend on input order and the input is not modified', () => {
    const c = cases.find((x) => x.name.startsWith('keepMonthly'))!;
    const items = c.items.map((id) => ({ id, time: new Date(id) }));
    const before = structuredClone(items);
    const forward = applyRetention(items, c.policy);
    assert.deepEqual(applyRetention([...items].reverse(), c.policy), forward);
    assert.deepEqual(items, before);
  });

  test('backups with the same time are ordered by id', () => {
    const time = new Date('2026-11-20T02:30Z');
    const decisions = applyRetention(
      [
        { id: 'b', time },
        { id: 'a', time },
      ],
      { keepDaily: 1 },
    );
    assert.deepEqual(
      decisions.map((d) => [d.id, d.keep]),
      [
        ['a', true],
        ['b', false],
      ],
    );
  });

  test('rejects bad policies and inputs', () => {
    const items = [{ id: 'x', time: new Date('2026-11-20T02:30Z') }];
    assert.throws(() => applyRetention(items, { keepWithin: '14x' }), {
      message: 'invalid duration "14x": expected e.g. 14d, 36h, 2w, 1y6m',
    });
    assert.throws(() => applyRetention(items, { keepDaily: -1 }), /keepDaily must be a whole number/);
    assert.throws(() => applyRetention(items, { keepDaily: 1.5 }), /keepDaily must be a whole number/);
    assert.throws(() => applyRetention(items, { minKeep: -1 }), /minKeep must be a whole number/);
    assert.throws(
      () => applyRetention(items, { keepDaily: 1 }, { timeZone: 'Mars/Olympus' }),
      /unknown time zone/,
    );
    assert.throws(
      () => applyRetention([{ id: 'bad', time: new Date('nope') }], {}),
      /"bad" has an invalid time/,
    );
  });
});

describe('parseDuration', () => {
  const good: [string, ReturnType<typeof parseDuration>][] = [
    ['14d', { years: 0, months: 0, days: 14, hours: 0 }],
    ['36h', { years: 0, months: 0, days: 0, hours: 36 }],
    ['2w', { years: 0, months: 0, days: 14, hours: 0 }],
    ['1y6m', { years: 1, months: 6, days: 0, hours: 0 }],
    ['30m', { years: 0, months: 30, days: 0, hours: 0 }], // months, as in restic
    ['1w2d', { years: 0, months: 0, days: 9, hours: 0 }],
    [' 1y2m3d4h ', { years: 1, months: 2, days: 3, hours: 4 }],
    ['0d', { years: 0, months: 0, days: 0, hours: 0 }],
  ];
  for (const [text, expected] of good) {
    test(`parses ${JSON.stringify(text)}`, () => assert.deepEqual(parseDuration(text), expected));
  }

  const bad = [
    '',
    ' ',
    '14',
    'd',
    '14x',
    '30min',
    '10s',
    '-1d',
    '1.5d',
    '14 d',
    '2W',
    'd14',
    '99999999999999999999d',
  ];
  for (const text of bad) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseDuration(text), {
        message: `invalid duration "${text}": expected e.g. 14d, 36h, 2w, 1y6m`,
      });
    });
  }
});

describe('isEmptyPolicy', () => {
  test('only keep rules count', () => {
    assert.equal(isEmptyPolicy({}), true);
    assert.equal(isEmptyPolicy({ minKeep: 3 }), true);
    assert.equal(isEmptyPolicy({ keepLast: 0, keepWithin: '0h' }), true);
    assert.equal(isEmptyPolicy({ keepYearly: 1 }), false);
    assert.equal(isEmptyPolicy({ keepWithin: '1h' }), false);
    assert.equal(isEmptyPolicy({ keepWithin: 'soon' }), false); // malformed is still a rule
  });
});

// test/retention-tz.test.ts re-runs this file in a child under a non-UTC TZ, with this flag set.
const CHILD_FLAG = 'LIFEBOAT_RETENTION_TZ_CHILD';

describe('process time zone', () => {
  test('the child runs under a non-UTC TZ', { skip: process.env[CHILD_FLAG] !== '1' }, () => {
    // Proves the TZ really took effect, so the child's passing tables are not vacuous.
    assert.notEqual(new Date('2026-01-01T00:00Z').getTimezoneOffset(), 0);
  });
});

describe('good backups', () => {
  const at = (iso: string, problem?: string) => ({ id: iso, time: new Date(iso), problem });
  const kept = (decisions: ReturnType<typeof applyRetention>) =>
    Object.fromEntries(decisions.filter((d) => d.keep).map((d) => [d.id, d.reasons]));

  test('a backup that is not good fills no keepLast slot; the newest good one is kept', () => {
    const decisions = applyRetention(
      [
        at('2026-11-16T02:30Z'),
        at('2026-11-17T02:30Z'),
        at('2026-11-18T02:30Z'),
        at('2026-11-19T02:30Z', 'incomplete: x'),
        at('2026-11-20T02:30Z', 'corrupt: y'),
      ],
      { keepLast: 1 },
    );
    assert.deepEqual(kept(decisions), {
      '2026-11-20T02:30Z': ['newer than the newest good backup'],
      '2026-11-19T02:30Z': ['newer than the newest good backup'],
      '2026-11-18T02:30Z': ['last 1'],
    });
    assert.deepEqual(
      decisions.map((d) => d.problem),
      ['corrupt: y', 'incomplete: x', undefined, undefined, undefined],
    );
  });

  test('a backup that is not good is removed once a newer good one exists', () => {
    const decisions = applyRetention(
      [at('2026-11-18T02:30Z'), at('2026-11-19T02:30Z', 'partial'), at('2026-11-20T02:30Z')],
      { keepLast: 5 },
    );
    assert.deepEqual(kept(decisions), {
      '2026-11-20T02:30Z': ['last 5'],
      '2026-11-18T02:30Z': ['last 5'],
    });
  });

  test('with no good backup at all, nothing is removed', () => {
    const decisions = applyRetention([at('2026-11-19T02:30Z', 'a'), at('2026-11-20T02:30Z', 'b')], {
      keepLast: 1,
      minKeep: 0,
    });
    assert.deepEqual(kept(decisions), {
      '2026-11-20T02:30Z': ['no good backup'],
      '2026-11-19T02:30Z': ['no good backup'],
    });
  });

  test('minKeep counts good backups only', () => {
    const decisions = applyRetention(
      [
        at('2026-11-16T02:30Z'),
        at('2026-11-17T02:30Z', 'corrupt'),
        at('2026-11-18T02:30Z'),
        at('2026-11-19T02:30Z', 'corrupt'),
        at('2026-11-20T02:30Z'),
      ],
      { keepLast: 1, minKeep: 3 },
    );
    assert.deepEqual(kept(decisions), {
      '2026-11-20T02:30Z': ['last 1'],
      '2026-11-18T02:30Z': ['minKeep 3'],
      '2026-11-16T02:30Z': ['minKeep 3'],
    });
  });

  // The safeguard, made observable: the keepWithin window is anchored on the newest backup, which
  // here is not good, so no rule keeps the newest good one (and minKeep is 0).
  test('the newest good backup is kept even when no rule keeps it', () => {
    const decisions = applyRetention(
      [at('2026-10-30T02:30Z'), at('2026-10-31T02:30Z'), at('2026-11-20T02:30Z', 'corrupt: z')],
      { keepWithin: '14d', minKeep: 0 },
    );
    assert.deepEqual(kept(decisions), {
      '2026-11-20T02:30Z': ['newer than the newest good backup'],
      '2026-10-31T02:30Z': ['newest good backup'],
    });
  });

  test('keepWithin is measured from the newest backup that is not in the future', () => {
    const now = new Date('2026-11-20T12:00Z');
    const decisions = applyRetention(
      [at('2026-11-18T02:30Z'), at('2026-11-19T02:30Z'), at('2026-11-20T02:30Z'), at('2099-01-01T00:00Z')],
      { keepWithin: '36h', minKeep: 0 },
      { now },
    );
    assert.deepEqual(kept(decisions), {
      '2099-01-01T00:00Z': ['newer than the newest good backup'],
      '2026-11-20T02:30Z': ['within 36h'],
      '2026-11-19T02:30Z': ['within 36h'],
    });
    assert.equal(decisions[0]!.problem, 'dated in the future (2099-01-01T00:00:00.000Z)');
    // Without a clock the future one is the anchor, as in restic: then only it would be within.
    assert.deepEqual(
      applyRetention(
        decisions.map(({ id, time }) => ({ id, time })),
        { keepWithin: '36h', minKeep: 0 },
      )
        .filter((d) => d.keep)
        .map((d) => d.id),
      ['2099-01-01T00:00Z'],
    );
  });
});

describe('retention time zone', () => {
  // 02:30 UTC on the 20th is still the 19th in São Paulo (UTC-3): the two zones bucket it differently.
  const items = ['2026-11-19T12:00Z', '2026-11-20T02:30Z'].map((id) => ({ id, time: new Date(id) }));
  const cfg = (retention: string) =>
    parseConfig({
      storages: { disk: { type: 'local', path: '/tmp/x' } },
      jobs: {
        app: {
          source: { type: 'postgres', url: 'postgres://u@h/app' },
          storages: ['disk'],
          schedule: { cron: '30 2 * * *', timezone: 'America/Sao_Paulo' },
          retention: JSON.parse(retention) as unknown,
        },
      },
    }).jobs.app!;

  test("defaults to the schedule's time zone", () => {
    const { policy, timeZone } = policyOf(cfg('{ "keepDaily": 1, "minKeep": 0 }'));
    assert.equal(timeZone, 'America/Sao_Paulo');
    // Both backups fall on São Paulo's 19th, so daily 1 keeps one; in UTC they are two days.
    const decisions = applyRetention(items, policy, { timeZone });
    assert.deepEqual(
      decisions.filter((d) => d.keep).map((d) => [d.id, d.reasons]),
      [['2026-11-20T02:30Z', ['daily 2026-11-19']]],
    );
  });

  test('an explicit retention time zone wins over the schedule', () => {
    assert.equal(policyOf(cfg('{ "keepDaily": 1, "timezone": "UTC" }')).timeZone, 'UTC');
  });
});
