// The per-container verbs that take a list of names: stop, restart, kill, pause, unpause, rm,
// wait; plus rename and update. Each prints the name it acted on, reports failures on stderr in
// the daemon's words and exits 1 if any failed, as docker does.
import { DaemonError, type EngineClient } from '../../client/index.js';
import type { Command, Context } from '../command.js';
import type { FlagValues } from '../flags.js';
import { parseCpus, parseMemory, parseRestartPolicy } from './container-opts.js';

/** Runs `act` for each name in order; successes print `name`, failures go to stderr. */
export async function eachContainer(ctx: Context, names: string[], act: (client: EngineClient, name: string) => Promise<string | void>): Promise<number> {
  const client = await ctx.client();
  let failed = false;
  for (const name of names) {
    try {
      const out = await act(client, name);
      ctx.stdout.write(`${out ?? name}\n`);
    } catch (err) {
      if (!(err instanceof DaemonError)) throw err;
      ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

const path = (name: string, verb = '') => `/containers/${encodeURIComponent(name)}${verb ? `/${verb}` : ''}`;
async function post(client: EngineClient, p: string, query?: Record<string, string | number | boolean | undefined>): Promise<void> {
  (await client.request('POST', p, { query })).resume();
}

const stopFlags = [
  { name: 'signal', short: 's', type: 'string' as const, help: 'Signal to send to the container', valueName: 'string' },
  { name: 'timeout', short: 't', type: 'int' as const, help: 'Seconds to wait before killing the container', valueName: 'int' },
  { name: 'time', type: 'int' as const, help: 'Seconds to wait before killing the container (deprecated: use --timeout)', valueName: 'int', hidden: true },
];
const timeoutOf = (f: FlagValues) => (f['timeout'] ?? f['time']) as number | undefined;

export const stopCommand: Command = {
  path: ['container', 'stop'],
  aliases: [['stop']],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Stop one or more running containers',
  args: { min: 1 },
  flags: stopFlags,
  run: (ctx, args, flags) => eachContainer(ctx, args, (c, n) => post(c, path(n, 'stop'), { t: timeoutOf(flags), signal: flags['signal'] as string | undefined })),
};

export const restartCommand: Command = {
  path: ['container', 'restart'],
  aliases: [['restart']],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Restart one or more containers',
  args: { min: 1 },
  flags: stopFlags,
  run: (ctx, args, flags) => eachContainer(ctx, args, (c, n) => post(c, path(n, 'restart'), { t: timeoutOf(flags), signal: flags['signal'] as string | undefined })),
};

export const killCommand: Command = {
  path: ['container', 'kill'],
  aliases: [['kill']],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Kill one or more running containers',
  args: { min: 1 },
  flags: [{ name: 'signal', short: 's', type: 'string', help: 'Signal to send to the container', valueName: 'string' }],
  run: (ctx, args, flags) => eachContainer(ctx, args, (c, n) => post(c, path(n, 'kill'), { signal: flags['signal'] as string | undefined })),
};

export const pauseCommand: Command = {
  path: ['container', 'pause'],
  aliases: [['pause']],
  usage: 'CONTAINER [CONTAINER...]',
  short: 'Pause all processes within one or more containers',
  args: { min: 1 },
  flags: [],
  run: (ctx, args) => eachContainer(ctx, args, (c, n) => post(c, path(n, 'pause'))),
};

export const unpauseCommand: Command = {
  path: ['container', 'unpause'],
  aliases: [['unpause']],
  usage: 'CONTAINER [CONTAINER...]',
  short: 'Unpause all processes within one or more containers',
  args: { min: 1 },
  flags: [],
  run: (ctx, args) => eachContainer(ctx, args, (c, n) => post(c, path(n, 'unpause'))),
};

export const rmCommand: Command = {
  path: ['container', 'rm'],
  aliases: [['rm'], ['container', 'remove']],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Remove one or more containers',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'link', short: 'l', type: 'bool', help: 'Remove the specified link' },
    { name: 'volumes', short: 'v', type: 'bool', help: 'Remove anonymous volumes associated with the container' },
  ],
  run: (ctx, args, flags) => eachContainer(ctx, args, async (c, n) => {
    (await c.request('DELETE', path(n), { query: { force: !!flags['force'], v: !!flags['volumes'], link: !!flags['link'] } })).resume();
  }),
};

export const waitCommand: Command = {
  path: ['container', 'wait'],
  aliases: [['wait']],
  usage: 'CONTAINER [CONTAINER...]',
  short: 'Block until one or more containers stop, then print their exit codes',
  args: { min: 1 },
  flags: [],
  run: (ctx, args) => eachContainer(ctx, args, async (c, n) => {
    const r = await c.json<{ StatusCode: number }>('POST', path(n, 'wait'), { query: { condition: 'not-running' } });
    return String(r.StatusCode);
  }),
};

export const renameCommand: Command = {
  path: ['container', 'rename'],
  aliases: [['rename']],
  usage: 'CONTAINER NEW_NAME',
  short: 'Rename a container',
  args: { min: 2, max: 2 },
  flags: [],
  async run(ctx, args) {
    const client = await ctx.client();
    const name = args[1]!.trim();
    if (!name) {
      ctx.stderr.write('Error: Neither old nor new names may be empty\n');
      return 1;
    }
    try {
      await post(client, path(args[0]!, 'rename'), { name });
    } catch (err) {
      if (!(err instanceof DaemonError)) throw err;
      ctx.stderr.write(`Error response from daemon: ${err.message}\nError: failed to rename container named ${args[0]}\n`);
      return 1;
    }
  },
};

/** The resources body of POST /containers/{id}/update from `update`'s flags. */
export function updateBody(flags: FlagValues): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const s = (k: string) => flags[k] as string | undefined;
  if (s('memory')) body['Memory'] = parseMemory(s('memory')!);
  if (s('memory-swap')) body['MemorySwap'] = s('memory-swap') === '-1' ? -1 : parseMemory(s('memory-swap')!);
  if (s('memory-reservation')) body['MemoryReservation'] = parseMemory(s('memory-reservation')!);
  if (s('cpus')) body['NanoCpus'] = parseCpus(s('cpus')!);
  if (flags['cpu-shares'] !== undefined) body['CpuShares'] = flags['cpu-shares'];
  if (flags['cpu-period'] !== undefined) body['CpuPeriod'] = flags['cpu-period'];
  if (flags['cpu-quota'] !== undefined) body['CpuQuota'] = flags['cpu-quota'];
  if (s('cpuset-cpus')) body['CpusetCpus'] = s('cpuset-cpus');
  if (s('cpuset-mems')) body['CpusetMems'] = s('cpuset-mems');
  if (flags['pids-limit'] !== undefined) body['PidsLimit'] = flags['pids-limit'];
  if (flags['blkio-weight'] !== undefined) body['BlkioWeight'] = flags['blkio-weight'];
  if (s('restart')) body['RestartPolicy'] = parseRestartPolicy(s('restart')!);
  return body;
}

export const updateCommand: Command = {
  path: ['container', 'update'],
  aliases: [['update']],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Update configuration of one or more containers',
  args: { min: 1 },
  flags: [
    { name: 'blkio-weight', type: 'int', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)', valueName: 'uint16' },
    { name: 'cpu-period', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) period', valueName: 'int' },
    { name: 'cpu-quota', type: 'int', help: 'Limit CPU CFS (Completely Fair Scheduler) quota', valueName: 'int' },
    { name: 'cpu-shares', short: 'c', type: 'int', help: 'CPU shares (relative weight)', valueName: 'int' },
    { name: 'cpus', type: 'string', help: 'Number of CPUs', valueName: 'decimal' },
    { name: 'cpuset-cpus', type: 'string', help: 'CPUs in which to allow execution (0-3, 0,1)', valueName: 'string' },
    { name: 'cpuset-mems', type: 'string', help: 'MEMs in which to allow execution (0-3, 0,1)', valueName: 'string' },
    { name: 'memory', short: 'm', type: 'string', help: 'Memory limit', valueName: 'bytes' },
    { name: 'memory-reservation', type: 'string', help: 'Memory soft limit', valueName: 'bytes' },
    { name: 'memory-swap', type: 'string', help: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', valueName: 'bytes' },
    { name: 'pids-limit', type: 'int', help: 'Tune container pids limit (set -1 for unlimited)', valueName: 'int' },
    { name: 'restart', type: 'string', help: 'Restart policy to apply when a container exits', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    const body = updateBody(flags);
    if (!Object.keys(body).length) {
      ctx.stderr.write('you must provide one or more flags when using this command\n');
      return 1;
    }
    return eachContainer(ctx, args, async (c, n) => {
      const r = await c.json<{ Warnings?: string[] | null }>('POST', path(n, 'update'), { body });
      for (const w of r?.Warnings ?? []) ctx.stderr.write(`${w}\n`);
    });
  },
};
