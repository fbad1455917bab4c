/**
 * Progress for long backups, verifies and restores on a terminal: bytes, rate and elapsed time,
 * redrawn at most a few times a second.
 */
import { formatBytes, formatDuration } from '../util/format.js';
import type { Output } from './output.js';

export { formatBytes, formatDuration };

export function progressReporter(output: Output, verb: string) {
  const started = Date.now();
  let last = 0;
  return (label: string, bytes: number) => {
    const now = Date.now();
    if (now - last < 250) return;
    last = now;
    const elapsed = now - started;
    const rate = elapsed > 0 ? (bytes / elapsed) * 1000 : 0;
    output.progress(
      `${verb} ${label}: ${formatBytes(bytes)} at ${formatBytes(rate)}/s, ${formatDuration(elapsed)}`,
    );
  };
}
