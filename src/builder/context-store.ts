// Build contexts kept between builds. A new context tar is unpacked over a context a previous
// build left, and only entries whose bytes or metadata differ are written: rebuilding with an
// unchanged 50 MB, 5,000-file context reads and hashes the stream instead of creating every file
// again. The content hashes kept here also serve COPY's cache keys, so sources are not read twice.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync, chownSync, closeSync, existsSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readFileSync, readdirSync,
  renameSync, rmSync, symlinkSync, utimesSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import { InvalidArgument, errnoOf } from '../errdefs/index.js';
import { cleanEntryName, resolveInRoot } from '../lib/archive/index.js';
import { writeJsonAtomic } from '../lib/atomic.js';
import { lsetxattr } from '../lib/sys/index.js';
import { readTar, type TarHeader } from '../lib/tar/index.js';

/** Contexts kept when no build uses them. */
const KEEP = 2;
/** Files up to this size are hashed in memory before deciding to write; bigger ones go through a temp file. */
const INLINE_MAX = 8 << 20;

interface Kept {
  name: string;
  /** Path relative to the context -> what the entry was (type, metadata, content hash). */
  index: Map<string, string>;
}

export interface ContextLease {
  dir: string;
  /** The sha256 of a regular file of this context, by host path, when known. */
  digestOf(host: string): string | undefined;
  /** Paths removed from the directory after unpacking (.dockerignore). */
  forget(rels: string[]): void;
  /** Hands the directory back: kept for the next build if `keep`, removed otherwise. */
  release(keep: boolean): void;
}

function entryKey(h: TarHeader, sha = ''): string {
  // Entries with xattrs are always rewritten: contexts rarely have them, and they are not compared.
  const xattrs = h.xattrs?.size ? randomBytes(8).toString('hex') : '';
  return `${h.type}|${h.mode & 0o7777}|${h.uid}:${h.gid}|${h.mtime}|${h.size}|${h.linkname}|${sha}|${xattrs}`;
}

function shaOfKey(key: string): string | undefined {
  return key.startsWith('file|') ? key.split('|')[6] || undefined : undefined;
}

