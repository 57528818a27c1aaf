// `logs`: the container's stdout and stderr, demultiplexed back to this process's fds.
import { copyStream } from '../../client/index.js';
import type { Command } from '../command.js';

/** `--since 10m`, `--since 2024-01-02T03:04:05Z`, or a unix timestamp, as the API's since/until. */
export function timestampParam(value: string | undefined, now = Date.now()): string | undefined {
  if (!value) return undefined;
  const rel = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(value);
  if (rel) {
    const ms = Number(rel[1]) * ({ ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[rel[2]!]!;
    return ((now - ms) / 1000).toFixed(9);
  }
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  // RFC 3339 keeps its nanoseconds, as the docker CLI: `logs -t` prints them and --since takes them back.
  const nano = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (nano && !Number.isNaN(Date.parse(nano[1]! + nano[3]!))) return `${Date.parse(nano[1]! + nano[3]!) / 1000}.${nano[2]!.padEnd(9, '0').slice(0, 9)}`;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error(`invalid value for "since": failed to parse value as time or duration: "${value}"`);
  return (t / 1000).toFixed(9);
}

export const logsCommand: Command = {
  path: ['container', 'logs'],
  aliases: [['logs']],
  usage: '[OPTIONS] CONTAINER',
  short: 'Fetch the logs of a container',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'details', type: 'bool', help: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', type: 'bool', help: 'Follow log output' },
    { name: 'since', type: 'string', help: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)', valueName: 'string' },
    { name: 'tail', short: 'n', type: 'string', help: 'Number of lines to show from the end of the logs', valueName: 'string', default: 'all' },
    { name: 'timestamps', short: 't', type: 'bool', help: 'Show timestamps' },
    { name: 'until', type: 'string', help: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const name = encodeURIComponent(args[0]!);
    const info = await client.json<{ Config: { Tty: boolean } }>('GET', `/containers/${name}/json`);
    const res = await client.request('GET', `/containers/${name}/logs`, {
      query: {
        stdout: true,
        stderr: true,
        follow: !!flags['follow'] || undefined,
        timestamps: !!flags['timestamps'] || undefined,
        details: !!flags['details'] || undefined,
        tail: flags['tail'] as string,
        since: timestampParam(flags['since'] as string | undefined),
        until: timestampParam(flags['until'] as string | undefined),
      },
    });
    await copyStream(res, ctx.stdout, ctx.stderr, info.Config.Tty);
  },
};
