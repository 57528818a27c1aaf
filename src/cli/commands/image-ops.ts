// `inspect`, `history`, `tag`, `rmi`: the per-image commands.
import { DaemonError } from '../../client/index.js';
import { ExitError, type Command } from '../command.js';
import { ellipsis, formatFlag, fetchEach, printInspected, quietFlag, shortId } from './common.js';
import { renderRows } from '../render/table.js';
import { humanSize, timeAgo } from '../render/units.js';

export const inspectCommand: Command = {
  path: ['image', 'inspect'],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Display detailed information on one or more images',
  args: { min: 1 },
  flags: [
    { name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template', valueName: 'string' },
    { name: 'type', type: 'string', help: 'Only inspect objects of the given type', valueName: 'string', hidden: true },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes if the type is container', hidden: true },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const { found, failed } = await fetchEach(ctx, client, args, (n) => `/images/${n}/json`);
    printInspected(ctx, found, flags['format'] as string | undefined);
    if (failed) throw new ExitError(1);
  },
};

interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export const historyCommand: Command = {
  path: ['image', 'history'],
  aliases: [['history']],
  usage: '[OPTIONS] IMAGE',
  short: 'Show the history of an image',
  args: { min: 1, max: 1 },
  flags: [
    formatFlag,
    { name: 'human', short: 'H', type: 'bool', default: true, help: 'Print sizes and dates in human readable format' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    quietFlag('image IDs'),
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const items = await client.json<HistoryItem[]>('GET', `/images/${encodeURIComponent(args[0]!)}/history`);
    const human = flags['human'] as boolean;
    const noTrunc = flags['no-trunc'] as boolean;
    const rows = items.map((h) => {
      const createdBy = h.CreatedBy.replace(/\t/g, ' ');
      return {
        Comment: h.Comment,
        CreatedAt: new Date(h.Created * 1000).toISOString().replace(/\.000Z$/, 'Z'),
        CreatedBy: noTrunc ? createdBy : ellipsis(createdBy, 45),
        CreatedSince: human ? timeAgo(h.Created) : new Date(h.Created * 1000).toISOString().replace(/\.000Z$/, 'Z'),
        ID: h.Id === '<missing>' || noTrunc ? h.Id : shortId(h.Id),
        Size: human ? humanSize(h.Size) : String(h.Size),
      };
    });
    if (flags['quiet']) {
      ctx.stdout.write(rows.map((r) => r.ID + '\n').join(''));
      return;
    }
    // Without -H docker's default table shows the CREATED AT column (RFC 3339 dates).
    const created = human ? '{{.CreatedSince}}' : '{{.CreatedAt}}';
    ctx.stdout.write(renderRows(rows, flags['format'] as string | undefined, `{{.ID}}\t${created}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}`, {
      ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT',
    }));
  },
};

/** `repo:tag` into the API's repo and tag query parameters. */
export function splitTarget(target: string): { repo: string; tag?: string } {
  const colon = target.lastIndexOf(':');
  if (colon > target.lastIndexOf('/')) return { repo: target.slice(0, colon), tag: target.slice(colon + 1) };
  return { repo: target };
}

export const tagCommand: Command = {
  path: ['image', 'tag'],
  aliases: [['tag']],
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { min: 2, max: 2 },
  flags: [],
  async run(ctx, args) {
    const client = await ctx.client();
    const { repo, tag } = splitTarget(args[1]!);
    const res = await client.request('POST', `/images/${encodeURIComponent(args[0]!)}/tag`, { query: { repo, tag } });
    res.resume();
  },
};

export const rmiCommand: Command = {
  path: ['image', 'rm'],
  aliases: [['rmi'], ['image', 'remove']],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Remove one or more images',
  args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', type: 'bool', help: 'Force removal of the image' },
    { name: 'no-prune', type: 'bool', help: 'Do not delete untagged parents' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    let failed = false;
    for (const name of args) {
      try {
        const items = await client.json<Array<{ Untagged?: string; Deleted?: string }>>('DELETE', `/images/${encodeURIComponent(name)}`, {
          query: { force: flags['force'] as boolean, noprune: flags['no-prune'] as boolean },
        });
        for (const i of items) ctx.stdout.write(i.Untagged ? `Untagged: ${i.Untagged}\n` : `Deleted: ${i.Deleted}\n`);
      } catch (err) {
        if (!(err instanceof DaemonError)) throw err;
        failed = true;
        ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
      }
    }
    if (failed) throw new ExitError(1);
  },
};
