/**
 * The last log lines of each running run, for a ping's body: serve logs every job into one stream,
 * so each run's lines are kept apart here, by job and kind, and only the newest few.
 */
export const RUN_LINES_KEPT = 40;

export interface RunLines {
  /** A run starts: its earlier lines are dropped. */
  start(job: string, kind: string): void;
  add(job: string, kind: string, line: string): void;
  /** The run's lines, oldest first; forgets them. */
  take(job: string, kind: string): string[];
}

export function createRunLines(kept = RUN_LINES_KEPT): RunLines {
  const lines = new Map<string, string[]>();
  const key = (job: string, kind: string) => `${kind} ${job}`;
  return {
    start: (job, kind) => void lines.set(key(job, kind), []),
    add(job, kind, line) {
      const list = lines.get(key(job, kind));
      if (!list) return;
      list.push(line);
      if (list.length > kept) list.shift();
    },
    take(job, kind) {
      const list = lines.get(key(job, kind)) ?? [];
      lines.delete(key(job, kind));
      return list;
    },
  };
}
