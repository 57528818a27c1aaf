// Docker's progress bar text (`[==>    ]  1.2MB/3.4MB`) for the `progress` field of JSON messages.
import { humanSizeDecimal } from './units.js';

export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSizeDecimal(current);
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (filled >= width ? '=' : '>') : '') + ' '.repeat(width - filled);
  return `[${bar}] ${padStart(humanSizeDecimal(current), 8)}/${humanSizeDecimal(total)}`;
}

function padStart(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** Reports at most every `ms` milliseconds, and always the last value. */
export function throttle(fn: (n: number) => void, ms = 100): (n: number, force?: boolean) => void {
  let last = 0;
  return (n, force) => {
    const now = Date.now();
    if (force || now - last >= ms) {
      last = now;
      fn(n);
    }
  };
}
