// Reading the k8s-file logs conmon writes: `<RFC3339Nano> <stdout|stderr> <F|P> <text>`, one line
// per record (P marks a partial line continued by the next record). Supports Docker's logs options:
// tail, since/until, follow until the container stops.
import { closeSync, openSync, readSync, statSync, watch, existsSync } from 'node:fs';

export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  /** The RFC 3339 timestamp as written. */
  time: string;
  /** The line, with its newline unless partial. */
  data: Buffer;
}

export function parseLogLine(line: string): LogRecord | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const time = line.slice(0, a);
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  const text = c < 0 ? '' : line.slice(c + 1);
  return { stream, time, timeNs: parseTimeNs(time), data: Buffer.from(tag.startsWith('P') ? text : text + '\n') };
}

export function parseTimeNs(t: string): bigint {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return 0n;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

export interface ReadLogOptions {
  follow?: boolean;
  /** Last N records (all when undefined). */
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  /** Following stops once this resolves and the file is drained. */
  stopped?: Promise<void>;
  signal?: AbortSignal;
}

/** Whole lines from `offset`; returns the new offset (stopping before a trailing partial line). */
function readLines(file: string, offset: number): { lines: string[]; offset: number } {
  if (!existsSync(file)) return { lines: [], offset };
  const size = statSync(file).size;
  if (size <= offset) return { lines: [], offset };
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    const text = buf.subarray(0, n).toString('utf8');
    const last = text.lastIndexOf('\n');
    if (last < 0) return { lines: [], offset };
    return { lines: text.slice(0, last).split('\n'), offset: offset + Buffer.byteLength(text.slice(0, last + 1)) };
  } finally {
    closeSync(fd);
  }
}

export async function* readLogs(file: string, opts: ReadLogOptions = {}): AsyncGenerator<LogRecord> {
  let { lines, offset } = readLines(file, 0);
  let records = lines.map(parseLogLine).filter((r): r is LogRecord => !!r);
  if (opts.sinceNs !== undefined) records = records.filter((r) => r.timeNs >= opts.sinceNs!);
  if (opts.untilNs !== undefined) records = records.filter((r) => r.timeNs <= opts.untilNs!);
  if (opts.tail !== undefined && opts.tail >= 0) records = opts.tail === 0 ? [] : records.slice(-opts.tail);
  yield* records;
  if (!opts.follow) return;
  let stopped = false;
  void opts.stopped?.then(() => (stopped = true));
  let wake: (() => void) | undefined;
  const watcher = existsSync(file) ? watch(file, () => wake?.()) : undefined;
  try {
    for (;;) {
      if (opts.signal?.aborted) return;
      const next = readLines(file, offset);
      offset = next.offset;
      for (const l of next.lines) {
        const r = parseLogLine(l);
        if (!r) continue;
        if (opts.untilNs !== undefined && r.timeNs > opts.untilNs) return;
        yield r;
      }
      if (stopped) {
        // One more read after the stop, for what conmon flushed last.
        const tail = readLines(file, offset);
        for (const l of tail.lines) {
          const r = parseLogLine(l);
          if (r) yield r;
        }
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        const t = setTimeout(resolve, 250);
        void opts.stopped?.then(() => {
          clearTimeout(t);
          resolve();
        });
        opts.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  } finally {
    watcher?.close();
  }
}
