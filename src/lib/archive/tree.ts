// Writing a directory tree as a deterministic tar: entries sorted by name, headers normalised
// (no user or group names, whole-second mtimes), hardlinks within the tree kept as links. From an
// overlay upper dir, overlay's whiteouts (char 0:0, trusted.overlay.opaque) become OCI's.
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { once } from 'node:events';
import { Digester, type Digest } from '../digest.js';
import { TarWriter } from '../tar/index.js';
import type { EntryType, TarHeader } from '../tar/header.js';
import { lgetxattr, llistxattr, major, minor } from '../sys/index.js';
import { OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX } from './apply.js';

export interface TreeOptions {
  /** Convert overlay whiteouts to OCI ones (for diffs of an upper dir). */
  overlay?: boolean;
  /** A prefix for every name (e.g. the base name of a copied directory). */
  prefix?: string;
  /** Include an entry for the root directory itself ('./' or the prefix). */
  includeRoot?: boolean;
  /** Relative paths (no leading slash) to leave out, with everything below them. */
  exclude?: (rel: string) => boolean;
  /** Called when the archive is complete, with the digest and size of the tar stream. */
  onDone?: (result: { digest: Digest; size: number }) => void;
}

const CHUNK = 1 << 20;

function typeOf(st: Stats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived, as in Docker
}

function xattrsOf(p: string, overlay: boolean): Map<string, Buffer> | undefined {
  let out: Map<string, Buffer> | undefined;
  for (const name of llistxattr(p)) {
    if (name.startsWith('trusted.overlay.')) continue;
    if (!overlay && name.startsWith('trusted.overlay')) continue;
    const v = lgetxattr(p, name);
    if (v !== undefined) (out ??= new Map()).set(name, v);
  }
  return out;
}

async function* fileChunks(p: string, size: number): AsyncGenerator<Buffer> {
  const fd = openSync(p, 'r');
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw new Error(`${p}: file shrank while being archived`);
      left -= n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** A tar of `root`'s contents as a Readable; see TreeOptions. */
export function tarTree(root: string, opts: TreeOptions = {}): Readable {
  const out = new PassThrough({ highWaterMark: CHUNK });
  const digester = new Digester();
  const writer = new TarWriter({
    async write(chunk) {
      digester.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    },
  });
  (async () => {
    const links = new Map<string, string>();
    const prefix = opts.prefix ? opts.prefix.replace(/\/+$/, '') + '/' : '';
    const header = (name: string, st: Stats, type: EntryType, extra: Partial<TarHeader> = {}): TarHeader => ({
      name, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0, mtime: Math.floor(st.mtimeMs / 1000),
      linkname: '', devmajor: 0, devminor: 0, ...extra,
    });
    const visit = async (hostDir: string, relDir: string): Promise<void> => {
      const names = readdirSync(hostDir).sort();
      for (const n of names) {
        const host = hostDir + '/' + n;
        const rel = relDir + n;
        if (opts.exclude?.(rel)) continue;
        const st = lstatSync(host);
        const type = typeOf(st);
        if (!type) continue;
        if (opts.overlay && type === 'char' && st.rdev === 0) {
          await writer.add(header(prefix + relDir + WHITEOUT_PREFIX + n, st, 'file', { mode: 0 }));
          continue;
        }
        const xattrs = xattrsOf(host, !!opts.overlay);
        if (type === 'dir') {
          await writer.add(header(prefix + rel + '/', st, 'dir', { xattrs }));
          if (opts.overlay && lgetxattr(host, OVERLAY_OPAQUE_XATTR)?.toString() === 'y') {
            await writer.add(header(prefix + rel + '/' + OPAQUE_WHITEOUT, st, 'file', { mode: 0 }));
          }
          await visit(host, rel + '/');
          continue;
        }
        if (type === 'file' && st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first !== undefined) {
            await writer.add(header(prefix + rel, st, 'link', { linkname: first }));
            continue;
          }
          links.set(key, prefix + rel);
        }
        if (type === 'file') {
          await writer.add(header(prefix + rel, st, 'file', { size: st.size, xattrs }), fileChunks(host, st.size));
        } else if (type === 'symlink') {
          await writer.add(header(prefix + rel, st, 'symlink', { linkname: readlinkSync(host), xattrs }));
        } else {
          await writer.add(header(prefix + rel, st, type, { devmajor: major(st.rdev), devminor: minor(st.rdev), xattrs }));
        }
      }
    };
    if (opts.includeRoot) {
      const st = lstatSync(root);
      await writer.add(header(prefix || './', st, 'dir', { xattrs: xattrsOf(root, !!opts.overlay) }));
    }
    await visit(root, '');
    await writer.finish();
    opts.onDone?.({ digest: digester.digest(), size: digester.size });
    out.end();
  })().catch((err) => out.destroy(err));
  return out;
}

/** The OCI layer tar of an overlay upper dir. */
export function diffUpper(upperDir: string, onDone?: TreeOptions['onDone'], exclude?: TreeOptions['exclude']): Readable {
  return tarTree(upperDir, { overlay: true, onDone, exclude });
}
