/**
 * Unit tests for secret scrubbing (src/util/redact.ts) and the error type (src/util/errors.ts):
 * exit codes, one-line messages and the mapping of Node's system errors; and printed values
 * escaped so that they cannot forge output lines (src/cli/output.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';

import {
  exitCodeFor,
  fromSystemError,
  isLifeboatError,
  LifeboatError,
  oneLine,
  type ErrorCode,
} from '../src/util/errors.js';
import { Redactor } from '../src/util/redact.js';
import { Output, printable } from '../src/cli/output.js';

function systemError(code: string, message = `${code}: something happened`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, errno: -1, syscall: 'open' });
}

describe('Redactor', () => {
  test('masks URL credentials even when nobody registered them', () => {
    const r = new Redactor();
    assert.equal(r.redact('postgres://u:secret@h/db'), 'postgres://u:***@h/db');
    assert.equal(
      r.redact('failed: postgresql://backup:p%40ss@db.internal:5432/app?sslmode=require (timeout)'),
      'failed: postgresql://backup:***@db.internal:5432/app?sslmode=require (timeout)',
    );
    assert.equal(r.redact('s3 at http://minio:minio123@minio:9000/b'), 's3 at http://minio:***@minio:9000/b');
    assert.equal(
      r.redact('two: postgres://a:one@h1/x and postgres://b:two@h2/y'),
      'two: postgres://a:***@h1/x and postgres://b:***@h2/y',
    );
    assert.equal(
      r.redact('multi\nline postgres://u:secret@h/db\nend'),
      'multi\nline postgres://u:***@h/db\nend',
    );
  });

  test('leaves URLs without a password alone', () => {
    const r = new Redactor();
    for (const text of [
      'postgres://u@h:5432/db',
      'postgres://h:5432/db',
      'http://minio:9000/bucket',
      'see https://example.com/a:b for details',
    ]) {
      assert.equal(r.redact(text), text);
    }
  });

  test('masks password= and PGPASSWORD= assignments', () => {
    const r = new Redactor();
    assert.equal(r.redact('host=db password=hunter22 dbname=app'), 'host=db password=*** dbname=app');
    assert.equal(r.redact('PGPASSWORD=hunter22 pg_dump app'), 'PGPASSWORD=*** pg_dump app');
  });

  test('masks registered secrets wherever they appear', () => {
    const r = new Redactor();
    r.add('wJalrXUtnFEMI/K7MDENG');
    r.add('tok-0123');
    const out = r.redact('key wJalrXUtnFEMI/K7MDENG, token tok-0123, again wJalrXUtnFEMI/K7MDENG.');
    assert.equal(out, 'key ***, token ***, again ***.');
  });

  test('addUrl registers the password of a URL, raw and decoded', () => {
    const r = new Redactor();
    r.addUrl('postgres://backup:s3cr%2Ft@db/app');
    assert.equal(
      r.redact('FATAL: password s3cr/t rejected; encoded s3cr%2Ft'),
      'FATAL: password *** rejected; encoded ***',
    );
    // URLs without a password, or not URLs at all, register nothing.
    const plain = new Redactor();
    plain.addUrl('postgres://backup@db/app');
    plain.addUrl('not a url');
    plain.addUrl(undefined);
    assert.equal(plain.redact('backup db app not a url'), 'backup db app not a url');
  });

  test('secrets shorter than 4 characters are not registered', () => {
    const r = new Redactor();
    r.add('abc');
    r.add('');
    r.add(undefined);
    r.addUrl('postgres://u:pw@h/db');
    assert.equal(r.redact('abc pw and a word like pwned'), 'abc pw and a word like pwned');
    r.add('abcd');
    assert.equal(r.redact('abc abcd'), 'abc ***');
  });
});

describe('exitCodeFor', () => {
  const table: Array<[ErrorCode, number]> = [
    ['usage', 2],
    ['config', 2],
    ['not-found', 2],
    ['unreachable', 3],
    ['integrity', 4],
    ['failed', 1],
    ['aborted', 1],
    ['exists', 1],
  ];
  for (const [code, exit] of table) {
    test(`${code} → ${exit}`, () => {
      assert.equal(exitCodeFor(new LifeboatError(code, 'x')), exit);
    });
  }

  test('anything that is not a LifeboatError → 1', () => {
    assert.equal(exitCodeFor(new Error('boom')), 1);
    assert.equal(exitCodeFor(systemError('ENOENT')), 1);
    assert.equal(exitCodeFor('a string'), 1);
    assert.equal(exitCodeFor(undefined), 1);
    assert.equal(exitCodeFor({ code: 'usage' }), 1);
  });
});

describe('LifeboatError', () => {
  test('carries code, hint, retryable and cause', () => {
    const cause = new Error('inner');
    const err = new LifeboatError('unreachable', 'connect db: refused', {
      cause,
      hint: 'start it',
      retryable: true,
    });
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'LifeboatError');
    assert.equal(err.code, 'unreachable');
    assert.equal(err.message, 'connect db: refused');
    assert.equal(err.hint, 'start it');
    assert.equal(err.retryable, true);
    assert.equal(err.cause, cause);
    const bare = new LifeboatError('failed', 'x');
    assert.equal(bare.retryable, false);
    assert.equal(bare.hint, undefined);
    assert.ok(!('cause' in bare) || bare.cause === undefined);
  });

  test('isLifeboatError checks the type and, optionally, the code', () => {
    const err = new LifeboatError('exists', 'x');
    assert.equal(isLifeboatError(err), true);
    assert.equal(isLifeboatError(err, 'exists'), true);
    assert.equal(isLifeboatError(err, 'failed'), false);
    assert.equal(isLifeboatError(Object.assign(new Error('x'), { code: 'exists' }), 'exists'), false);
  });
});

describe('oneLine', () => {
  test('flattens newlines and the whitespace around them', () => {
    assert.equal(oneLine(new Error('first line\n  second line\r\nthird\n')), 'first line second line third');
    assert.equal(oneLine('pg_dump: error:\n\tquery failed'), 'pg_dump: error: query failed');
    assert.equal(oneLine(new Error('already one line')), 'already one line');
    assert.equal(oneLine(42), '42');
  });
});

describe('fromSystemError', () => {
  test('ENOSPC → failed, with a hint', () => {
    const raw = systemError('ENOSPC');
    const err = fromSystemError(raw, 'write a/b to /backups');
    assert.ok(err instanceof LifeboatError);
    assert.equal(err.code, 'failed');
    assert.equal(err.message, 'write a/b to /backups: no space left on device');
    assert.ok(err.hint);
    assert.equal(err.cause, raw);
    assert.equal(exitCodeFor(err), 1);
  });

  test('EACCES, EPERM, EROFS → unreachable (permission denied)', () => {
    for (const code of ['EACCES', 'EPERM', 'EROFS']) {
      const err = fromSystemError(systemError(code), 'write x');
      assert.ok(err instanceof LifeboatError, code);
      assert.equal(err.code, 'unreachable', code);
      assert.equal(err.message, 'write x: permission denied', code);
      assert.equal(exitCodeFor(err), 3);
    }
  });

  test('ENOENT → not-found', () => {
    const err = fromSystemError(systemError('ENOENT'), 'read x');
    assert.ok(err instanceof LifeboatError);
    assert.equal(err.code, 'not-found');
    assert.equal(err.message, 'read x: no such file or directory');
    assert.equal(exitCodeFor(err), 2);
  });

  test('network errors → unreachable and retryable', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENOTFOUND',
      'EAI_AGAIN',
    ]) {
      const err = fromSystemError(systemError(code), 'connect db:5432');
      assert.ok(err instanceof LifeboatError, code);
      assert.equal(err.code, 'unreachable', code);
      assert.equal(err.retryable, true, code);
      assert.match(err.message, new RegExp(`^connect db:5432: [a-z][a-z ]+ \\(${code}\\)$`));
    }
  });

  test('leaves LifeboatErrors and unknown errors alone', () => {
    const mine = new LifeboatError('integrity', 'x');
    assert.equal(fromSystemError(mine, 'y'), mine);
    const other = new Error('plain');
    assert.equal(fromSystemError(other, 'y'), other);
    const odd = systemError('EWHATEVER');
    assert.equal(fromSystemError(odd, 'y'), odd);
    assert.equal(fromSystemError(undefined, 'y'), undefined);
    assert.equal(fromSystemError('text', 'y'), 'text');
  });
});

describe('Output: printed values cannot forge lines', () => {
  const capture = () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    return { stream, text: () => text };
  };

  test('printable escapes C0, DEL and C1 controls; keepTabs keeps column tabs', () => {
    assert.equal(printable('a\nb\rc\td\x1b[31me\x7ff\u0085g'), 'a\\nb\\rc\\td\\x1b[31me\\x7ff\\x85g');
    assert.equal(printable('a\tb\nc', { keepTabs: true }), 'a\tb\\nc');
    assert.equal(printable('plain – ünïcode ✓'), 'plain – ünïcode ✓');
  });

  test('results and logs: one line per element, with values escaped (text mode); JSON is unchanged', () => {
    const out = capture();
    const err = capture();
    const output = new Output({
      json: false,
      logFormat: 'text',
      redactor: new Redactor(),
      stdout: out.stream,
      stderr: err.stream,
    });
    output.result(['ok\tstorage\tat /x\nok\tforged\tline'], {});
    output.warn('detail /x\nerror: forged');
    assert.equal(out.text(), 'ok\tstorage\tat /x\\nok\tforged\tline\n');
    assert.equal(err.text(), 'warn: detail /x\\nerror: forged\n');
    const json = capture();
    new Output({ json: true, logFormat: 'text', redactor: new Redactor(), stdout: json.stream }).result([], {
      path: '/x\ny',
    });
    assert.deepEqual(JSON.parse(json.text()), { path: '/x\ny' });
  });
});
