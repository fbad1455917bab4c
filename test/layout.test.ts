/**
 * Unit tests for artifact naming (src/catalog/layout.ts): backup ids, path segments, the layout and
 * name templates, extensions and keys; plus the id ordering used by the catalog (compareIds).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { compareIds } from '../src/catalog/catalog.js';
import { chainExtension, codecChain } from '../src/codecs/chain.js';
import {
  backupId,
  DEFAULT_LAYOUT,
  idTime,
  isBackupId,
  joinKey,
  manifestKey,
  nextIdSuffix,
  renderTemplate,
  safeSegment,
  sourceLayout,
  staticPrefix,
  templateProblem,
  validateTemplate,
} from '../src/catalog/layout.js';
import { LifeboatError } from '../src/util/errors.js';

describe('backup ids', () => {
  test('backupId formats the UTC time, zero-padded', () => {
    assert.equal(backupId(new Date('2026-11-22T02:30:00Z')), '20261122T023000Z');
    assert.equal(backupId(new Date('2001-01-02T03:04:05.999Z')), '20010102T030405Z');
    // A non-UTC offset in the input is converted, not copied.
    assert.equal(backupId(new Date('2026-11-21T23:30:07-03:00')), '20261122T023007Z');
    assert.equal(backupId(new Date('2026-12-31T23:59:59Z')), '20261231T235959Z');
  });

  test('isBackupId accepts ids with and without a collision suffix only', () => {
    for (const id of ['20261122T023000Z', '20261122T023000Z-2', '20261122T023000Z-10']) {
      assert.equal(isBackupId(id), true, id);
    }
    for (const text of [
      'latest',
      '',
      '20261122T023000',
      '20261122T023000z',
      '20261122T023000Z-',
      '20261122T023000Z-x',
      '2026-11-22T02:30:00Z',
      '20261122T0230Z',
      ' 20261122T023000Z',
      '20261122T023000Z.json',
    ]) {
      assert.equal(isBackupId(text), false, JSON.stringify(text));
    }
  });

  test('idTime is the instant of the id, ignoring the suffix', () => {
    assert.equal(idTime('20261122T023000Z').toISOString(), '2026-11-22T02:30:00.000Z');
    assert.equal(idTime('20261122T023000Z-7').toISOString(), '2026-11-22T02:30:00.000Z');
    const at = new Date('2031-07-04T19:08:51Z');
    assert.equal(idTime(backupId(at)).getTime(), at.getTime());
  });

  test('idTime rejects anything else with a usage error', () => {
    assert.throws(
      () => idTime('yesterday'),
      (err: unknown) =>
        err instanceof LifeboatError && err.code === 'usage' && err.message.includes('"yesterday"'),
    );
  });

  test('nextIdSuffix counts …Z → …Z-2 → …Z-3, and past 9', () => {
    assert.equal(nextIdSuffix('20261122T023000Z'), '20261122T023000Z-2');
    assert.equal(nextIdSuffix('20261122T023000Z-2'), '20261122T023000Z-3');
    assert.equal(nextIdSuffix('20261122T023000Z-9'), '20261122T023000Z-10');
    assert.equal(nextIdSuffix('20261122T023000Z-10'), '20261122T023000Z-11');
    assert.ok(isBackupId(nextIdSuffix('20261122T023000Z-10')));
  });

  test('compareIds orders by time, then by suffix numerically', () => {
    assert.ok(compareIds('20261122T023000Z', '20261122T023000Z-2') < 0);
    assert.ok(compareIds('20261122T023000Z-2', '20261122T023000Z-10') < 0);
    assert.ok(compareIds('20261122T023000Z-10', '20261122T023000Z-2') > 0);
    assert.ok(compareIds('20261122T022959Z-10', '20261122T023000Z') < 0);
    assert.ok(compareIds('20261122T023001Z', '20261122T023000Z-99') > 0);
    assert.equal(compareIds('20261122T023000Z-3', '20261122T023000Z-3'), 0);
    const ids = [
      '20261122T023000Z-10',
      '20261122T023001Z',
      '20261122T023000Z',
      '20251231T235959Z',
      '20261122T023000Z-2',
      '20261122T023000Z-3',
    ];
    assert.deepEqual([...ids].sort(compareIds), [
      '20251231T235959Z',
      '20261122T023000Z',
      '20261122T023000Z-2',
      '20261122T023000Z-3',
      '20261122T023000Z-10',
      '20261122T023001Z',
    ]);
  });
});

describe('safeSegment', () => {
  test('keeps [A-Za-z0-9._-] and %-encodes every other byte', () => {
    assert.equal(safeSegment('app_db-1.v2'), 'app_db-1.v2');
    assert.equal(safeSegment('we"ird db'), 'we%22ird%20db');
    assert.equal(safeSegment('a/b\\c'), 'a%2Fb%5Cc');
    assert.equal(safeSegment('100%'), '100%25');
    assert.equal(safeSegment('{job}'), '%7Bjob%7D');
  });

  test('encodes unicode as UTF-8 bytes', () => {
    assert.equal(safeSegment('café'), 'caf%C3%A9');
    assert.equal(safeSegment('€'), '%E2%82%AC');
    assert.equal(safeSegment('日本'), '%E6%97%A5%E6%9C%AC');
    assert.equal(decodeURIComponent(safeSegment('ação 😀')), 'ação 😀');
  });

  test('"." and ".." become usable names; longer dot runs are already fine', () => {
    assert.equal(safeSegment('.'), '%2E');
    assert.equal(safeSegment('..'), '%2E%2E');
    assert.equal(safeSegment('...'), '...');
    assert.equal(safeSegment('.hidden'), '.hidden');
  });

  test('different names never map to the same segment', () => {
    const names = ['a b', 'a%20b', 'a_b', '.', '%2E', '..', 'é', '%C3%A9'];
    assert.equal(new Set(names.map(safeSegment)).size, names.length);
  });
});

describe('templates', () => {
  const at = new Date('2026-03-04T05:06:07Z');

  test('renderTemplate fills every token from UTC', () => {
    assert.equal(
      renderTemplate('{job}/{db}/{id}/{yyyy}-{MM}-{dd}T{HH}:{mm}:{ss}', {
        job: 'app',
        db: 'orders',
        id: '20260304T050607Z',
        at,
      }),
      'app/orders/20260304T050607Z/2026-03-04T05:06:07',
    );
  });

  test('renderTemplate makes job and db safe segments, and renders a missing db as empty', () => {
    assert.equal(
      renderTemplate('{job}/{db}', { job: 'my job', db: 'we"ird/db', id: 'x', at }),
      'my%20job/we%22ird%2Fdb',
    );
    assert.equal(renderTemplate('{job}/{db}full', { job: 'app', id: 'x', at }), 'app/full');
  });

  test('renderTemplate renders {db} of an artifact that is not one database as its role', () => {
    assert.equal(
      renderTemplate('eternia-backup-{yyyy}{MM}{dd}-{db}', { job: 'app', id: 'x', at, role: 'globals' }),
      'eternia-backup-20260304-globals',
    );
    assert.equal(renderTemplate('{db}', { job: 'app', id: 'x', at, role: 'full' }), 'full');
    // A database's own name wins over its role.
    assert.equal(
      renderTemplate('{db}', { job: 'app', id: 'x', at, db: 'orders', role: 'database' }),
      'orders',
    );
  });

  test('the default layout', () => {
    assert.equal(DEFAULT_LAYOUT, '{job}/{yyyy}/{MM}/{dd}/{id}');
    assert.equal(
      renderTemplate(DEFAULT_LAYOUT, { job: 'app', id: '20260304T050607Z', at }),
      'app/2026/03/04/20260304T050607Z',
    );
  });

  test('validateTemplate accepts every known token', () => {
    assert.doesNotThrow(() =>
      validateTemplate('{job}/{db}/{id}/{yyyy}/{MM}/{dd}/{HH}{mm}{ss}', 'jobs.app.layout'),
    );
    assert.doesNotThrow(() => validateTemplate('no tokens at all', 'jobs.app.name'));
  });

  test('validateTemplate rejects an unknown token with a config error naming it', () => {
    for (const [template, token] of [
      ['{job}/{year}/{MM}', '{year}'],
      ['{job}/{YYYY}', '{YYYY}'],
      ['{job}/{}', '{}'],
      ['{Job}', '{Job}'],
    ] as const) {
      assert.throws(
        () => validateTemplate(template, 'jobs.app.layout'),
        (err: unknown) =>
          err instanceof LifeboatError &&
          err.code === 'config' &&
          err.message.startsWith(`jobs.app.layout: unknown token ${token} `),
        template,
      );
    }
  });

  test('staticPrefix is the folder before the first token', () => {
    assert.equal(staticPrefix('{job}/{yyyy}/{MM}/{dd}/{id}', 'app'), 'app/');
    assert.equal(staticPrefix('postgresql-18/{yyyy}/{MM}/{dd}', 'app'), 'postgresql-18/');
    assert.equal(staticPrefix('backups/{job}/{yyyy}', 'app'), 'backups/app/');
    assert.equal(staticPrefix('pg-{yyyy}/{MM}', 'app'), '');
    assert.equal(staticPrefix('{yyyy}/{job}', 'app'), '');
    assert.equal(staticPrefix('{job}/{yyyy}', 'my job'), 'my%20job/');
  });

  test('every rendered key starts with the static prefix', () => {
    for (const layout of [DEFAULT_LAYOUT, 'postgresql-18/{yyyy}/{MM}/{dd}', 'x/{job}-{yyyy}/{id}', 'flat']) {
      const prefix = staticPrefix(layout, 'app');
      const key = joinKey(renderTemplate(layout, { job: 'app', id: '20260304T050607Z', at }), 'full.sql.zst');
      assert.ok(key.startsWith(prefix), `${key} should start with ${prefix}`);
    }
  });
});

describe('template problems', () => {
  const at = new Date('2026-03-04T05:06:07Z');

  test('an unknown token: the message lists every token', () => {
    assert.deepEqual(templateProblem('{job}/{year}', 'layout'), {
      message: 'unknown token {year} (tokens: {job} {source} {db} {id} {yyyy} {MM} {dd} {HH} {mm} {ss})',
    });
  });

  test('control characters, in a layout or a name', () => {
    for (const kind of ['layout', 'name'] as const)
      for (const template of ['a\u0001b', 'a\nb', 'a\u007fb', 'a\u009fb'])
        assert.deepEqual(templateProblem(template, kind), { message: 'control characters are not allowed' });
    assert.equal(templateProblem('a\u00a0b', 'name'), undefined, 'U+00A0 is not a control character');
  });

  test('a name: one file name, not empty, not "." or ".."', () => {
    assert.deepEqual(templateProblem('', 'name'), {
      message: 'expected a file name (without extension), e.g. full or {db}',
    });
    for (const template of ['a/b', 'a\\b', '{db}/x'])
      assert.deepEqual(templateProblem(template, 'name'), {
        message: `${JSON.stringify(template)} contains a folder; a name is one file name`,
        hint: 'put folders in layout',
      });
    for (const template of ['.', '..'])
      assert.deepEqual(templateProblem(template, 'name'), { message: `"${template}" is not a file name` });
    for (const template of ['full', '{db}', '...', '.hidden', 'a..b'])
      assert.equal(templateProblem(template, 'name'), undefined, template);
  });

  test('a layout: a relative folder without "." or ".." segments; "" is the root', () => {
    for (const template of ['/backups', '\\backups', 'C:/backups', 'c:backups'])
      assert.deepEqual(templateProblem(template, 'layout'), {
        message: `${JSON.stringify(template)} is an absolute path; a layout is a folder inside the storage`,
        hint: 'drop the leading "/"; layout: "" is the storage root',
      });
    for (const template of ['.', '..', 'a/./b', 'a/../b', '../x', 'a/..', 'a\\..\\b'])
      assert.deepEqual(templateProblem(template, 'layout'), {
        message: `${JSON.stringify(template)} has a "." or ".." folder; a layout stays inside the storage`,
        hint: 'layout: "" is the storage root',
      });
    for (const template of ['', 'a/b', '{job}/{id}', 'a/.../b', 'a..b/c', '1:2', 'a/b:c', '{db}/x'])
      assert.equal(templateProblem(template, 'layout'), undefined, template);
  });

  test('validateTemplate: a layout unless told otherwise; the hint goes with the config error', () => {
    assert.doesNotThrow(() => validateTemplate('a/b', 'jobs.app.layout'));
    assert.throws(
      () => validateTemplate('a/b', 'jobs.app.name', 'name'),
      (err: unknown) => {
        assert.ok(err instanceof LifeboatError);
        assert.equal(err.code, 'config');
        assert.equal(err.message, 'jobs.app.name: "a/b" contains a folder; a name is one file name');
        assert.equal(err.hint, 'put folders in layout');
        return true;
      },
    );
    assert.throws(
      () => validateTemplate('', 'jobs.app.name', 'name'),
      (err: unknown) => {
        assert.ok(err instanceof LifeboatError);
        assert.equal(err.hint, undefined);
        return true;
      },
    );
  });

  test('safeSegment pads a byte below 0x10 to two hex digits', () => {
    assert.equal(safeSegment('a\nb'), 'a%0Ab');
    assert.equal(safeSegment('\u0001'), '%01');
  });

  test('{source} renders the source name as a safe segment, or nothing', () => {
    assert.equal(
      renderTemplate('{job}/{source}/x', { job: 'app', id: 'i', at, source: 'db 1' }),
      'app/db%201/x',
    );
    assert.equal(renderTemplate('{job}/{source}', { job: 'app', id: 'i', at }), 'app/');
    // Config validation refuses unknown tokens; should one get here, it renders as nothing.
    assert.equal(renderTemplate('{job}/{nope}x', { job: 'app', id: 'i', at }), 'app/x');
  });

  test('sourceLayout: several sources get a folder each unless the layout or name says {source}', () => {
    assert.equal(sourceLayout('{job}/{id}', '{db}', 1), '{job}/{id}', 'one source: the layout as is');
    assert.equal(sourceLayout('{job}/{id}', '{db}', 2), '{job}/{id}/{source}');
    assert.equal(
      sourceLayout('{job}/{id}//', undefined, 3),
      '{job}/{id}/{source}',
      'trailing slashes folded',
    );
    assert.equal(sourceLayout('', undefined, 2), '{source}', 'the root');
    assert.equal(sourceLayout('{job}/{source}/{id}', undefined, 2), '{job}/{source}/{id}');
    assert.equal(sourceLayout('{job}/{id}', '{source}-{db}', 2), '{job}/{id}');
  });

  test('staticPrefix of a layout without tokens is the whole layout', () => {
    assert.equal(staticPrefix('backups/daily/', 'app'), 'backups/daily/');
    assert.equal(staticPrefix('backups/daily', 'app'), 'backups/');
  });
});

describe('extensions and keys', () => {
  test('the codec chain names the extensions: compression, then encryption', () => {
    const age = { recipients: ['age1xvhljfgnj4cylp4gw0n4qjq54yqly3clj9kr3nv8tcvm78yl4exsn508sk'] };
    const table: Array<[compression: 'zstd' | 'gzip' | 'none', string]> = [
      ['zstd', '.zst'],
      ['gzip', '.gz'],
      ['none', ''],
    ];
    for (const [type, ext] of table) {
      assert.equal(chainExtension(codecChain({ compression: { type } })), ext);
      assert.equal(chainExtension(codecChain({ compression: { type }, encryption: age })), `${ext}.age`);
      assert.equal(chainExtension(codecChain({ compression: { type }, encryption: null })), ext);
    }
  });

  test('joinKey normalises empty segments', () => {
    assert.equal(joinKey('a//b/', 'c.sql'), 'a/b/c.sql');
    assert.equal(joinKey('/a/b', 'c.sql'), 'a/b/c.sql');
    assert.equal(joinKey('', 'c.sql'), 'c.sql');
    assert.equal(
      joinKey('app/2026/03/04/20260304T050607Z', 'globals.sql.zst'),
      'app/2026/03/04/20260304T050607Z/globals.sql.zst',
    );
  });

  test('manifestKey lives under .lifeboat/ with a safe job segment', () => {
    assert.equal(manifestKey('app', '20260304T050607Z'), '.lifeboat/app/20260304T050607Z.json');
    assert.equal(manifestKey('my job', '20260304T050607Z-2'), '.lifeboat/my%20job/20260304T050607Z-2.json');
  });
});
