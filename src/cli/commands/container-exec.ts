// `exec`, `attach`, `commit` and `container prune`: exec creates an exec instance, hijacks its
// start, then takes the exit code from GET /exec/{id}/json as docker does.
import type { Command } from '../command.js';
import { confirm, filtersQuery } from './common.js';
import { attachContainer, followTerminalSize, pumpStreams, rawTerminal } from './container-attach.js';
import { expandEnv, parseEnvLines } from './container-opts.js';
import { proxySignals } from './container-run.js';
import { readFileSync } from 'node:fs';
import { humanSize } from '../render/units.js';

/** The body of POST /containers/{id}/exec from exec's flags. */
export function execBody(flags: Record<string, unknown>, cmd: string[], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const detach = !!flags['detach'];
  const envs = [
    ...((flags['env-file'] as string[] | undefined) ?? []).flatMap((f) => parseEnvLines(readFileSync(f, 'utf8'), f, env)),
    ...((flags['env'] as string[] | undefined) ?? []).map((e) => expandEnv(e, env)),
  ];
  return {
    User: (flags['user'] as string | undefined) ?? '',
    Privileged: !!flags['privileged'],
    Tty: !!flags['tty'],
    AttachStdin: !detach && !!flags['interactive'],
    AttachStderr: !detach,
    AttachStdout: !detach,
    Detach: detach,
    DetachKeys: (flags['detach-keys'] as string | undefined) ?? '',
    Env: envs.length ? envs : null,
    WorkingDir: (flags['workdir'] as string | undefined) ?? '',
    Cmd: cmd,
  };
}

export const execCommand: Command = {
  path: ['container', 'exec'],
  aliases: [['exec']],
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  short: 'Execute a command in a running container',
  args: { min: 2 },
  stopAtPositional: true,
  flags: [
    { name: 'detach', short: 'd', type: 'bool', help: 'Detached mode: run command in the background' },
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container', valueName: 'string' },
    { name: 'env', short: 'e', type: 'list', help: 'Set environment variables' },
    { name: 'env-file', type: 'list', help: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
    { name: 'privileged', type: 'bool', help: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', type: 'string', help: 'Username or UID (format: "<name|uid>[:<group|gid>]")', valueName: 'string' },
    { name: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container', valueName: 'string' },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const body = execBody(flags, args.slice(1));
    const { Id } = await client.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(args[0]!)}/exec`, { body });
    if (body['Detach']) {
      (await client.request('POST', `/exec/${Id}/start`, { body: { Detach: true, Tty: body['Tty'], ConsoleSize: null } })).resume();
      return 0;
    }
    const tty = !!body['Tty'];
    // The terminal's size from the start, so the process never sees a 0x0 terminal (as docker).
    const out = ctx.stdout as NodeJS.WriteStream;
    const size = tty && out.isTTY && out.rows && out.columns ? [out.rows, out.columns] : null;
    const { socket, head } = await client.hijack('POST', `/exec/${Id}/start`, { body: { Detach: false, Tty: tty, ConsoleSize: size } });
    // Raw first: output that came with the response (`head`) is written at once.
    const restore = rawTerminal(ctx, tty && !!body['AttachStdin']);
    const attached = pumpStreams(ctx, socket, head, { stdin: !!body['AttachStdin'], stdout: true, stderr: true, tty, detachKeys: body['DetachKeys'] as string });
    const stopResize = tty ? followTerminalSize(ctx, client, `/exec/${Id}/resize`) : () => {};
    try {
      const r = await attached.done;
      if (r.detached) {
        ctx.stderr.write('read escape sequence\n');
        return 0;
      }
    } finally {
      stopResize();
      restore();
    }
    const info = await client.json<{ ExitCode: number | null; Running: boolean }>('GET', `/exec/${Id}/json`);
    return info.ExitCode ?? 0;
  },
};

export const attachCommand: Command = {
  path: ['container', 'attach'],
  aliases: [['attach']],
  usage: '[OPTIONS] CONTAINER',
  short: 'Attach local standard input, output, and error streams to a running container',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container', valueName: 'string' },
    { name: 'no-stdin', type: 'bool', help: 'Do not attach STDIN' },
    { name: 'sig-proxy', type: 'bool', help: 'Proxy all received signals to the process', default: true },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const info = await client.json<{ Id: string; State: { Running: boolean; Paused: boolean; Restarting: boolean }; Config: { Tty: boolean; OpenStdin: boolean } }>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`);
    if (!info.State.Running) {
      ctx.stderr.write('You cannot attach to a stopped container, start it first\n');
      return 1;
    }
    if (info.State.Paused) {
      ctx.stderr.write('You cannot attach to a paused container, unpause it first\n');
      return 1;
    }
    const tty = info.Config.Tty;
    const stdin = !flags['no-stdin'] && info.Config.OpenStdin;
    const wait = client.json<{ StatusCode: number }>('POST', `/containers/${info.Id}/wait`, { query: { condition: 'not-running' } });
    const attached = await attachContainer(ctx, client, info.Id, { stdin, stdout: true, stderr: true, tty, detachKeys: flags['detach-keys'] as string | undefined });
    const restore = rawTerminal(ctx, tty && stdin);
    const stopResize = tty ? followTerminalSize(ctx, client, `/containers/${info.Id}/resize`) : () => {};
    const stopProxy = flags['sig-proxy'] !== false && !tty ? proxySignals(client, info.Id) : () => {};
    try {
      const r = await attached.done;
      if (r.detached) {
        // As the docker CLI: attach reports the detach as an error (exit 1); run -it does not.
        ctx.stderr.write('read escape sequence\n');
        return 1;
      }
      return (await wait).StatusCode;
    } finally {
      stopProxy();
      stopResize();
      restore();
    }
  },
};

export const commitCommand: Command = {
  path: ['container', 'commit'],
  aliases: [['commit']],
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  short: "Create a new image from a container's changes",
  args: { min: 1, max: 2 },
  flags: [
    { name: 'author', short: 'a', type: 'string', help: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")', valueName: 'string' },
    { name: 'change', short: 'c', type: 'list', help: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', type: 'string', help: 'Commit message', valueName: 'string' },
    { name: 'pause', short: 'p', type: 'bool', help: 'Pause container during commit', default: true },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const ref = args[1] ?? '';
    const at = ref.lastIndexOf(':');
    const [repo, tag] = at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, ''];
    const r = await client.json<{ Id: string }>('POST', '/commit', {
      query: { container: args[0], repo: repo || undefined, tag: tag || undefined, comment: flags['message'] as string | undefined, author: flags['author'] as string | undefined, pause: flags['pause'] as boolean, changes: (flags['change'] as string[]).length ? (flags['change'] as string[]) : undefined },
      body: {},
    });
    ctx.stdout.write(`${r.Id}\n`);
  },
};

export const containerPruneCommand: Command = {
  path: ['container', 'prune'],
  usage: '[OPTIONS]',
  short: 'Remove all stopped containers',
  args: { max: 0 },
  flags: [
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    if (!flags['force'] && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return 0;
    const client = await ctx.client();
    const r = await client.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', { query: { filters: filtersQuery(flags['filter'] as string[]) } });
    const deleted = r.ContainersDeleted ?? [];
    if (deleted.length) ctx.stdout.write(`Deleted Containers:\n${deleted.map((d) => `${d}\n`).join('')}\n`);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  },
};
