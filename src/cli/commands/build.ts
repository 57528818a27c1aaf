// `berth build`: the classic builder's client side. Sends the context (a directory honouring
// .dockerignore, a tar file, `-` for a tar or Dockerfile on stdin, or a URL the daemon fetches)
// and prints the daemon's stream as the docker CLI does.
import { existsSync, statSync, writeFileSync, createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { jsonMessages, readAll } from '../../client/index.js';
import { humanSize } from '../render/units.js';
import { ExitError, type Command } from '../command.js';
import { confirm } from './common.js';
import { contextTar, dockerfileTar } from './build-context.js';
import { CacheReport } from './build-report.js';
// The sniffing helper alone: the archive codecs (and their native calls) stay out of the CLI.
import { looksLikeArchive } from '../../lib/archive/sniff.js';

/** `--build-arg K=V`, or `K` alone taking the value from the environment (null if unset). */
function buildArgs(list: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq >= 0) out[a.slice(0, eq)] = a.slice(eq + 1);
    else out[a] = process.env[a] ?? null;
  }
  if (process.env['SOURCE_DATE_EPOCH'] && !('SOURCE_DATE_EPOCH' in out)) out['SOURCE_DATE_EPOCH'] = process.env['SOURCE_DATE_EPOCH'];
  return out;
}

function labels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const eq = l.indexOf('=');
    out[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  return out;
}

export const buildCommand: Command = {
  path: ['image', 'build'],
  aliases: [['build'], ['builder', 'build']],
  usage: '[OPTIONS] PATH | URL | -',
  short: 'Build an image from a Dockerfile',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'tag', short: 't', type: 'list', help: 'Name and optionally a tag in the "name:tag" format', valueName: 'list' },
    { name: 'file', short: 'f', type: 'string', help: 'Name of the Dockerfile (Default is "PATH/Dockerfile")', valueName: 'string' },
    { name: 'build-arg', type: 'list', help: 'Set build-time variables', valueName: 'list' },
    { name: 'target', type: 'string', help: 'Set the target build stage to build.', valueName: 'string' },
    { name: 'no-cache', type: 'bool', help: 'Do not use cache when building the image' },
    { name: 'pull', type: 'bool', help: 'Always attempt to pull a newer version of the image' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the build output and print image ID on success' },
    { name: 'label', type: 'list', help: 'Set metadata for an image', valueName: 'list' },
    { name: 'iidfile', type: 'string', help: 'Write the image ID to the file', valueName: 'string' },
    { name: 'network', type: 'string', help: 'Set the networking mode for the RUN instructions during build', valueName: 'string', default: 'default' },
    { name: 'rm', type: 'bool', help: 'Remove intermediate containers after a successful build', default: true },
    { name: 'force-rm', type: 'bool', help: 'Always remove intermediate containers' },
    { name: 'explain-cache', type: 'bool', help: 'After the build, say for every step whether it came from the cache and why not' },
  ],
  async run(ctx, args, flags) {
    const source = args[0]!;
    const file = flags['file'] as string | undefined;
    const quiet = !!flags['quiet'];
    let body: AsyncIterable<Buffer> | Iterable<Buffer> | undefined;
    let dockerfileName: string | undefined;
    let remote: string | undefined;
    if (/^https?:\/\//i.test(source)) {
      remote = source;
      dockerfileName = file;
    } else if (source === '-') {
      const data = await readAll(ctx.stdin as AsyncIterable<Buffer>);
      const payload = looksLikeArchive(data) ? data : await dockerfileTar(data);
      body = (async function* () {
        yield payload;
      })();
      dockerfileName = looksLikeArchive(data) ? file : undefined;
    } else if (!existsSync(source)) {
      ctx.stderr.write(`unable to prepare context: path "${source}" not found\n`);
      throw new ExitError(1);
    } else if (statSync(source).isFile()) {
      body = createReadStream(source);
      dockerfileName = file;
    } else {
      if (file === '-') {
        const t = contextTar(source, { data: await readAll(ctx.stdin as AsyncIterable<Buffer>) });
        body = t.chunks;
        dockerfileName = t.dockerfileName;
      } else {
        const df = file ?? `${source}/Dockerfile`;
        if (!existsSync(df)) {
          ctx.stderr.write(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${df}: no such file or directory\n`);
          throw new ExitError(1);
        }
        const t = contextTar(source, df);
        body = t.chunks;
        dockerfileName = t.dockerfileName;
      }
    }

    let sent = 0;
    const counted = body && (async function* () {
      for await (const c of body!) {
        sent += c.length;
        yield c;
      }
      // With -q the docker CLI still reports the upload, on stderr.
      (quiet ? ctx.stderr : ctx.stdout).write(`Sending build context to Docker daemon  ${humanSize(sent, 4)}\r\r\n`);
    })();
    const client = await ctx.client();
    const res = await client.request('POST', '/build', {
      query: {
        t: flags['tag'] as string[], dockerfile: dockerfileName, buildargs: JSON.stringify(buildArgs((flags['build-arg'] as string[]) ?? [])),
        labels: JSON.stringify(labels((flags['label'] as string[]) ?? [])), target: flags['target'] as string | undefined,
        nocache: flags['no-cache'] ? '1' : undefined, pull: flags['pull'] ? '1' : undefined, q: quiet ? '1' : undefined,
        rm: flags['rm'] === false ? '0' : '1', forcerm: flags['force-rm'] ? '1' : undefined,
        networkmode: flags['network'] as string | undefined, remote,
      },
      stream: counted ? Readable.from(counted) : undefined,
      headers: counted ? { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } : {},
    });
    let id = '';
    const report = flags['explain-cache'] && !quiet ? new CacheReport(!!flags['no-cache']) : undefined;
    for await (const m of jsonMessages(res)) {
      if (m.error) {
        if (report) ctx.stdout.write(report.render());
        ctx.stderr.write(`${m.error}\n`);
        const code = (m.errorDetail as { code?: number } | undefined)?.code;
        throw new ExitError(code && code > 0 ? code : 1);
      }
      if (m.aux && typeof m.aux === 'object' && 'ID' in (m.aux as object)) id = String((m.aux as { ID: string }).ID);
      if (m.stream) {
        ctx.stdout.write(m.stream);
        report?.add(m.stream);
      }
    }
    if (report) ctx.stdout.write(report.render());
    const iidfile = flags['iidfile'] as string | undefined;
    if (iidfile && id) writeFileSync(iidfile, id);
  },
};

export const builderPruneCommand: Command = {
  path: ['builder', 'prune'],
  usage: '[OPTIONS]',
  short: 'Remove build cache',
  args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused build cache, not just dangling ones' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  async run(ctx, _args, flags) {
    const warning = flags['all'] ? 'WARNING! This will remove all build cache.' : 'WARNING! This will remove all dangling build cache.';
    if (!flags['force'] && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
    const client = await ctx.client();
    const report = await client.json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune', { query: { all: flags['all'] ? '1' : undefined } });
    if (report.CachesDeleted?.length) ctx.stdout.write(`Deleted build cache objects:\n${report.CachesDeleted.join('\n')}\n\n`);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
  },
};
