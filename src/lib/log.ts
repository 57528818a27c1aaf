// Leveled logging to stderr in logfmt-ish lines, as dockerd does. The level is process-wide and set
// once by berthd's --log-level / --debug.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };
let threshold: LogLevel = (process.env.BERTH_LOG_LEVEL as LogLevel) in ORDER ? (process.env.BERTH_LOG_LEVEL as LogLevel) : 'info';

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in ORDER;
}

function write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < ORDER[threshold]) return;
  let line = `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}`;
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${JSON.stringify(v instanceof Error ? v.message : v)}`;
  process.stderr.write(line + '\n');
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};