export class ContextStore {
  private readonly free: Kept[] = [];

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true });
    // A context whose index was not written back was being changed when berthd stopped: drop it.
    for (const name of readdirSync(root)) {
      if (name.endsWith('.json')) continue;
      const indexFile = path.join(root, `${name}.json`);
      try {
        const entries = JSON.parse(readFileSync(indexFile, 'utf8')) as Array<[string, string]>;
        this.free.push({ name, index: new Map(entries) });
      } catch {
        rmSync(path.join(root, name), { recursive: true, force: true });
        rmSync(indexFile, { force: true });
      }
    }
    for (const name of readdirSync(root)) {
      if (name.endsWith('.json') && !existsSync(path.join(root, name.slice(0, -5)))) rmSync(path.join(root, name), { force: true });
    }
    while (this.free.length > KEEP) this.drop(this.free.shift()!);
  }

  /** A directory for one build's context, holding what an earlier build left when one is free. */
  acquire(): ContextLease {
    const kept = this.free.pop() ?? { name: randomBytes(8).toString('hex'), index: new Map<string, string>() };
    const dir = path.join(this.root, kept.name);
    mkdirSync(dir, { recursive: true });
    // Changing now: until the index is written back, a crash leaves nothing trusted.
    rmSync(path.join(this.root, `${kept.name}.json`), { force: true });
    const lease: ContextLease & { kept: Kept } = {
      dir,
      kept,
      digestOf: (host) => {
        if (!host.startsWith(dir + '/')) return undefined;
        const key = kept.index.get(host.slice(dir.length + 1));
        return key === undefined ? undefined : shaOfKey(key);
      },
      forget: (rels) => {
        for (const r of rels) for (const k of [...kept.index.keys()]) if (k === r || k.startsWith(r + '/')) kept.index.delete(k);
      },
      release: (keep) => {
        if (!keep) return this.drop(kept);
        writeJsonAtomic(path.join(this.root, `${kept.name}.json`), [...kept.index]);
        this.free.push(kept);
        while (this.free.length > KEEP) this.drop(this.free.shift()!);
      },
    };
    return lease;
  }

  /** Removes the contexts no build is using (`builder prune`). */
  clear(): void {
    for (const k of this.free.splice(0)) this.drop(k);
  }

  private drop(k: Kept): void {
    rmSync(path.join(this.root, `${k.name}.json`), { force: true });
    rmSync(path.join(this.root, k.name), { recursive: true, force: true });
  }

  /**
   * Makes the lease's directory hold exactly what `tar` holds, writing only what changed. On
   * error the directory is in no known state: release it with keep = false.
   */
  async unpack(lease: ContextLease, tar: AsyncIterable<Buffer>): Promise<void> {
    const { dir } = lease;
    const index = (lease as ContextLease & { kept: Kept }).kept.index;
    const before = new Map(index);
    index.clear();
    // Symlinks left from before could redirect this tar's paths: they go first.
    for (const [rel, key] of before) {
      if (key.startsWith('symlink|') || key.startsWith('link|')) {
        rmSync(path.join(dir, rel), { force: true });
        before.delete(rel);
      }
    }
    const seen = new Set<string>([dir]);
    const known = new Set<string>([dir]);
    const dirTimes: Array<[string, number]> = [];
    const relOf = (host: string) => host.slice(dir.length + 1);
    const markSeen = (host: string) => {
      for (let p = host; p.length > dir.length && !seen.has(p); p = path.dirname(p)) seen.add(p);
    };
    const ensureParent = (rel: string): string => {
      const host = resolveInRoot(dir, rel, true, known);
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (st && !st.isDirectory()) {
        // A file of an earlier context where this one has a directory; one of this tar's is an error.
        if (seen.has(host)) throw new InvalidArgument(`refusing tar entry under ${JSON.stringify(rel)}: not a directory`);
        rmSync(host, { force: true });
      }
      if (!st?.isDirectory()) mkdirSync(host, { recursive: true, mode: 0o755 });
      known.add(host);
      return host;
    };

    for await (const entry of readTar(tar)) {
      const h = entry.header;
      const rel = cleanEntryName(h.name);
      if (rel === '') {
        if (h.type === 'dir') dirTimes.push([dir, h.mtime]);
        continue;
      }
      const parentRel = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
      const parent = parentRel ? ensureParent(parentRel) : dir;
      const target = parent + '/' + path.posix.basename(rel);
      markSeen(target);
      const existing = lstatSync(target, { throwIfNoEntry: false });
      const old = before.get(relOf(target));

      if (h.type === 'file') {
        const hash = createHash('sha256');
        let data: Buffer[] | undefined = [];
        let tmp: { path: string; fd: number } | undefined;
        if (h.size > INLINE_MAX) {
          const p = path.join(this.root, `.incoming-${randomBytes(6).toString('hex')}`);
          tmp = { path: p, fd: openSync(p, 'wx', 0o600) };
          data = undefined;
        }
        try {
          for await (const chunk of entry.body()) {
            hash.update(chunk);
            if (tmp) for (let off = 0; off < chunk.length; ) off += writeSync(tmp.fd, chunk, off);
            else data!.push(chunk);
          }
        } finally {
          if (tmp) closeSync(tmp.fd);
        }
        const key = entryKey(h, hash.digest('hex'));
        index.set(relOf(target), key);
        if (existing?.isFile() && old === key) {
          if (tmp) rmSync(tmp.path, { force: true });
          continue;
        }
        if (existing) rmSync(target, { recursive: true, force: true });
        if (tmp) renameSync(tmp.path, target);
        else {
          const fd = openSync(target, 'wx', 0o600);
          try {
            for (const chunk of data!) for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
          } finally {
            closeSync(fd);
          }
        }
        setMetadata(target, h);
        continue;
      }
      const key = entryKey(h);
      if (h.type === 'dir') {
        if (existing && !existing.isDirectory()) rmSync(target, { force: true });
        if (!existing?.isDirectory()) mkdirSync(target, { mode: 0o700 });
        known.add(target);
        index.set(relOf(target), key);
        if (old !== key) setMetadata(target, h);
        dirTimes.push([target, h.mtime]);
        continue;
      }
      if (existing) rmSync(target, { recursive: true, force: true });
      index.set(relOf(target), key);
      if (h.type === 'symlink') {
        symlinkSync(h.linkname, target);
        setMetadata(target, h);
      } else if (h.type === 'link') {
        const source = resolveInRoot(dir, cleanEntryName(h.linkname), false, known);
        const st = lstatSync(source, { throwIfNoEntry: false });
        if (!st || st.isDirectory()) throw new InvalidArgument(`refusing tar entry ${JSON.stringify(h.name)}: bad hardlink target ${JSON.stringify(h.linkname)}`);
        linkSync(source, target);
      }
      // Devices and FIFOs have no place in a build context (COPY skips them): left out.
    }
    // What the earlier context had and this one does not.
    const sweep = (host: string): void => {
      for (const name of readdirSync(host)) {
        const p = host + '/' + name;
        if (!seen.has(p)) rmSync(p, { recursive: true, force: true });
        else if (lstatSync(p).isDirectory()) sweep(p);
      }
    };
    sweep(dir);
    // Children first: writing into a directory would undo its mtime.
    for (let i = dirTimes.length - 1; i >= 0; i--) utimesSync(dirTimes[i]![0], dirTimes[i]![1], dirTimes[i]![1]);
  }
}

function setMetadata(target: string, h: TarHeader): void {
  if (h.type === 'symlink') {
    lchownSync(target, h.uid, h.gid);
    lutimesSync(target, h.mtime, h.mtime);
    return;
  }
  chownSync(target, h.uid, h.gid);
  chmodSync(target, h.mode & 0o7777); // after chown, which clears set-id bits
  for (const [name, value] of h.xattrs ?? []) {
    try {
      lsetxattr(target, name, value);
    } catch (err) {
      if (errnoOf(err) !== 'ENOTSUP' && errnoOf(err) !== 'EOPNOTSUPP') throw err;
    }
  }
  if (h.type !== 'dir') utimesSync(target, h.mtime, h.mtime);
}
