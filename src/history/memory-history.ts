/**
 * An in-memory RunHistory for tests (and for a service run without a history file). It answers
 * exactly like the SQLite one; test/history.test.ts runs the same suite against both.
 */
import type { RunFinish, RunHistory, RunRecord } from './types.js';
import { isoUtc, newestFirst, normalizeStart } from './record.js';

export function createMemoryHistory(): RunHistory {
  const runs = new Map<number, RunRecord>();
  let nextId = 1;
  // Callers get copies, as they would from a database, so they cannot edit the history by accident.
  const copy = (r: RunRecord): RunRecord => structuredClone(r);

  return {
    start(run) {
      const id = nextId++;
      runs.set(id, { ...structuredClone(normalizeStart(run)), id, result: 'running' });
      return id;
    },

    finish(id, outcome: RunFinish) {
      const run = runs.get(id);
      if (!run) return;
      const given = Object.fromEntries(Object.entries(outcome).filter(([, v]) => v !== undefined));
      Object.assign(run, structuredClone(given), { finishedAt: isoUtc(outcome.finishedAt) });
    },

    list(filter = {}) {
      const out = [...runs.values()]
        .filter(
          (r) =>
            (filter.job === undefined || r.job === filter.job) &&
            (filter.kind === undefined || r.kind === filter.kind),
        )
        .sort(newestFirst);
      return (filter.limit === undefined ? out : out.slice(0, Math.max(0, Math.floor(filter.limit)))).map(
        copy,
      );
    },

    last(job, kind, result) {
      const found = [...runs.values()]
        .filter(
          (r) =>
            r.job === job && r.kind === kind && r.result !== 'running' && (!result || r.result === result),
        )
        .sort(newestFirst)[0];
      return found && copy(found);
    },

    prune(before) {
      const cutoff = before.toISOString();
      let removed = 0;
      for (const [id, r] of runs) {
        if (r.result !== 'running' && r.startedAt < cutoff) {
          runs.delete(id);
          removed++;
        }
      }
      return removed;
    },

    close() {},
  };
}
