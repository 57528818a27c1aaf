// `container inspect`, and the top-level `inspect` that resolves containers first, then images,
// as docker's does; plus `port`, `top`, `diff` and `export`, which only read a container.
import { DaemonError } from '../../client/index.js';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ExitError, type Command, type Context } from '../command.js';
import { printInspected } from './common.js';
import { tabwrite } from '../render/table.js';

async function inspectAll(ctx: Context, names: string[], flags: Record<string, unknown>, kinds: Array<'container' | 'image'>): Promise<void> {
  const client = await ctx.client();
  const found: unknown[] = [];
  let failed = false;
  for (const name of names) {
    let hit: unknown;
    for (const kind of kinds) {
      try {
        const q = kind === 'container' && flags['size'] ? '?size=1' : '';
        hit = await client.json('GET', `/${kind}s/${encodeURIComponent(name)}/json${q}`);
        break;
      } catch (err) {
        if (!(err instanceof DaemonError) || err.statusCode !== 404) throw err;
      }
    }
    if (hit === undefined) {
      failed = true;
      ctx.stderr.write(kinds.length > 1 ? `Error: No such object: ${name}\n` : `Error response from daemon: No such container: ${name}\n`);
    } else found.push(hit);
  }
  printInspected(ctx, found, flags['format'] as string | undefined);
  if (failed) throw new ExitError(1);
}

const inspectFlags = [
  { name: 'format', short: 'f', type: 'string' as const, help: 'Format output using a custom template', valueName: 'string' },
  { name: 'size', short: 's', type: 'bool' as const, help: 'Display total file sizes' },
];

export const containerInspectCommand: Command = {
  path: ['container', 'inspect'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Display detailed information on one or more containers',
  args: { min: 1 },
  flags: inspectFlags,
  run: (ctx, args, flags) => inspectAll(ctx, args, flags, ['container']),
};

export const objectInspectCommand: Command = {
  path: ['inspect'],
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  short: 'Return low-level information on Docker objects',
  args: { min: 1 },
  flags: [...inspectFlags, { name: 'type', type: 'string', help: 'Only inspect objects of the given type', valueName: 'string' }],
  run(ctx, args, flags) {
    const type = flags['type'] as string | undefined;
    const kinds: Array<'container' | 'image'> = type === 'container' ? ['container'] : type === 'image' ? ['image'] : ['container', 'image'];
    return inspectAll(ctx, args, flags, kinds);
  },
};

export const portCommand: Command = {
  path: ['container', 'port'],
  aliases: [['port']],
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  short: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
  flags: [],
  async run(ctx, args) {
    const client = await ctx.client();
    const info = await client.json<{ NetworkSettings?: { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> } }>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`);
    const ports = info.NetworkSettings?.Ports ?? {};
    const want = args[1] ? (args[1].includes('/') ? args[1] : `${args[1]}/tcp`) : undefined;
    const lines: string[] = [];
    for (const key of Object.keys(ports).sort((a, b) => parseInt(a) - parseInt(b))) {
      if (want && key !== want) continue;
      for (const b of ports[key] ?? []) {
        const host = b.HostIp.includes(':') ? `[${b.HostIp}]:${b.HostPort}` : `${b.HostIp}:${b.HostPort}`;
        lines.push(want ? host : `${key} -> ${host}`);
      }
    }
    if (want && !lines.length) {
      ctx.stderr.write(`Error: No public port '${want}' published for ${args[0]}\n`);
      return 1;
    }
    ctx.stdout.write(lines.map((l) => l + '\n').join(''));
  },
};

export const topCommand: Command = {
  path: ['container', 'top'],
  aliases: [['top']],
  usage: 'CONTAINER [ps OPTIONS]',
  short: 'Display the running processes of a container',
  args: { min: 1 },
  stopAtPositional: true,
  flags: [],
  async run(ctx, args) {
    const client = await ctx.client();
    const r = await client.json<{ Titles: string[]; Processes: string[][] | null }>('GET', `/containers/${encodeURIComponent(args[0]!)}/top`, { query: { ps_args: args.slice(1).join(' ') || undefined } });
    // docker's top uses tabwriter with minwidth 20, padding 1.
    ctx.stdout.write(tabwrite([r.Titles.join('\t'), ...(r.Processes ?? []).map((p) => p.join('\t'))], 20, 1));
  },
};

export const diffCommand: Command = {
  path: ['container', 'diff'],
  aliases: [['diff']],
  usage: 'CONTAINER',
  short: "Inspect changes to files or directories on a container's filesystem",
  args: { min: 1, max: 1 },
  flags: [],
  async run(ctx, args) {
    const client = await ctx.client();
    const changes = await client.json<Array<{ Kind: number; Path: string }> | null>('GET', `/containers/${encodeURIComponent(args[0]!)}/changes`);
    ctx.stdout.write((changes ?? []).map((c) => `${['C', 'A', 'D'][c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  },
};

export const exportCommand: Command = {
  path: ['container', 'export'],
  aliases: [['export']],
  usage: '[OPTIONS] CONTAINER',
  short: "Export a container's filesystem as a tar archive",
  args: { min: 1, max: 1 },
  flags: [{ name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT', valueName: 'string' }],
  async run(ctx, args, flags) {
    const out = flags['output'] as string | undefined;
    if (!out && (ctx.stdout as NodeJS.WriteStream).isTTY) {
      ctx.stderr.write('cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
      return 1;
    }
    const client = await ctx.client();
    const res = await client.request('GET', `/containers/${encodeURIComponent(args[0]!)}/export`);
    await pipeline(res, out ? createWriteStream(out) : (ctx.stdout as NodeJS.WritableStream));
  },
};
