// `create`, `run` and `start`: create (pulling a missing image), attach before start, wait for
// the next exit, and exit with the container's code, as the docker CLI does; daemon errors exit
// 125, a command that cannot be found 127, one that cannot be invoked 126.
import { DaemonError, jsonMessages, type EngineClient } from '../../client/index.js';
import { ExitError, type Command, type Context } from '../command.js';
import type { FlagValues } from '../flags.js';
import { UsageError } from '../flags.js';
import { attachContainer, followTerminalSize, rawTerminal, type Attached } from './container-attach.js';
import { buildCreateBody, containerCreateFlags, runOnlyFlags } from './container-opts.js';

/** The `berth: <error>\n\nRun 'berth run --help' for more information` shape of docker 28. */
export function failRun(ctx: Context, sub: string, message: string, code: number): never {
  ctx.stderr.write(`${ctx.prog}: ${message}\n\nRun '${ctx.prog} ${sub} --help' for more information\n`);
  throw new ExitError(code);
}

function daemonMessage(err: unknown): string {
  return err instanceof DaemonError ? `Error response from daemon: ${err.message}` : err instanceof Error ? err.message : String(err);
}

/** docker's runStartContainerErr: 127 for a missing command, 126 for one that cannot run. */
export function startErrorCode(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|operation not permitted/.test(message)) return 126;
  return 125;
}

function withTag(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { fromImage: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) } : { fromImage: image, tag: 'latest' };
}

async function pullImage(ctx: Context, client: EngineClient, image: string, platform: string | undefined, quiet: boolean): Promise<void> {
  const res = await client.request('POST', '/images/create', { query: { ...withTag(image), platform } });
  for await (const m of jsonMessages(res)) {
    if (m.error) throw new DaemonError(500, m.error);
    if (!quiet && m.status) ctx.stderr.write(`${m.id ? `${m.id}: ` : ''}${m.status}${m.progress ? ` ${m.progress}` : ''}\n`);
  }
}

/** POST /containers/create, pulling first per --pull; prints docker's "Unable to find image". */
export async function createContainer(ctx: Context, client: EngineClient, flags: FlagValues, image: string, cmd: string[], run: boolean): Promise<{ Id: string; Warnings?: string[] }> {
  const body = buildCreateBody(flags, image, cmd, { run });
  // As the docker CLI: a TTY container starts at the size of the terminal it will be shown on.
  const out = ctx.stdout as NodeJS.WriteStream;
  if (body.Tty && out.isTTY && out.rows && out.columns) (body.HostConfig as Record<string, unknown>)['ConsoleSize'] = [out.rows, out.columns];
  const pull = (flags['pull'] as string) ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pull)) throw new UsageError(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  const platform = flags['platform'] as string | undefined;
  const query = { name: flags['name'] as string | undefined, platform };
  const quiet = !!flags['quiet'];
  const tagged = image.includes('@') || image.lastIndexOf(':') > image.lastIndexOf('/') ? image : `${image}:latest`;
  if (pull === 'always') await pullImage(ctx, client, image, platform, quiet);
  try {
    return await client.json('POST', '/containers/create', { query, body });
  } catch (err) {
    if (!(err instanceof DaemonError) || err.statusCode !== 404 || pull !== 'missing' || !/No such image/i.test(err.message)) throw err;
    ctx.stderr.write(`Unable to find image '${tagged}' locally\n`);
    await pullImage(ctx, client, image, platform, quiet);
    return client.json('POST', '/containers/create', { query, body });
  }
}

/** Waits for the container's next exit (or its removal with --rm); resolves with its code. */
async function waitExit(client: EngineClient, id: string, autoRemove: boolean): Promise<{ code: Promise<number> }> {
  const res = await client.request('POST', `/containers/${id}/wait`, { query: { condition: autoRemove ? 'removed' : 'next-exit' } });
  // Wrapped so that awaiting the registration does not also await the exit.
  const code = (async () => {
    let text = '';
    for await (const c of res) text += c;
    const r = JSON.parse(text || '{}') as { StatusCode?: number; Error?: { Message?: string } | null };
    return r.StatusCode ?? 0;
  })();
  return { code };
}

