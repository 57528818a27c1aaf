// `version`, `info`, `system df`, `image prune`, `events`.
import os from 'node:os';
import { CLIENT_API_VERSION, jsonMessages } from '../../client/index.js';
import type { Command } from '../command.js';
import { confirm, filterFlag, filtersQuery, formatFlag, goJson } from './common.js';
import { renderRows } from '../render/table.js';
import { Template } from '../render/template.js';
import { humanSize, timeAgo } from '../render/units.js';
import { IMAGE_HEADERS } from './images.js';
import { PS_HEADERS, psRow, type ContainerSummary } from './container-ps.js';
import { BERTH_VERSION } from '../../lib/version.js';

export const versionCommand: Command = {
  path: ['version'],
  usage: '[OPTIONS]',
  short: 'Show the berth version information',
  args: { max: 0 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template', valueName: 'string' }],
  async run(ctx, _args, flags) {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const clientInfo = { Version: BERTH_VERSION, ApiVersion: CLIENT_API_VERSION, GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: arch };
    let server: Record<string, string> | undefined;
    let serverError: unknown;
    try {
      const client = await ctx.client();
      server = await client.json<Record<string, string>>('GET', '/version');
      clientInfo.ApiVersion = await client.apiVersion();
    } catch (err) {
      serverError = err;
    }
    const format = flags['format'] as string | undefined;
    if (format) {
      goFieldNames(clientInfo);
      if (server) goFieldNames(server);
      ctx.stdout.write(new Template(format === 'json' ? '{{json .}}' : format).execute({ Client: clientInfo, Server: server ?? null }) + '\n');
    } else {
      ctx.stdout.write(`Client:\n Version:           ${clientInfo.Version}\n API version:       ${clientInfo.ApiVersion}\n Node version:      ${process.versions.node}\n OS/Arch:           linux/${arch}\n`);
      if (server) {
        ctx.stdout.write(`\nServer:\n Engine:\n  Version:          ${server['Version']}\n  API version:      ${server['ApiVersion']} (minimum version ${server['MinAPIVersion']})\n  OS/Arch:          ${server['Os']}/${server['Arch']}\n  Kernel Version:   ${server['KernelVersion']}\n`);
      }
    }
    if (serverError) throw serverError;
  },
};

/**
 * Templates name Go fields (`{{.Server.APIVersion}}`) where the JSON says ApiVersion: add them as
 * non-enumerable aliases, so `{{json .}}` still prints only the JSON names.
 */
function goFieldNames(o: Record<string, unknown>): void {
  for (const [go, json] of [['APIVersion', 'ApiVersion'], ['MinAPIVersion', 'MinAPIVersion']] as const) {
    if (json in o && !(go in o)) Object.defineProperty(o, go, { value: o[json], enumerable: false });
  }
}

export const infoCommand: Command = {
  path: ['system', 'info'],
  aliases: [['info']],
  usage: '[OPTIONS]',
  short: 'Display system-wide information',
  args: { max: 0 },
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template', valueName: 'string' }],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const info = await client.json<Record<string, unknown>>('GET', '/info');
    const format = flags['format'] as string | undefined;
    if (format) {
      ctx.stdout.write(new Template(format === 'json' ? '{{json .}}' : format).execute(info) + '\n');
      return;
    }
    const lines = [
      'Client:', ` Version:    ${BERTH_VERSION}`, '', 'Server:',
      ` Containers: ${info['Containers']}`, `  Running: ${info['ContainersRunning']}`, `  Paused: ${info['ContainersPaused']}`, `  Stopped: ${info['ContainersStopped']}`,
      ` Images: ${info['Images']}`, ` Server Version: ${info['ServerVersion']}`, ` Storage Driver: ${info['Driver']}`,
      ` Logging Driver: ${info['LoggingDriver']}`, ` Cgroup Driver: ${info['CgroupDriver']}`, ` Cgroup Version: ${info['CgroupVersion']}`,
      ` Runtimes: ${Object.keys((info['Runtimes'] as object) ?? {}).join(' ')}`, ` Default Runtime: ${info['DefaultRuntime']}`,
      ` Kernel Version: ${info['KernelVersion']}`, ` Operating System: ${info['OperatingSystem']}`, ` OSType: ${info['OSType']}`,
      ` Architecture: ${info['Architecture']}`, ` CPUs: ${info['NCPU']}`, ` Total Memory: ${humanBinary(Number(info['MemTotal']))}`,
      ` Name: ${info['Name'] ?? os.hostname()}`, ` ID: ${info['ID']}`, ` Docker Root Dir: ${info['DockerRootDir']}`, ` Debug Mode: ${info['Debug']}`,
    ];
    ctx.stdout.write(lines.join('\n') + '\n');
  },
};

