// `volume create|ls|inspect|rm|prune`, printed as docker prints them.
import { DaemonError } from '../../client/index.js';
import { ExitError, type Command } from '../command.js';
import { confirm, filterFlag, filtersQuery, formatFlag, fetchEach, printInspected } from './common.js';
import { renderRows } from '../render/table.js';
import { humanSize } from '../render/units.js';

interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Scope: string;
  Labels: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

/** `k=v` values into a map (`--label`, `--opt`); a bare key maps to ''. */
function keyValues(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq < 0) out[v] = '';
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** Go's sortorder.NaturalLess: digit runs compare as numbers. */
function naturalCompare(a: string, b: string): number {
  const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    if (/^\d/.test(p) && /^\d/.test(q) && Number(p) !== Number(q)) return Number(p) - Number(q);
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

export const volumeCreateCommand: Command = {
  path: ['volume', 'create'],
  usage: '[OPTIONS] [VOLUME]',
  short: 'Create a volume',
  args: { max: 1 },
  flags: [
    { name: 'driver', short: 'd', type: 'string', help: 'Specify volume driver name', valueName: 'string', default: 'local' },
    { name: 'label', type: 'list', help: 'Set metadata for a volume', valueName: 'list' },
    { name: 'name', type: 'string', help: 'Specify volume name', valueName: 'string', hidden: true },
    { name: 'opt', short: 'o', type: 'list', help: 'Set driver specific options', valueName: 'map' },
  ],
  async run(ctx, args, flags) {
    let name = (flags['name'] as string | undefined) ?? '';
    if (args[0]) {
      if (name && name !== args[0]) throw new Error('conflicting options: either specify --name or provide positional arg, not both');
      name = args[0];
    }
    const client = await ctx.client();
    const v = await client.json<Volume>('POST', '/volumes/create', {
      body: { Name: name, Driver: (flags['driver'] as string | undefined) || 'local', DriverOpts: keyValues(flags['opt'] as string[]), Labels: keyValues(flags['label'] as string[]) },
    });
    ctx.stdout.write(`${v.Name}\n`);
  },
};

export const volumeListCommand: Command = {
  path: ['volume', 'ls'],
  aliases: [['volume', 'list']],
  usage: '[OPTIONS]',
  short: 'List volumes',
  args: { max: 0 },
  flags: [filterFlag, formatFlag, { name: 'quiet', short: 'q', type: 'bool', help: 'Only display volume names' }],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const res = await client.json<{ Volumes: Volume[] | null }>('GET', '/volumes', { query: { filters: filtersQuery(flags['filter'] as string[]) } });
    const volumes = [...(res.Volumes ?? [])].sort((a, b) => naturalCompare(a.Name, b.Name));
    const rows = volumes.map((v) => ({
      Availability: 'N/A', Driver: v.Driver, Group: 'N/A',
      Labels: Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(','),
      Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A', Mountpoint: v.Mountpoint, Name: v.Name, Scope: v.Scope,
      Size: v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size) : 'N/A', Status: 'N/A',
    }));
    const format = flags['quiet'] ? '{{.Name}}' : (flags['format'] as string | undefined);
    ctx.stdout.write(renderRows(rows, format, '{{.Driver}}\t{{.Name}}', {
      Driver: 'DRIVER', Name: 'VOLUME NAME', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE',
      Group: 'GROUP', Availability: 'AVAILABILITY', Status: 'STATUS',
    }));
  },
};

export const volumeInspectCommand: Command = {
  path: ['volume', 'inspect'],
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  short: 'Display detailed information on one or more volumes',
  args: { min: 1 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template', valueName: 'string' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const { found, failed } = await fetchEach(ctx, client, args, (n) => `/volumes/${n}`);
    printInspected(ctx, found, flags['format'] as string | undefined);
    if (failed) throw new ExitError(1);
  },
};

export const volumeRemoveCommand: Command = {
  path: ['volume', 'rm'],
  aliases: [['volume', 'remove']],
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  short: 'Remove one or more volumes',
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Force the removal of one or more volumes' }],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    let failed = false;
    for (const name of args) {
      try {
        await client.request('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: flags['force'] ? true : undefined } });
        ctx.stdout.write(`${name}\n`);
      } catch (err) {
        if (!(err instanceof DaemonError)) throw err;
        failed = true;
        ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
      }
    }
    if (failed) throw new ExitError(1);
  },
};

export const volumePruneCommand: Command = {
  path: ['volume', 'prune'],
  usage: '[OPTIONS]',
  short: 'Remove unused local volumes',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused volumes, not just anonymous ones' },
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "label=<label>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    const all = flags['all'] as boolean;
    const warning = all
      ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!flags['force'] && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
    const filters = [...((flags['filter'] as string[]) ?? [])];
    if (all) filters.push('all=true');
    const client = await ctx.client();
    const report = await client.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: filtersQuery(filters) } });
    if (report.VolumesDeleted?.length) ctx.stdout.write(`Deleted Volumes:\n${report.VolumesDeleted.join('\n')}\n\n`);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
  },
};

export const volumeCommands: Command[] = [volumeCreateCommand, volumeListCommand, volumeInspectCommand, volumeRemoveCommand, volumePruneCommand];
