// `import`, `save`, `load`: moving images in and out, as the seeds contrast them.
import { createReadStream, createWriteStream, existsSync, fstatSync, openSync, renameSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { jsonMessages } from '../../client/index.js';
import { ExitError, type Command, type Context } from '../command.js';
import { splitTarget } from './image-ops.js';

export const importCommand: Command = {
  path: ['image', 'import'],
  aliases: [['import']],
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  short: 'Import the contents from a tarball to create a filesystem image',
  args: { min: 1, max: 2 },
  flags: [
    { name: 'change', short: 'c', type: 'list', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string', help: 'Set commit message for imported image', valueName: 'string' },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    const source = args[0]!;
    const target = args[1] ? splitTarget(args[1]) : undefined;
    const isUrl = /^https?:\/\//.test(source);
    let body: Readable | undefined;
    if (source === '-') body = ctx.stdin as Readable;
    else if (!isUrl) body = openInput(ctx, source);
    const client = await ctx.client();
    const res = await client.request('POST', '/images/create', {
      query: {
        fromSrc: isUrl ? source : '-', repo: target?.repo, tag: target?.tag, message: flags['message'] as string | undefined,
        changes: flags['change'] as string[], platform: flags['platform'] as string | undefined,
      },
      stream: body,
      headers: body ? { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } : {},
    });
    for await (const m of jsonMessages(res)) {
      if (m.error) {
        ctx.stderr.write(`${m.error}\n`);
        throw new ExitError(1);
      }
      if (m.status?.startsWith('sha256:')) ctx.stdout.write(m.status + '\n');
    }
  },
};

export const saveCommand: Command = {
  path: ['image', 'save'],
  aliases: [['save']],
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  args: { min: 1 },
  flags: [{ name: 'output', short: 'o', type: 'string', help: 'Write to a file, instead of STDOUT', valueName: 'string' }],
  async run(ctx, args, flags) {
    const output = flags['output'] as string | undefined;
    if (!output && ctx.stdout.isTTY) {
      ctx.stderr.write('Cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
      throw new ExitError(1);
    }
    const client = await ctx.client();
    const res = await client.request('GET', '/images/get', { query: { names: args } });
    if (output) {
      const tmp = `${output}.berth-tmp`;
      await pipeline(res, createWriteStream(tmp));
      renameSync(tmp, output);
    } else {
      await pipeline(res, ctx.stdout);
    }
  },
};

const GO_ERRNO: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', ENOTDIR: 'not a directory', EISDIR: 'is a directory' };

/** Opens a file argument up front, failing as the docker CLI does (`open PATH: no such file or directory`). */
function openInput(ctx: Context, file: string): Readable {
  let fd: number;
  try {
    fd = openSync(file, 'r');
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    ctx.stderr.write(`open ${file}: ${GO_ERRNO[code] ?? (err as Error).message}\n`);
    throw new ExitError(1);
  }
  return createReadStream(file, { fd });
}

export const loadCommand: Command = {
  path: ['image', 'load'],
  aliases: [['load']],
  usage: '[OPTIONS]',
  short: 'Load an image from a tar archive or STDIN',
  args: { max: 0 },
  flags: [
    { name: 'input', short: 'i', type: 'string', help: 'Read from tar archive file, instead of STDIN', valueName: 'string' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the load output' },
  ],
  async run(ctx, args, flags) {
    const input = flags['input'] as string | undefined;
    if (!input && ctx.stdin.isTTY) {
      ctx.stderr.write('requested load from stdin, but stdin is empty\n');
      throw new ExitError(1);
    }
    const body = input ? openInput(ctx, input) : (ctx.stdin as Readable);
    const client = await ctx.client();
    const res = await client.request('POST', '/images/load', { query: { quiet: flags['quiet'] as boolean }, stream: body, headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } });
    for await (const m of jsonMessages(res)) {
      if (m.error) {
        ctx.stderr.write(`${m.error}\n`);
        throw new ExitError(1);
      }
      if (m.stream) ctx.stdout.write(m.stream);
    }
  },
};
