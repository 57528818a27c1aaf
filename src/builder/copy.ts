// COPY and ADD: finding sources in the context (or in another stage's root), hashing them for the
// cache, and copying them into a mounted root with Docker's rules for directories, wildcards,
// ownership and modes. Nothing resolves outside its root: `..` in a source is refused and
// symlinks are followed as if the root were `/`.
import { createHash } from 'node:crypto';
import {
  chmodSync, closeSync, copyFileSync, createReadStream, existsSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readFileSync,
  readSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, type Stats,
} from 'node:fs';
import path from 'node:path';
import { InvalidArgument } from '../errdefs/index.js';
import { applyLayer, decompress, resolveInRoot } from '../lib/archive/index.js';
import { globToRegExp, hasWildcards } from './glob.js';
import { looksLikeArchive } from '../lib/archive/index.js';

export interface CopySource {
  /** Where the bytes are on the host. */
  host: string;
  /** The path relative to its root, for hashes and messages. */
  rel: string;
  isDir: boolean;
  /** The base name a file gets inside a destination directory. */
  name: string;
  /** ADD: a local archive to extract. */
  archive?: boolean;
}

export interface Owner {
  uid: number;
  gid: number;
}

/** Docker's COPY/ADD error prefix. */
export function copyError(kind: string, msg: string): InvalidArgument {
  return new InvalidArgument(`${kind.toUpperCase()} failed: ${msg}`);
}

/** Sources matching `patterns` in `root`. `context` refuses paths that climb out of the root. */
export function resolveSources(root: string, patterns: string[], kind: string, context: boolean): CopySource[] {
  const out: CopySource[] = [];
  for (const p of patterns) {
    const rel = path.posix.normalize(p.replace(/^\/+/, '') || '.');
    if (context && (rel === '..' || rel.startsWith('../'))) {
      throw copyError(kind, `forbidden path outside the build context: ${p} (${path.join(root, rel)})`);
    }
    const clean = path.posix.normalize('/' + rel).slice(1);
    if (hasWildcards(clean)) {
      const re = globToRegExp(clean);
      const found: CopySource[] = [];
      const walk = (dir: string): void => {
        const host = dir ? path.join(root, dir) : root;
        for (const name of readdirSync(host).sort()) {
          const r = dir ? `${dir}/${name}` : name;
          const st = lstatSync(path.join(root, r));
          if (re.test(r)) {
            const real = resolveInRoot(root, r, true);
            const rst = statSync(real, { throwIfNoEntry: false });
            if (rst) found.push({ host: real, rel: r, isDir: rst.isDirectory(), name });
            continue;
          }
          if (st.isDirectory()) walk(r);
        }
      };
      walk('');
      out.push(...found);
      continue;
    }
    const host = resolveInRoot(root, clean, true);
    const st = statSync(host, { throwIfNoEntry: false });
    if (!st) {
      throw copyError(kind, context
        ? `file not found in build context or excluded by .dockerignore: stat ${clean}: file does not exist`
        : `stat ${p}: file does not exist`);
    }
    out.push({ host, rel: clean || '.', isDir: st.isDirectory(), name: path.posix.basename(clean) || '.' });
  }
  if (out.length === 0) throw copyError(kind, 'no source files were specified');
  return out;
}

