// The build context as the docker CLI sends it: a tar of the context directory without what
// `.dockerignore` excludes (the Dockerfile and .dockerignore always go), owners reset to root,
// entries sorted. A Dockerfile outside the context travels inside it under a generated name.
import { lstatSync, readFileSync, readdirSync, readlinkSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TarWriter } from '../../lib/tar/index.js';
import type { TarHeader } from '../../lib/tar/header.js';
import { readIgnoreRules } from '../../lib/dockerignore.js';


export interface ContextTar {
  chunks: AsyncIterable<Buffer>;
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

/** A tar of `dir` for a build; `dockerfile` is the -f value (relative to the cwd) if any. */
export function contextTar(dir: string, dockerfile?: string): ContextTar {
  const ig = readIgnoreRules(dir);
  let dockerfileName = 'Dockerfile';
  let outside: { name: string; data: Buffer } | undefined;
  if (dockerfile) {
    const abs = path.resolve(dockerfile);
    const rel = path.relative(path.resolve(dir), abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      outside = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data: readFileSync(abs) };
      dockerfileName = outside.name;
    } else dockerfileName = rel.split(path.sep).join('/');
  }
  const keep = new Set([dockerfileName, '.dockerignore']);
  const chunks = (async function* () {
    const queue: Buffer[] = [];
    const writer = new TarWriter({ write: (c) => void queue.push(c) });
    const header = (name: string, mode: number, mtime: number, extra: Partial<TarHeader>): TarHeader => ({
      name, type: 'file', mode, uid: 0, gid: 0, size: 0, mtime, linkname: '', devmajor: 0, devminor: 0, ...extra,
    });
    const visit = async function* (rel: string): AsyncGenerator<Buffer> {
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
          if (!excluded) await writer.add(header(r + '/', st.mode & 0o7777, mtime, { type: 'dir' }));
          yield* queue.splice(0);
          yield* visit(r);
          continue;
        }
        if (excluded) continue;
        if (st.isFile()) {
          await writer.add(header(r, st.mode & 0o7777, mtime, { size: st.size }), (async function* () {
            yield* fileChunks(p, st.size);
          })());
          yield* queue.splice(0);
        } else if (st.isSymbolicLink()) {
          await writer.add(header(r, st.mode & 0o7777, mtime, { type: 'symlink', linkname: readlinkSync(p) }));
          yield* queue.splice(0);
        }
      }
    };
    yield* visit('');
    if (outside) {
      await writer.add(header(outside.name, 0o600, Math.floor(Date.now() / 1000), { size: outside.data.length }), outside.data);
      yield* queue.splice(0);
    }
    await writer.finish();
    yield* queue.splice(0);
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