function humanBinary(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(2).replace(/\.?0+$/, '')}${units[i]}`;
}

interface DiskUsage {
  LayersSize: number;
  Images: Array<{ Id: string; RepoTags: string[]; Size: number; SharedSize: number; Containers: number; Created: number }>;
  Containers: ContainerSummary[];
  Volumes: Array<{ Name: string; UsageData?: { Size: number; RefCount: number } }>;
  BuildCache: Array<{ Size: number; InUse: boolean; Shared: boolean }>;
}

function reclaimable(size: number, total: number): string {
  if (total <= 0) return humanSize(size, 4);
  return `${humanSize(size, 4)} (${Math.round((size * 100) / total)}%)`;
}

export const dfCommand: Command = {
  path: ['system', 'df'],
  usage: '[OPTIONS]',
  short: 'Show berth disk usage',
  args: { max: 0 },
  flags: [formatFlag, { name: 'verbose', short: 'v', type: 'bool', help: 'Show detailed information on space usage' }],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const du = await client.json<DiskUsage>('GET', '/system/df');
    const activeImages = du.Images.filter((i) => i.Containers > 0);
    const imagesReclaim = du.LayersSize - activeImages.reduce((n, i) => n + (i.Size - Math.max(0, i.SharedSize)), 0);
    const containersSize = du.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
    const containersReclaim = du.Containers.filter((c) => c.State !== 'running').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
    const volumesSize = du.Volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
    const cacheSize = du.BuildCache.reduce((n, b) => n + b.Size, 0);
    if (flags['verbose']) {
      const rows = du.Images.map((i) => {
        // Only the first tag, and none for a dangling image, as docker prints it.
        const first = i.RepoTags?.[0] && i.RepoTags[0] !== '<none>:<none>' ? i.RepoTags[0] : undefined;
        const [repo, tag] = first ? [first.slice(0, first.lastIndexOf(':')), first.slice(first.lastIndexOf(':') + 1)] : ['<none>', '<none>'];
        return {
          Repository: repo, Tag: tag, ID: i.Id.slice(7, 19), CreatedSince: timeAgo(i.Created), Size: humanSize(i.Size),
          SharedSize: humanSize(Math.max(0, i.SharedSize), 4), UniqueSize: humanSize(i.Size - Math.max(0, i.SharedSize), 4),
          Containers: i.Containers >= 0 ? String(i.Containers) : 'N/A',
        };
      });
      ctx.stdout.write('Images space usage:\n\n');
      ctx.stdout.write(renderRows(rows, undefined, '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', IMAGE_HEADERS));
      // Only the writable layer's size, as docker's df -v shows it (no "virtual" part).
      const containerRows = du.Containers.map((c) => psRow({ ...c, SizeRootFs: 0 }, true));
      ctx.stdout.write('\nContainers space usage:\n\n' + renderRows(containerRows, undefined, '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', PS_HEADERS));
      const volumeRows = du.Volumes.map((v) => ({ Name: v.Name, Links: String(v.UsageData?.RefCount ?? 0), Size: (v.UsageData?.Size ?? -1) >= 0 ? humanSize(v.UsageData!.Size) : 'N/A' }));
      ctx.stdout.write('\nLocal Volumes space usage:\n\n' + renderRows(volumeRows, undefined, '{{.Name}}\t{{.Links}}\t{{.Size}}', { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }));
      ctx.stdout.write('\nBuild cache usage: ' + humanSize(cacheSize) + '\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n');
      return;
    }
    const rows = [
      { Type: 'Images', TotalCount: String(du.Images.length), Active: String(activeImages.length), Size: humanSize(du.LayersSize, 4), Reclaimable: reclaimable(imagesReclaim, du.LayersSize) },
      { Type: 'Containers', TotalCount: String(du.Containers.length), Active: String(du.Containers.filter((c) => c.State === 'running').length), Size: humanSize(containersSize, 4), Reclaimable: reclaimable(containersReclaim, containersSize) },
      { Type: 'Local Volumes', TotalCount: String(du.Volumes.length), Active: String(du.Volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volumesSize, 4), Reclaimable: reclaimable(volumesSize, volumesSize) },
      { Type: 'Build Cache', TotalCount: String(du.BuildCache.length), Active: String(du.BuildCache.filter((b) => b.InUse).length), Size: humanSize(cacheSize, 4), Reclaimable: humanSize(cacheSize, 4) },
    ];
    ctx.stdout.write(renderRows(rows, flags['format'] as string | undefined, '{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}', { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
  },
};

export const imagePruneCommand: Command = {
  path: ['image', 'prune'],
  usage: '[OPTIONS]',
  short: 'Remove unused images',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused images, not just dangling ones' },
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    const all = flags['all'] as boolean;
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!flags['force'] && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
    const filters: string[] = [...((flags['filter'] as string[]) ?? [])];
    if (all) filters.push('dangling=false');
    const client = await ctx.client();
    const report = await client.json<{ ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed: number }>('POST', '/images/prune', { query: { filters: filtersQuery(filters) } });
    if (report.ImagesDeleted?.length) {
      ctx.stdout.write('Deleted Images:\n');
      for (const i of report.ImagesDeleted) ctx.stdout.write(i.Untagged ? `untagged: ${i.Untagged}\n` : `deleted: ${i.Deleted}\n`);
      ctx.stdout.write('\n');
    }
    ctx.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
  },
};

export const eventsCommand: Command = {
  path: ['system', 'events'],
  aliases: [['events']],
  usage: '[OPTIONS]',
  short: 'Get real time events from the server',
  args: { max: 0 },
  flags: [
    filterFlag,
    { name: 'format', type: 'string', help: 'Format output using a custom template', valueName: 'string' },
    { name: 'since', type: 'string', help: 'Show all events created since timestamp', valueName: 'string' },
    { name: 'until', type: 'string', help: 'Stream events until this timestamp', valueName: 'string' },
  ],
  async run(ctx, _args, flags) {
    const client = await ctx.client();
    const res = await client.request('GET', '/events', {
      query: { since: flags['since'] as string | undefined, until: flags['until'] as string | undefined, filters: filtersQuery(flags['filter'] as string[]) },
    });
    const format = flags['format'] as string | undefined;
    const tpl = format && format !== 'json' ? new Template(format) : undefined;
    for await (const m of jsonMessages(res)) {
      const e = m as unknown as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; timeNano: number };
      if (format === 'json') ctx.stdout.write(goJson(e) + '\n');
      else if (tpl) ctx.stdout.write(tpl.execute(e) + '\n');
      else {
        const t = new Date(Math.floor(e.timeNano / 1e6)).toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}${String(e.timeNano % 1e6).padStart(6, '0')}Z`);
        const attrs = Object.keys(e.Actor.Attributes).sort().map((k) => `${k}=${e.Actor.Attributes[k]}`).join(', ');
        ctx.stdout.write(`${t} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}\n`);
      }
    }
  },
};
