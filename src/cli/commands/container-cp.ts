// `cp`: files between a container and the host as tar over /containers/{id}/archive, `-` for a
// tar on stdin/stdout. The host side is packed and unpacked by GNU tar (faithful to modes, links
// and xattrs); a destination that does not exist takes the source's contents under its own name.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DaemonError } from '../../client/index.js';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';

/** `ctr:/path` -> container and path; a local path (absolute, ./, or without a colon) -> no container. */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (path.isAbsolute(arg) || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

function tar(args: string[], stdio: 'in' | 'out') {
  return spawn('tar', args, { stdio: stdio === 'in' ? ['pipe', 'ignore', 'inherit'] : ['ignore', 'pipe', 'inherit'] });
}

async function exited(child: ReturnType<typeof spawn>): Promise<void> {
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`tar exited with ${code}`);
}

export const cpCommand: Command = {
  path: ['container', 'cp'],
  aliases: [['cp']],
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  short: 'Copy files/folders between a container and the local filesystem',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'archive', short: 'a', type: 'bool', help: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', type: 'bool', help: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached to STDERR' },
  ],
  async run(ctx, args, flags) {
    const src = splitCpArg(args[0]!);
    const dst = splitCpArg(args[1]!);
    if (src.container && dst.container) throw new UsageError('copying between containers is not supported');
    if (!src.container && !dst.container) throw new UsageError('must specify at least one container source');
    const client = await ctx.client();
    if (src.container) {
      const res = await client.request('GET', `/containers/${encodeURIComponent(src.container)}/archive`, { query: { path: src.path } });
      if (dst.path === '-') {
        await pipeline(res, ctx.stdout as NodeJS.WritableStream);
        return;
      }
      const target = path.resolve(dst.path);
      if (existsSync(target) && statSync(target).isDirectory()) {
        const t = tar(['-x', '-C', target, ...(flags['archive'] ? ['--same-owner'] : ['--no-same-owner'])], 'in');
        await Promise.all([pipeline(res, t.stdin!), exited(t)]);
        return;
      }
      // Unpack beside the target, then give the one top-level entry the target's name.
      const tmp = mkdtempSync(path.join(path.dirname(target), '.berth-cp-'));
      try {
        const t = tar(['-x', '-C', tmp, '--no-same-owner'], 'in');
        await Promise.all([pipeline(res, t.stdin!), exited(t)]);
        const [entry] = readdirSync(tmp);
        if (!entry) throw new Error(`no such file in the archive: ${src.path}`);
        renameSync(path.join(tmp, entry), target);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return;
    }
    const container = encodeURIComponent(dst.container!);
    if (src.path === '-') {
      (await client.request('PUT', `/containers/${container}/archive`, { query: { path: dst.path }, stream: ctx.stdin as NodeJS.ReadableStream & import('node:stream').Readable })).resume();
      return;
    }
    const local = path.resolve(src.path);
    if (!existsSync(local)) throw new Error(`lstat ${local}: no such file or directory`);
    // Into an existing directory the source keeps its name; otherwise it is renamed to the destination.
    let destIsDir = false;
    try {
      const head = await client.request('HEAD', `/containers/${container}/archive`, { query: { path: dst.path } });
      head.resume();
      const stat = head.headers['x-docker-container-path-stat'];
      if (typeof stat === 'string') destIsDir = ((JSON.parse(Buffer.from(stat, 'base64').toString('utf8')) as { mode: number }).mode & 0x80000000) !== 0;
    } catch (err) {
      if (!(err instanceof DaemonError) || err.statusCode !== 404) throw err;
    }
    const base = path.basename(local);
    const into = destIsDir ? dst.path : path.posix.dirname(dst.path);
    const rename = destIsDir ? [] : [`--transform=s|^${base.replace(/[|\\.*^$[\]]/g, '\\$&')}|${path.posix.basename(dst.path)}|`];
    const t = tar(['-c', '-C', path.dirname(local), ...rename, ...(flags['follow-link'] ? ['-h'] : []), base], 'out');
    const put = client.request('PUT', `/containers/${container}/archive`, { query: { path: into, copyUIDGID: flags['archive'] ? true : undefined }, stream: t.stdout! });
    await Promise.all([put.then((r) => r.resume()), exited(t)]);
  },
};
