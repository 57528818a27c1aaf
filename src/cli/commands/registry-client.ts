// `pull`, `push`, `login`, `logout`, `search`: the daemon talks to the registry; the CLI keeps
// the credentials (config.json, shared with docker) and sends them as X-Registry-Auth.
import { createInterface } from 'node:readline';
import { jsonMessages, type EngineClient } from '../../client/index.js';
import { ExitError, type Command, type Context } from '../command.js';
import { ProgressPrinter } from '../render/progress.js';
import { renderRows } from '../render/table.js';
import { registryAuthHeader, removeAuth, saveAuth, serverKey, DOCKER_HUB_SERVER } from '../dockerconfig.js';

/** The registry part of a name as Docker splits it: `localhost:5000/x` -> localhost:5000. */
function registryOf(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = name.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost' ? first : 'docker.io';
}

function hasTagOrDigest(name: string): boolean {
  return name.includes('@') || name.lastIndexOf(':') > name.lastIndexOf('/');
}

/** The full name Docker prints after a pull: docker.io/library/busybox:latest. */
function fullName(name: string): string {
  const reg = registryOf(name);
  let rest = reg === 'docker.io' && !name.startsWith('docker.io/') ? name : name.slice(reg.length + 1);
  if (reg === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  if (!hasTagOrDigest(rest)) rest += ':latest';
  return `${reg}/${rest}`;
}

async function streamProgress(ctx: Context, res: import('node:http').IncomingMessage, quiet: boolean): Promise<void> {
  const printer = new ProgressPrinter(ctx.stdout, Boolean(ctx.stdout.isTTY));
  for await (const m of jsonMessages(res)) {
    if (m.error) {
      ctx.stderr.write(`${m.error}\n`);
      throw new ExitError(1);
    }
    if (!quiet) printer.print(m);
  }
}

export const pullCommand: Command = {
  path: ['image', 'pull'],
  aliases: [['pull']],
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  short: 'Download an image from a registry',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', help: 'Download all tagged images in the repository', hidden: true },
    { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable', valueName: 'string' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  async run(ctx, args, flags) {
    const name = args[0]!;
    const quiet = Boolean(flags['quiet']);
    if (!hasTagOrDigest(name) && !quiet) ctx.stdout.write('Using default tag: latest\n');
    const at = name.indexOf('@');
    const colon = name.lastIndexOf(':');
    const [image, tag] = at >= 0 ? [name.slice(0, at), name.slice(at + 1)] : colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, 'latest'];
    const client = await ctx.client();
    const auth = registryAuthHeader(registryOf(name));
    const res = await client.request('POST', '/images/create', {
      query: { fromImage: image, tag, platform: flags['platform'] as string | undefined },
      headers: auth ? { 'X-Registry-Auth': auth } : {},
    });
    await streamProgress(ctx, res, quiet);
    ctx.stdout.write(`${fullName(name)}\n`);
  },
};

export const pushCommand: Command = {
  path: ['image', 'push'],
  aliases: [['push']],
  usage: '[OPTIONS] NAME[:TAG]',
  short: 'Upload an image to a registry',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'all-tags', short: 'a', type: 'bool', help: 'Push all tags of an image to the repository' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress verbose output' },
  ],
  async run(ctx, args, flags) {
    const name = args[0]!;
    const quiet = Boolean(flags['quiet']);
    const colon = name.lastIndexOf(':');
    let [image, tag] = colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, undefined as string | undefined];
    if (!tag && !flags['all-tags']) {
      if (!quiet) ctx.stdout.write('Using default tag: latest\n');
      tag = 'latest';
    }
    const client = await ctx.client();
    const auth = registryAuthHeader(registryOf(name));
    const res = await client.request('POST', `/images/${encodeURIComponent(image)}/push`, {
      query: { tag },
      headers: { 'X-Registry-Auth': auth ?? Buffer.from('{}').toString('base64url') },
    });
    await streamProgress(ctx, res, quiet);
    if (quiet) ctx.stdout.write(`${fullName(tag ? `${image}:${tag}` : image)}\n`);
  },
};

