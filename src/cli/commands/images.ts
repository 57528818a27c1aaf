// `images` / `image ls`: one row per tag, Docker's columns and filters.
import type { Command } from '../command.js';
import { filterFlag, filtersOf, formatFlag, quietFlag, shortId } from './common.js';
import { renderRows } from '../render/table.js';
import { goTime, humanSize, timeAgo } from '../render/units.js';

interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Containers: number;
}

export const IMAGE_HEADERS = { ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', VirtualSize: 'SIZE', Containers: 'CONTAINERS' };

function splitRepoTag(s: string): [string, string] {
  const at = s.indexOf('@');
  const base = at >= 0 ? s.slice(0, at) : s;
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? [base.slice(0, colon), base.slice(colon + 1)] : [base, '<none>'];
}

export const imagesCommand: Command = {
  path: ['image', 'ls'],
  aliases: [['images'], ['image', 'list']],
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  short: 'List images',
  args: { max: 1 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all images (default hides intermediate images)' },
    { name: 'digests', type: 'bool', help: 'Show digests' },
    filterFlag,
    formatFlag,
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    quietFlag('image IDs'),
  ],
  async run(ctx, args, flags) {
    const filters = filtersOf(flags['filter'] as string[]) ?? {};
    if (args[0]) (filters['reference'] ??= []).push(args[0]);
    const client = await ctx.client();
    const images = await client.json<ImageSummary[]>('GET', '/images/json', {
      query: { all: flags['all'] as boolean, filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined },
    });
    const noTrunc = flags['no-trunc'] as boolean;
    const rows = [];
    for (const img of images) {
      const id = noTrunc ? img.Id : shortId(img.Id);
      const digests = img.RepoDigests ?? [];
      const tags = img.RepoTags ?? [];
      const entries: Array<[string, string, string]> = [];
      for (const t of tags) {
        const [repo, tag] = splitRepoTag(t);
        const d = digests.find((x) => x.startsWith(repo + '@'));
        entries.push([repo, tag, d ? d.slice(d.indexOf('@') + 1) : '<none>']);
      }
      if (!tags.length) {
        if (digests.length) for (const d of digests) entries.push([d.slice(0, d.indexOf('@')), '<none>', d.slice(d.indexOf('@') + 1)]);
        else entries.push(['<none>', '<none>', '<none>']);
      }
      for (const [repo, tag, digest] of entries) {
        rows.push({
          Containers: img.Containers >= 0 ? String(img.Containers) : 'N/A',
          CreatedAt: goTime(img.Created),
          CreatedSince: timeAgo(img.Created),
          Digest: digest,
          ID: id,
          Repository: repo,
          // go-units HumanSize (4 digits) for these two, HumanSizeWithPrecision(3) for Size, as docker.
          SharedSize: img.SharedSize >= 0 ? humanSize(img.SharedSize, 4) : 'N/A',
          Size: humanSize(img.Size),
          Tag: tag,
          UniqueSize: img.SharedSize >= 0 ? humanSize(img.Size - img.SharedSize, 4) : 'N/A',
          VirtualSize: humanSize(img.VirtualSize ?? img.Size, 4),
        });
      }
    }
    if (flags['quiet']) {
      ctx.stdout.write(rows.map((r) => r.ID + '\n').join(''));
      return;
    }
    const def = flags['digests']
      ? '{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : '{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
    ctx.stdout.write(renderRows(rows, flags['format'] as string | undefined, def, IMAGE_HEADERS));
  },
};
