/** One-line rendering of failures for the terminal: "what failed: why — hint: what to do". */
import { LifeboatError, oneLine } from '../util/errors.js';

export function describeError(err: unknown): string {
  const line = oneLine(err);
  if (err instanceof LifeboatError && err.hint) return `${line} (hint: ${err.hint})`;
  if (!(err instanceof LifeboatError)) {
    const code = (err as NodeJS.ErrnoException)?.code;
    return code ? `${line} [${code}]` : line;
  }
  return line;
}