function fileDigest(p: string): string {
  const h = createHash('sha256');
  const fd = openSync(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function entryHash(host: string, st: Stats, known?: (host: string) => string | undefined): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
  const body = type === 'f' ? (known?.(host) ?? fileDigest(host)) : type === 'l' ? readlinkSync(host) : '';
  // Modification times are left out, as in Docker: touching a file does not bust the cache.
  return createHash('sha256').update(`${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.size} ${body}`).digest('hex').slice(0, 32);
}

/**
 * Path -> hash for every file and directory under the sources: the cache's view of them.
 * `known` gives content digests already computed (the context store's), by host path.
 */
export function hashSources(sources: CopySource[], known?: (host: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (host: string, rel: string): void => {
    const st = lstatSync(host);
    out[rel] = entryHash(host, st, known);
    if (st.isDirectory()) for (const n of readdirSync(host).sort()) visit(path.join(host, n), rel === '.' ? n : `${rel}/${n}`);
  };
  for (const s of sources) {
    const st = statSync(s.host);
    if (st.isDirectory()) visit(s.host, s.rel);
    else out[s.rel] = entryHash(s.host, st, known);
  }
  return out;
}

export function isArchive(host: string): boolean {
  const fd = openSync(host, 'r');
  const head = Buffer.alloc(512);
  try {
    return looksLikeArchive(head.subarray(0, readSync(fd, head, 0, 512, 0)));
  } finally {
    closeSync(fd);
  }
}

/** `user[:group]` as numbers, names looked up in the root's /etc/passwd and /etc/group. */
export function resolveChown(rootfs: string, spec: string): Owner {
  const [u, g = u] = spec.split(':') as [string, string?];
  const lookup = (file: string, name: string, what: string): number => {
    if (/^\d+$/.test(name)) return Number(name);
    let text = '';
    try {
      text = readFileSync(resolveInRoot(rootfs, `etc/${file}`, true), 'utf8');
    } catch {
      // no such file: the name cannot be resolved
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f[2] !== undefined) return Number(f[2]);
    }
    throw new InvalidArgument(`unable to convert uid/gid chown string to host mapping: can't find ${what} for ${what === 'uid' ? 'user' : 'group'} ${name}: no such ${what === 'uid' ? 'user' : 'group'}: ${name}`);
  };
  return { uid: lookup('passwd', u, 'uid'), gid: lookup('group', g!, 'gid') };
}

export function parseChmod(spec: string): number {
  if (!/^[0-7]{1,4}$/.test(spec)) throw new InvalidArgument(`invalid chmod parameter: ${spec}`);
  return parseInt(spec, 8);
}

export interface CopyOptions {
  kind: string;
  owner: Owner;
  /** From --chmod; else each source's mode is kept. */
  mode?: number;
}

/** Makes `dirRel` (and missing parents) inside the root; returns its host path. */
function mkdirInRoot(rootfs: string, dirRel: string, owner: Owner): string {
  const parts = dirRel.split('/').filter(Boolean);
  let cur = '';
  for (const p of parts) {
    cur = cur ? `${cur}/${p}` : p;
    const host = resolveInRoot(rootfs, cur, true);
    const st = lstatSync(host, { throwIfNoEntry: false });
    if (!st) {
      mkdirSync(host, { mode: 0o755 });
      chmodSync(host, 0o755);
      lchownSync(host, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw new InvalidArgument(`cannot copy to non-directory: ${'/' + cur}`);
    }
  }
  return resolveInRoot(rootfs, dirRel, true);
}

function copyEntry(src: string, dst: string, o: CopyOptions): void {
  const st = lstatSync(src);
  const existing = lstatSync(dst, { throwIfNoEntry: false });
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) rmSync(dst, { recursive: true, force: true });
    if (!existing || !existing.isDirectory()) mkdirSync(dst);
    for (const n of readdirSync(src).sort()) copyEntry(path.join(src, n), path.join(dst, n), o);
    chmodSync(dst, o.mode ?? st.mode & 0o7777);
    lchownSync(dst, o.owner.uid, o.owner.gid);
    utimesSync(dst, st.atime, st.mtime);
    return;
  }
  if (existing) rmSync(dst, { recursive: true, force: true });
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
    lchownSync(dst, o.owner.uid, o.owner.gid);
    lutimesSync(dst, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return; // sockets, devices and fifos are not copied from a context
  copyFileSync(src, dst);
  chmodSync(dst, o.mode ?? st.mode & 0o7777);
  lchownSync(dst, o.owner.uid, o.owner.gid);
  utimesSync(dst, st.atime, st.mtime);
}

/**
 * Copies the sources to `dest` (an absolute path in the root), as Docker does: a directory's
 * contents go into the destination; a file goes into it if it is a directory (or ends with `/`),
 * else becomes it; local archives given to ADD are extracted.
 */
export async function copyIntoRoot(rootfs: string, sources: CopySource[], dest: string, o: CopyOptions): Promise<void> {
  let destIsDir = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
  if (sources.length > 1 && !destIsDir) {
    throw new InvalidArgument(`When using ${o.kind.toUpperCase()} with more than one source file, the destination must be a directory and end with a /`);
  }
  const destRel = path.posix.normalize(dest).replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.$/, '');
  if (!destIsDir && destRel) {
    const host = resolveInRoot(rootfs, destRel, true);
    if (existsSync(host) && statSync(host).isDirectory()) destIsDir = true;
  }
  for (const s of sources) {
    if (s.isDir) {
      const target = mkdirInRoot(rootfs, destRel, o.owner);
      for (const n of readdirSync(s.host).sort()) copyEntry(path.join(s.host, n), path.join(target, n), o);
      continue;
    }
    if (s.archive) {
      const target = mkdirInRoot(rootfs, destRel, o.owner);
      const { stream } = await decompress(createReadStream(s.host));
      await applyLayer(target, stream as AsyncIterable<Buffer>, { whiteouts: 'delete', digest: false });
      continue;
    }
    const fileRel = destIsDir ? (destRel ? `${destRel}/${s.name}` : s.name) : destRel;
    const parent = path.posix.dirname(fileRel);
    const parentHost = parent === '.' ? rootfs : mkdirInRoot(rootfs, parent, o.owner);
    copyEntry(s.host, path.join(parentHost, path.posix.basename(fileRel)), o);
  }
}

/** Writes bytes (a heredoc, a download) as a staged source file. */
export function stageFile(dir: string, name: string, data: Buffer | string, mode: number, mtime?: Date): CopySource {
  mkdirSync(dir, { recursive: true });
  const host = path.join(dir, `${Math.random().toString(36).slice(2)}-${name.replace(/\//g, '_')}`);
  writeFileSync(host, data, { mode });
  chmodSync(host, mode);
  if (mtime) utimesSync(host, mtime, mtime);
  return { host, rel: name, isDir: false, name };
}

