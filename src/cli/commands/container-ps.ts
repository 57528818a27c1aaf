// `ps` / `container ls`: docker's columns, truncation rules, filters and formats.
import type { Command } from '../command.js';
import { ellipsis, filterFlag, filtersOf, formatFlag, shortId } from './common.js';
import { renderRows } from '../render/table.js';
import { goTime, humanDuration, humanSize } from '../render/units.js';

export interface ContainerSummary {
  Id: string;
  Names: string[] | null;
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  Mounts?: Array<{ Name?: string; Source?: string }> | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  ImageManifestDescriptor?: { platform?: unknown } | null;
}

export const PS_HEADERS = { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', RunningFor: 'CREATED', CreatedAt: 'CREATED AT', Status: 'STATUS', Ports: 'PORTS', Names: 'NAMES', Size: 'SIZE', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS', LocalVolumes: 'LOCAL VOLUMES', State: 'STATE' };

/** docker's DisplayablePorts: `0.0.0.0:8080->80/tcp, 443/tcp`, sorted, without ranges merged. */
export function displayPorts(ports: ContainerSummary['Ports']): string {
  const out: string[] = [];
  for (const p of [...(ports ?? [])].sort((a, b) => a.PrivatePort - b.PrivatePort || (a.IP ?? '').localeCompare(b.IP ?? ''))) {
    if (p.PublicPort) {
      const ip = p.IP ?? '';
      const host = ip.includes(':') ? `[${ip}]` : ip;
      out.push(`${host}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`);
    } else out.push(`${p.PrivatePort}/${p.Type}`);
  }
  return out.join(', ');
}

/** Go's strconv.Quote for the printable strings container commands are. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, '\\x7f');
}

export function psRow(c: ContainerSummary, trunc: boolean, now = Date.now()) {
  let names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  if (trunc) names = names.filter((n) => !n.includes('/')).slice(0, 1);
  let image = c.Image || '<no image>';
  if (trunc) {
    if (shortId(c.ImageID) === shortId(image)) image = shortId(image);
    const at = image.indexOf('@');
    if (at > 0) image = image.slice(0, at);
  }
  const labels = c.Labels ?? {};
  const mounts = (c.Mounts ?? []).map((m) => (trunc ? ellipsis(m.Name || m.Source || '', 15) : m.Name || m.Source || ''));
  const size = c.SizeRootFs && c.SizeRootFs > 0 ? `${humanSize(c.SizeRw ?? 0)} (virtual ${humanSize(c.SizeRootFs)})` : humanSize(c.SizeRw ?? 0);
  // Alphabetical so that `--format json` prints keys in docker's order.
  return {
    Command: goQuote(trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: goTime(c.Created),
    ID: trunc ? shortId(c.Id) : c.Id,
    Image: image,
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    /** `{{.Label "name"}}`: one label's value (a method, so `json` leaves it out as docker's does). */
    Label: (name: string) => labels[name] ?? '',
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Name).length),
    Mounts: mounts.join(','),
    Names: names.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    // docker 28 shows the image manifest's platform here; null when the daemon does not say.
    Platform: c.ImageManifestDescriptor?.platform ?? null,
    Ports: displayPorts(c.Ports),
    RunningFor: `${humanDuration(now - c.Created * 1000)} ago`,
    Size: size,
    State: c.State,
    Status: c.Status,
  };
}

export const psCommand: Command = {
  path: ['container', 'ls'],
  aliases: [['ps'], ['container', 'list'], ['container', 'ps']],
  usage: '[OPTIONS]',
  short: 'List containers',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
    filterFlag,
    formatFlag,
    { name: 'last', short: 'n', type: 'int', help: 'Show n last created containers (includes all states)', valueName: 'int', default: -1 },
    { name: 'latest', short: 'l', type: 'bool', help: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display container IDs' },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes' },
  ],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const filters = filtersOf(flags['filter'] as string[]);
    const last = flags['latest'] ? 1 : (flags['last'] as number);
    const format = flags['format'] as string | undefined;
    // docker asks for sizes when -s is given or the template mentions .Size.
    const size = !!flags['size'] || (!!format && format.includes('.Size'));
    const list = await client.json<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: !!flags['all'] || undefined, limit: last > 0 ? last : undefined, size: size || undefined, filters: filters ? JSON.stringify(filters) : undefined },
    });
    const trunc = !flags['no-trunc'];
    const rows = list.map((c) => psRow(c, trunc));
    if (flags['quiet'] && !format) {
      ctx.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
      return;
    }
    const def = flags['size']
      ? '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}'
      : '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
    ctx.stdout.write(renderRows(rows, format, def, PS_HEADERS));
  },
};