async function readLine(ctx: Context, prompt: string): Promise<string> {
  ctx.stdout.write(prompt);
  const rl = createInterface({ input: ctx.stdin as NodeJS.ReadableStream, terminal: false });
  try {
    for await (const line of rl) return line.trim();
    return '';
  } finally {
    rl.close();
  }
}

async function readAllStdin(ctx: Context): Promise<string> {
  let s = '';
  for await (const c of ctx.stdin as AsyncIterable<Buffer>) s += c;
  return s.replace(/\r?\n$/, '');
}

export const loginCommand: Command = {
  path: ['login'],
  usage: '[OPTIONS] [SERVER]',
  short: 'Authenticate to a registry',
  args: { max: 1 },
  flags: [
    { name: 'password', short: 'p', type: 'string', help: 'Password or Personal Access Token (PAT)', valueName: 'string' },
    { name: 'password-stdin', type: 'bool', help: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { name: 'username', short: 'u', type: 'string', help: 'Username', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    const server = serverKey(args[0]);
    let username = flags['username'] as string | undefined;
    let password = flags['password'] as string | undefined;
    if (password !== undefined) ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    if (flags['password-stdin']) {
      if (password !== undefined) {
        ctx.stderr.write('--password and --password-stdin are mutually exclusive\n');
        throw new ExitError(1);
      }
      if (!username) {
        ctx.stderr.write('Must provide --username with --password-stdin\n');
        throw new ExitError(1);
      }
      password = await readAllStdin(ctx);
    }
    if (!username || password === undefined) {
      if (!ctx.stdin.isTTY) {
        ctx.stderr.write('Error: Cannot perform an interactive login from a non TTY device\n');
        throw new ExitError(1);
      }
      if (!username) username = await readLine(ctx, 'Username: ');
      if (password === undefined) password = await readLine(ctx, 'Password: ');
    }
    const client: EngineClient = await ctx.client();
    await client.json('POST', '/auth', { body: { username, password, serveraddress: server } });
    saveAuth(server, username, password);
    ctx.stdout.write('Login Succeeded\n');
  },
};

export const logoutCommand: Command = {
  path: ['logout'],
  usage: '[SERVER]',
  short: 'Log out from a registry',
  args: { max: 1 },
  flags: [],
  async run(ctx, args) {
    const server = serverKey(args[0]);
    if (!removeAuth(server)) {
      ctx.stdout.write(`Not logged in to ${server === DOCKER_HUB_SERVER ? server : server}\n`);
      return;
    }
    ctx.stdout.write(`Removing login credentials for ${server}\n`);
  },
};

interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
}

export const searchCommand: Command = {
  path: ['search'],
  usage: '[OPTIONS] TERM',
  short: 'Search Docker Hub for images',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'format', type: 'string', help: 'Pretty-print search using a Go template', valueName: 'string' },
    { name: 'limit', type: 'int', help: 'Max number of search results', valueName: 'int' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const auth = registryAuthHeader(registryOf(args[0]!));
    const results = await client.json<SearchResult[]>('GET', '/images/search', {
      query: { term: args[0]!, limit: flags['limit'] as number | undefined },
      headers: auth ? { 'X-Registry-Auth': auth } : {},
    });
    const trunc = !flags['no-trunc'];
    const rows = results.map((r) => ({
      Name: r.name,
      Description: trunc && r.description.length > 45 ? `${r.description.slice(0, 44)}…` : r.description,
      StarCount: String(r.star_count ?? 0),
      IsOfficial: r.is_official ? '[OK]' : '',
    }));
    ctx.stdout.write(renderRows(rows, flags['format'] as string | undefined, '{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}', {
      Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL',
    }));
  },
};
