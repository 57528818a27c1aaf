// The build context as the docker CLI sends it: a tar of the context directory without what
// `.dockerignore` excludes (the Dockerfile and .dockerignore always go), owners reset to root,
// entries sorted. A Dockerfile outside the context travels inside it under a generated name.
import { lstatSync, readFileSync, readdirSync, readlinkSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TarWriter, encodeHeader } from '../../lib/tar/index.js';
import { BLOCK, padding, type TarHeader } from '../../lib/tar/header.js';
import { readIgnoreRules } from '../../lib/dockerignore.js';


/** Bytes gathered before a write to the daemon. */
const BATCH = 1 << 20;

export interface ContextTar {
  chunks: Iterable<Buffer>;
  /** The Dockerfile's name inside the context (for the `dockerfile` query parameter). */
  dockerfileName: string;
}

function* fileChunks(p: string, size: number): Generator<Buffer> {
  const fd = openSync(p, 'r');
  try {
    let left = size;
    while (left > 0) {
      const b = Buffer.allocUnsafe(Math.min(1 << 20, left));
      const n = readSync(fd, b, 0, b.length, null);
      if (n === 0) throw new Error(`${p}: file changed while sending the build context`);
      left -= n;
      yield n === b.length ? b : b.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A tar of `dir` for a build; `dockerfile` is the -f value (relative to the cwd) if any, or the
 * Dockerfile's bytes when it came on stdin (`-f -`).
 */
export function contextTar(dir: string, dockerfile?: string | { data: Buffer }): ContextTar {
  const ig = readIgnoreRules(dir);
  let dockerfileName = 'Dockerfile';
  let outside: { name: string; data: Buffer } | undefined;
  if (typeof dockerfile === 'object') {
    outside = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data: dockerfile.data };
    dockerfileName = outside.name;
  } else if (dockerfile) {
    const abs = path.resolve(dockerfile);
    const rel = path.relative(path.resolve(dir), abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      outside = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data: readFileSync(abs) };
      dockerfileName = outside.name;
    } else dockerfileName = rel.split(path.sep).join('/');
  }
  const keep = new Set([dockerfileName, '.dockerignore']);
  const chunks = (function* () {
    // Entries are gathered into ~1 MB writes: a request of 15,000 small chunks costs the client
    // and the daemon more than the bytes do. Big files still stream, never held whole.
    const queue: Buffer[] = [];
    let queued = 0;
    const push = (b: Buffer) => {
      queue.push(b);
      queued += b.length;
    };
    const take = (): Buffer => {
      const b = queue.length === 1 ? queue[0]! : Buffer.concat(queue, queued);
      queue.length = 0;
      queued = 0;
      return b;
    };
    const entry = function* (h: TarHeader, body?: Iterable<Buffer>): Generator<Buffer> {
      push(encodeHeader(h));
      let written = 0;
      for (const c of body ?? []) {
        push(c);
        written += c.length;
        if (queued >= BATCH) yield take();
      }
      if (written !== h.size) throw new Error(`${h.name}: file changed while sending the build context`);
      if (padding(written)) push(Buffer.alloc(padding(written)));
      if (queued >= BATCH) yield take();
    };
    const header = (name: string, mode: number, mtime: number, extra: Partial<TarHeader>): TarHeader => ({
      name, type: 'file', mode, uid: 0, gid: 0, size: 0, mtime, linkname: '', devmajor: 0, devminor: 0, ...extra,
    });
    const visit = function* (rel: string): Generator<Buffer> {
      const host = rel ? path.join(dir, rel) : dir;
      for (const name of readdirSync(host).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const p = path.join(dir, r);
        const st = lstatSync(p);
        const excluded = ig && !keep.has(r) && ig.ignores(r);
        const mtime = Math.floor(st.mtimeMs / 1000);
        if (st.isDirectory()) {
          // An excluded directory may still hold files a `!` pattern brings back.
          const reincluded = excluded && ig.mayReinclude(r);
          if (excluded && !reincluded) continue;
          if (!excluded) yield* entry(header(r + '/', st.mode & 0o7777, mtime, { type: 'dir' }));
          yield* visit(r);
          continue;
        }
        if (excluded) continue;
        if (st.isFile()) yield* entry(header(r, st.mode & 0o7777, mtime, { size: st.size }), fileChunks(p, st.size));
        else if (st.isSymbolicLink()) yield* entry(header(r, st.mode & 0o7777, mtime, { type: 'symlink', linkname: readlinkSync(p) }));
      }
    };
    yield* visit('');
    if (outside) yield* entry(header(outside.name, 0o600, Math.floor(Date.now() / 1000), { size: outside.data.length }), [outside.data]);
    push(Buffer.alloc(BLOCK * 2));
    yield take();
  })();
  return { chunks, dockerfileName };
}

/** A one-file tar holding a Dockerfile read from stdin, as the docker CLI wraps it. */
export async function dockerfileTar(data: Buffer, name = 'Dockerfile'): Promise<Buffer> {
  const out: Buffer[] = [];
  const w = new TarWriter({ write: (c) => void out.push(c) });
  await w.add({ name, type: 'file', mode: 0o600, uid: 0, gid: 0, size: data.length, mtime: Math.floor(Date.now() / 1000), linkname: '', devmajor: 0, devminor: 0 }, data);
  await w.finish();
  return Buffer.concat(out);
}