export const createCommand: Command = {
  path: ['container', 'create'],
  aliases: [['create']],
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create a new container',
  args: { min: 1 },
  stopAtPositional: true,
  flags: containerCreateFlags,
  async run(ctx, args, flags) {
    const client = await ctx.client();
    try {
      const created = await createContainer(ctx, client, flags, args[0]!, args.slice(1), false);
      for (const w of created.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
      ctx.stdout.write(`${created.Id}\n`);
    } catch (err) {
      if (err instanceof ExitError) throw err;
      failRun(ctx, 'create', daemonMessage(err), 125);
    }
  },
};

export const runCommand: Command = {
  path: ['container', 'run'],
  aliases: [['run']],
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create and run a new container from an image',
  args: { min: 1 },
  stopAtPositional: true,
  flags: [...containerCreateFlags, ...runOnlyFlags].sort((a, b) => a.name.localeCompare(b.name)),
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const detach = !!flags['detach'];
    const tty = !!flags['tty'];
    const autoRemove = !!flags['rm'];
    if (tty && !detach && flags['interactive'] && !(ctx.stdin as NodeJS.ReadStream).isTTY) {
      failRun(ctx, 'run', 'the input device is not a TTY', 1);
    }
    let id: string;
    let body;
    try {
      body = buildCreateBody(flags, args[0]!, args.slice(1), { run: true });
      const created = await createContainer(ctx, client, flags, args[0]!, args.slice(1), true);
      for (const w of created.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
      id = created.Id;
    } catch (err) {
      if (err instanceof ExitError) throw err;
      if (err instanceof UsageError) failRun(ctx, 'run', err.message, 125);
      failRun(ctx, 'run', daemonMessage(err), 125);
    }
    if (detach) {
      try {
        await (await client.request('POST', `/containers/${id}/start`)).resume();
      } catch (err) {
        failRun(ctx, 'run', daemonMessage(err), startErrorCode(daemonMessage(err)));
      }
      ctx.stdout.write(`${id}\n`);
      return 0;
    }
    // As docker: the wait is registered before start so a fast exit is not missed.
    const exit = await waitExit(client, id, autoRemove);
    let attached: Attached | undefined;
    const streams = { stdin: body.AttachStdin, stdout: body.AttachStdout, stderr: body.AttachStderr, tty, detachKeys: flags['detach-keys'] as string | undefined };
    if (streams.stdin || streams.stdout || streams.stderr) attached = await attachContainer(ctx, client, id, streams);
    const restore = rawTerminal(ctx, tty && streams.stdin);
    let stopResize = () => {};
    const stopProxy = !tty && flags['sig-proxy'] !== false ? proxySignals(client, id) : () => {};
    try {
      try {
        (await client.request('POST', `/containers/${id}/start`)).resume();
      } catch (err) {
        attached?.socket.end();
        failRun(ctx, 'run', daemonMessage(err), startErrorCode(daemonMessage(err)));
      }
      // A terminal can be resized only once the container runs (as the docker CLI does).
      if (tty) stopResize = followTerminalSize(ctx, client, `/containers/${id}/resize`);
      const result = attached ? await attached.done : { detached: false };
      if (result.detached) {
        ctx.stderr.write('read escape sequence\n');
        return 0;
      }
      return await exit.code;
    } finally {
      stopProxy();
      stopResize();
      restore();
    }
  },
};

/** Ctrl-C and friends reach the container as POST /kill (docker's --sig-proxy). */
export function proxySignals(client: EngineClient, id: string): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = signals.map((s) => {
    const h = () => {
      client.request('POST', `/containers/${id}/kill`, { query: { signal: s } }).then((r) => r.resume(), () => {});
    };
    process.on(s, h);
    return [s, h] as const;
  });
  return () => {
    for (const [s, h] of handlers) process.off(s, h);
  };
}

export const startCommand: Command = {
  path: ['container', 'start'],
  aliases: [['start']],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Start one or more stopped containers',
  args: { min: 1 },
  flags: [
    { name: 'attach', short: 'a', type: 'bool', help: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container', valueName: 'string' },
    { name: 'interactive', short: 'i', type: 'bool', help: "Attach container's STDIN" },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    if (flags['attach'] || flags['interactive']) {
      if (args.length > 1) throw new UsageError('you cannot start and attach multiple containers at once');
      const info = await client.json<{ Id: string; Config: { Tty: boolean; OpenStdin: boolean } }>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`);
      const tty = info.Config.Tty;
      const stdin = !!flags['interactive'] && info.Config.OpenStdin;
      const exit = await waitExit(client, info.Id, false);
      const attached = await attachContainer(ctx, client, info.Id, { stdin, stdout: true, stderr: true, tty, detachKeys: flags['detach-keys'] as string | undefined });
      const restore = rawTerminal(ctx, tty && stdin);
      const stopProxy = !tty ? proxySignals(client, info.Id) : () => {};
      try {
        (await client.request('POST', `/containers/${info.Id}/start`)).resume();
        const r = await attached.done;
        if (r.detached) {
          ctx.stderr.write('read escape sequence\n');
          return 0;
        }
        return await exit.code;
      } finally {
        stopProxy();
        restore();
      }
    }
    const failed: string[] = [];
    for (const name of args) {
      try {
        (await client.request('POST', `/containers/${encodeURIComponent(name)}/start`)).resume();
        ctx.stdout.write(`${name}\n`);
      } catch (err) {
        if (!(err instanceof DaemonError)) throw err;
        ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
        failed.push(name);
      }
    }
    if (failed.length) {
      ctx.stderr.write(`failed to start containers: ${failed.join(', ')}\n`);
      return 1;
    }
  },
};
