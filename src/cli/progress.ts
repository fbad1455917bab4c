/**
 * Progress for long backups, verifies and restores on a terminal: bytes, rate and elapsed time,
 * redrawn at most a few times a second.
 */
import type { Output } from './output.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

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
