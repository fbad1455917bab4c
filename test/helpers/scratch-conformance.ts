/**
 * A conformance suite for drill scratch targets (Scratch, src/sources/drill-scratch.ts): a local
 * throwaway cluster and a configured server (plain or disposable) must all behave the same way
 * towards the drill:
 *
 *   scratchConformance('local', { open, minMajor });
 *
 * `open` is called once per test and returns a fresh Scratch. Each test creates a database the way
 * a restore does (after `prepare`), reads it back through `url()`, and checks that `dispose()`
 * leaves nothing of it behind and can be called again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import type { Scratch } from '../../src/sources/drill-scratch.js';
import { withClient } from '../../src/sources/postgres/connection.js';

export interface ScratchKind {
  open(): Promise<Scratch>;
  /** The smallest server major the target was asked for. */
  minMajor: number;
  /** Strings that must never show in `where` (passwords in the configured URL). */
  secrets?: string[];
}

export function scratchConformance(kind: string, impl: ScratchKind): void {
  describe(`scratch target conformance: ${kind}`, () => {
    test('a restored database is reachable at url(); dispose() removes it, and again finds nothing to do', async () => {
      const scratch = await impl.open();
      try {
        await scratch.prepare(['drill_shop']);
        await withClient(scratch.url('postgres'), (c) => c.query('create database drill_shop'));
        const rows = await withClient(scratch.url('drill_shop'), async (c) => {
          await c.query('create table items (id int); insert into items values (1), (2)');
          return (await c.query<{ n: string }>('select count(*)::text as n from items')).rows[0]?.n;
        });
        assert.equal(rows, '2');
      } finally {
        assert.deepEqual(await scratch.dispose(), [], 'dispose undid everything');
      }
      await assert.rejects(
        withClient(scratch.url('drill_shop'), (c) => c.query('select 1')),
        /drill_shop|ECONNREFUSED|ENOENT|connect/,
        'the drill database is gone',
      );
      assert.deepEqual(await scratch.dispose(), [], 'a second dispose() is harmless');
    });

    test('where names the server without a secret; serverVersion is at least the major asked for', async () => {
      const scratch = await impl.open();
      try {
        assert.equal(scratch.kind, kind.split(' ')[0]);
        assert.ok(scratch.where.length > 0);
        for (const secret of impl.secrets ?? []) assert.ok(!scratch.where.includes(secret), scratch.where);
        const major = Number(/^(\d+)/.exec(scratch.serverVersion)?.[1]);
        assert.ok(major >= impl.minMajor, `${scratch.serverVersion} >= ${impl.minMajor}`);
      } finally {
        await scratch.dispose();
      }
    });
  });
}
