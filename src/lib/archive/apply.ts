// Unpacks a layer tar into a directory, safely and faithfully: ownership, modes (set-id and sticky
// bits too), mtimes, xattrs (security.capability is binary), hardlinks, symlinks, devices and FIFOs.
// OCI whiteouts become overlay's form ('overlay': char 0:0 and trusted.overlay.opaque) when the
// directory is a snapshot's own layer, or are carried out ('delete') on a flattened tree.
import {
  chmodSync, chownSync, closeSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync,
  rmSync, symlinkSync, utimesSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import { InvalidArgument, errnoOf } from '../../errdefs/index.js';
import { Digester, type Digest } from '../../lib/digest.js';
import { readTar } from '../tar/index.js';
import type { TarHeader } from '../tar/header.js';
import { lsetxattr, mknod, S_IFCHR, S_IFBLK, S_IFIFO } from '../sys/index.js';
import { cleanEntryName, resolveInRoot } from './paths.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface ApplyOptions {
  whiteouts?: 'overlay' | 'delete';
  /** Hash the stream for the diff ID (default). Off when the caller hashes the same bytes anyway. */
  digest?: boolean;
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar stream: the layer's diff ID (unless `digest: false`). */
  diffID?: Digest;
  /** Bytes of the uncompressed tar stream. */
  size: number;
  /** Bytes of regular file content written (hardlinks counted once): the layer's disk usage. */
  unpackedSize: number;
}

export async function applyLayer(root: string, source: AsyncIterable<Buffer>, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const mode = opts.whiteouts ?? 'overlay';
  const digester = opts.digest === false ? undefined : new Digester();
  let size = 0;
  const inner = source[Symbol.asyncIterator]();
  // Every byte is hashed, also the padding after the end-of-archive marker, so the diff ID is right.
  const hashed: AsyncIterableIterator<Buffer> = {
    async next() {
      const r = await inner.next();
      if (!r.done) {
        digester?.update(r.value);
        size += r.value.length;
      }
      return r;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  const known = new Set<string>([root]);
  const dirTimes: Array<[string, number]> = [];
  const unpacked = new Set<string>();
  let unpackedSize = 0;

  for await (const entry of readTar({ [Symbol.asyncIterator]: () => hashed })) {
    const h = entry.header;
    const rel = cleanEntryName(h.name);
    if (rel === '') {
      if (h.type === 'dir') {
        setMetadata(root, h);
        dirTimes.push([root, h.mtime]);
      }
      continue;
    }
    const base = path.posix.basename(rel);
    const parentRel = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
    const parent = ensureDir(root, parentRel, known);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      applyWhiteout(parent, base, mode, unpacked);
      continue;
    }
    const target = parent + '/' + base;
    const existing = lstatSync(target, { throwIfNoEntry: false });
    if (existing) {
      if (existing.isDirectory() && h.type === 'dir') {
        // Keep the directory and its children; only its metadata changes.
      } else {
        rmSync(target, { recursive: true, force: true });
        known.delete(target);
        if (existing.isDirectory()) for (const k of known) if (k.startsWith(target + '/')) known.delete(k);
      }
    }
    switch (h.type) {
      case 'dir':
        if (!existing?.isDirectory()) mkdirSync(target, { mode: 0o700 });
        known.add(target);
        dirTimes.push([target, h.mtime]);
        break;
      case 'file': {
        const fd = openSync(target, 'wx', 0o600);
        try {
          for await (const chunk of entry.body()) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          }
        } finally {
          closeSync(fd);
        }
        unpackedSize += h.size;
        break;
      }
      case 'symlink':
        symlinkSync(h.linkname, target);
        break;
      case 'link': {
        const linkRel = cleanEntryName(h.linkname);
        const source = resolveInRoot(root, linkRel, false, known);
        const st = lstatSync(source, { throwIfNoEntry: false });
        if (!st) throw new InvalidArgument(`refusing tar entry ${JSON.stringify(h.name)}: hardlink target ${JSON.stringify(h.linkname)} does not exist in the layer`);
        if (st.isDirectory()) throw new InvalidArgument(`refusing tar entry ${JSON.stringify(h.name)}: hardlink to a directory`);
        linkSync(source, target);
        unpacked.add(target);
        continue; // a hardlink shares its target's metadata
      }
      case 'char':
        mknod(target, S_IFCHR | (h.mode & 0o777), h.devmajor, h.devminor);
        break;
      case 'block':
        mknod(target, S_IFBLK | (h.mode & 0o777), h.devmajor, h.devminor);
        break;
      case 'fifo':
        mknod(target, S_IFIFO | (h.mode & 0o777));
        break;
    }
    unpacked.add(target);
    setMetadata(target, h);
  }
  // Drain what follows the end-of-archive marker so it is part of the digest.
  for await (const _ of hashed) void _;
  // Children first: setting a directory's mtime before writing into it would be undone.
  for (let i = dirTimes.length - 1; i >= 0; i--) {
    const [dir, mtime] = dirTimes[i]!;
    utimesSync(dir, mtime, mtime);
  }
  return { diffID: digester?.digest(), size, unpackedSize };
}

function ensureDir(root: string, rel: string, known: Set<string>): string {
  const host = resolveInRoot(root, rel, true, known);
  if (known.has(host)) return host;
  const st = lstatSync(host, { throwIfNoEntry: false });
  if (st?.isDirectory()) {
    known.add(host);
    return host;
  }
  if (st) throw new InvalidArgument(`refusing tar entry under ${JSON.stringify(rel)}: not a directory`);
  // Every existing component of `host` was resolved inside the root, so creating the missing
  // tail cannot leave it.
  mkdirSync(host, { recursive: true, mode: 0o755 });
  known.add(host);
  return host;
}

function applyWhiteout(parent: string, base: string, mode: 'overlay' | 'delete', unpacked: Set<string>): void {
  if (base === OPAQUE_WHITEOUT) {
    if (mode === 'overlay') {
      lsetxattr(parent, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
    } else {
      for (const child of readdirSync(parent)) {
        const p = parent + '/' + child;
        if (!unpacked.has(p)) rmSync(p, { recursive: true, force: true });
      }
    }
    return;
  }
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (!name || name === '.' || name === '..' || name.includes('/')) throw new InvalidArgument(`refusing whiteout ${JSON.stringify(base)}`);
  const target = parent + '/' + name;
  rmSync(target, { recursive: true, force: true });
  if (mode === 'overlay') mknod(target, S_IFCHR, 0, 0);
}

function setMetadata(target: string, h: TarHeader): void {
  if (h.type === 'symlink') {
    lchownSync(target, h.uid, h.gid);
  } else {
    chownSync(target, h.uid, h.gid);
    // chown clears set-id bits, so the mode comes after it.
    chmodSync(target, h.mode & 0o7777);
  }
  if (h.xattrs) {
    for (const [name, value] of h.xattrs) {
      try {
        lsetxattr(target, name, value);
      } catch (err) {
        // Filesystems without a namespace (e.g. no security.selinux support) are not an error.
        if (errnoOf(err) !== 'ENOTSUP' && errnoOf(err) !== 'EOPNOTSUPP') throw err;
      }
    }
  }
  if (h.type === 'symlink') lutimesSync(target, h.mtime, h.mtime);
  else if (h.type !== 'dir') utimesSync(target, h.mtime, h.mtime);
}

