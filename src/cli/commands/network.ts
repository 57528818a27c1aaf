// `network create|ls|inspect|rm|prune|connect|disconnect` and `port`, with docker's flags and output.
import { ExitError, type Command, type Context } from '../command.js';
import { DaemonError } from '../../client/index.js';
import { confirm, filterFlag, filtersOf, filtersQuery, formatFlag, printInspected, quietFlag, shortId } from './common.js';
import { renderRows } from '../render/table.js';

interface NetworkView {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Created: string;
  Internal: boolean;
  Labels: Record<string, string>;
}

function keyValues(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    out[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  return out;
}

/** Runs `fn` for each argument, printing daemon errors docker's way, then exits 1 if any failed. */
async function eachArg(ctx: Context, args: string[], fn: (a: string) => Promise<void>): Promise<void> {
  let failed = false;
  for (const a of args) {
    try {
      await fn(a);
    } catch (err) {
      if (!(err instanceof DaemonError)) throw err;
      failed = true;
      ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
    }
  }
  if (failed) throw new ExitError(1);
}

export const networkCreateCommand: Command = {
  path: ['network', 'create'],
  usage: '[OPTIONS] NETWORK',
  short: 'Create a network',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'attachable', type: 'bool', help: 'Enable manual container attachment' },
    { name: 'driver', short: 'd', type: 'string', help: 'Driver to manage the Network (default "bridge")', valueName: 'string' },
    { name: 'gateway', type: 'list', help: 'IPv4 or IPv6 Gateway for the master subnet', valueName: 'strings' },
    { name: 'internal', type: 'bool', help: 'Restrict external access to the network' },
    { name: 'ip-range', type: 'list', help: 'Allocate container ip from a sub-range', valueName: 'strings' },
    { name: 'label', type: 'list', help: 'Set metadata on a network', valueName: 'list' },
    { name: 'opt', short: 'o', type: 'list', help: 'Set driver specific options (default map[])', valueName: 'map' },
    { name: 'subnet', type: 'list', help: 'Subnet in CIDR format that represents a network segment', valueName: 'strings' },
  ],
  async run(ctx, args, flags) {
    const subnets = (flags['subnet'] as string[]) ?? [];
    const gateways = (flags['gateway'] as string[]) ?? [];
    const ranges = (flags['ip-range'] as string[]) ?? [];
    const config = subnets.map((s, i) => ({ Subnet: s, ...(gateways[i] ? { Gateway: gateways[i] } : {}), ...(ranges[i] ? { IPRange: ranges[i] } : {}) }));
    const client = await ctx.client();
    const out = await client.json<{ Id: string }>('POST', '/networks/create', {
      body: {
        Name: args[0], Driver: (flags['driver'] as string) || 'bridge', Internal: !!flags['internal'], Attachable: !!flags['attachable'],
        IPAM: { Driver: 'default', Config: config, Options: {} }, Options: keyValues(flags['opt'] as string[]), Labels: keyValues(flags['label'] as string[]),
      },
    });
    ctx.stdout.write(`${out.Id}\n`);
  },
};

export const networkLsCommand: Command = {
  path: ['network', 'ls'],
  aliases: [['network', 'list']],
  usage: '[OPTIONS]',
  short: 'List networks',
  args: { max: 0 },
  flags: [filterFlag, formatFlag, { name: 'no-trunc', type: 'bool', help: 'Do not truncate the output' }, quietFlag('network IDs')],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const filters = filtersOf(flags['filter'] as string[]);
    const list = await client.json<NetworkView[]>('GET', '/networks', { query: { filters: filters ? JSON.stringify(filters) : undefined } });
    const noTrunc = flags['no-trunc'] as boolean;
    const rows = list.map((n) => ({ ID: noTrunc ? n.Id : shortId(n.Id), Name: n.Name, Driver: n.Driver, Scope: n.Scope, IPv6: 'false', Internal: String(n.Internal), CreatedAt: n.Created, Labels: Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') }));
    if (flags['quiet']) {
      for (const r of rows) ctx.stdout.write(`${r.ID}\n`);
      return;
    }
    ctx.stdout.write(renderRows(rows, flags['format'] as string | undefined, '{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}', { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', CreatedAt: 'CREATED AT', Labels: 'LABELS' }));
  },
};

export const networkInspectCommand: Command = {
  path: ['network', 'inspect'],
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  short: 'Display detailed information on one or more networks',
  args: { min: 1 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template', valueName: 'string' }, { name: 'verbose', short: 'v', type: 'bool', help: 'Verbose output for diagnostics' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const found: unknown[] = [];
    let failed = false;
    await eachArg(ctx, args, async (a) => {
      found.push(await client.json('GET', `/networks/${encodeURIComponent(a)}`));
    }).catch((err) => {
      if (!(err instanceof ExitError)) throw err;
      failed = true;
    });
    printInspected(ctx, found, flags['format'] as string | undefined);
    if (failed) throw new ExitError(1);
  },
};

export const networkRmCommand: Command = {
  path: ['network', 'rm'],
  aliases: [['network', 'remove']],
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  short: 'Remove one or more networks',
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Do not error if the network does not exist' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    await eachArg(ctx, args, async (a) => {
      try {
        await client.json('DELETE', `/networks/${encodeURIComponent(a)}`);
      } catch (err) {
        if (flags['force'] && err instanceof DaemonError && err.statusCode === 404) return;
        throw err;
      }
      ctx.stdout.write(`${a}\n`);
    });
  },
};

export const networkPruneCommand: Command = {
  path: ['network', 'prune'],
  usage: '[OPTIONS]',
  short: 'Remove all unused networks',
  args: { max: 0 },
  flags: [
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    if (!flags['force'] && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?'))) return;
    const client = await ctx.client();
    const out = await client.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersQuery(flags['filter'] as string[]) } });
    if (out.NetworksDeleted?.length) ctx.stdout.write(`Deleted Networks:\n${out.NetworksDeleted.join('\n')}\n`);
  },
};

export const networkConnectCommand: Command = {
  path: ['network', 'connect'],
  usage: '[OPTIONS] NETWORK CONTAINER',
  short: 'Connect a container to a network',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'alias', type: 'list', help: 'Add network-scoped alias for the container', valueName: 'strings' },
    { name: 'ip', type: 'string', help: 'IPv4 address (e.g., "172.30.100.104")', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const ip = flags['ip'] as string | undefined;
    await client.json('POST', `/networks/${encodeURIComponent(args[0]!)}/connect`, {
      body: { Container: args[1], EndpointConfig: { Aliases: (flags['alias'] as string[]) ?? [], ...(ip ? { IPAMConfig: { IPv4Address: ip } } : {}) } },
    });
  },
};

export const networkDisconnectCommand: Command = {
  path: ['network', 'disconnect'],
  usage: '[OPTIONS] NETWORK CONTAINER',
  short: 'Disconnect a container from a network',
  args: { min: 2, max: 2 },
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Force the container to disconnect from a network' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    await client.json('POST', `/networks/${encodeURIComponent(args[0]!)}/disconnect`, { body: { Container: args[1], Force: !!flags['force'] } });
  },
};

export const networkCommands = [networkCreateCommand, networkLsCommand, networkInspectCommand, networkRmCommand, networkPruneCommand, networkConnectCommand, networkDisconnectCommand];
