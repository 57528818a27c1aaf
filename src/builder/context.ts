// The build context: the request body (a tar, possibly compressed, or a bare Dockerfile) unpacked
// into a private directory, with the Dockerfile read from it and `.dockerignore` honoured.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InvalidArgument } from '../errdefs/index.js';
import { applyLayer, decompress } from '../lib/archive/index.js';
import { readIgnoreRules } from '../lib/dockerignore.js';

export interface BuildContext {
  dir: string;
  dockerfile: string;
  /** The Dockerfile's name inside the context, as given. */
  dockerfileName: string;
}

function isTar(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * Reads a context stream into `dir`: a tar is unpacked (by `unpackTar` when given, which may
 * reuse what `dir` holds), anything else is taken as the Dockerfile of an empty context.
 */
export async function unpackContext(
  body: AsyncIterable<Buffer> | Readable, dir: string, dockerfileName = 'Dockerfile',
  unpackTar: (tar: AsyncIterable<Buffer>) => Promise<unknown> = (tar) => applyLayer(dir, tar, { whiteouts: 'delete', digest: false }),
): Promise<BuildContext> {
  mkdirSync(dir, { recursive: true });
  const { stream } = await decompress(body instanceof Readable ? body : Readable.from(body));
  const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < 512) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    have += r.value.length;
  }
  const first = Buffer.concat(head);
  const rest = (async function* () {
    if (first.length) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as Buffer;
    }
  })();
  if (first.length === 0 || !isTar(first)) {
    // A bare Dockerfile as the body: the context is empty.
    const chunks: Buffer[] = [];
    for await (const c of rest) chunks.push(c);
    const text = Buffer.concat(chunks).toString('utf8');
    await unpackTar((async function* () {})());
    writeFileSync(path.join(dir, 'Dockerfile'), text);
    return { dir, dockerfile: text, dockerfileName: 'Dockerfile' };
  }
  await unpackTar(rest);
  return readContextDockerfile(dir, dockerfileName);
}

/** Finds the Dockerfile in an unpacked context; a missing one is Docker's error. */
export function readContextDockerfile(dir: string, dockerfileName: string): BuildContext {
  const rel = dockerfileName.replace(/^\/+/, '');
  let file = path.join(dir, rel);
  if (!path.resolve(file).startsWith(path.resolve(dir) + '/')) throw new InvalidArgument(`the Dockerfile (${dockerfileName}) must be within the build context`);
  if (!existsSync(file) && rel === 'Dockerfile' && existsSync(path.join(dir, 'dockerfile'))) file = path.join(dir, 'dockerfile');
  if (!existsSync(file) || !lstatSync(file).isFile()) {
    throw new InvalidArgument(`Cannot locate specified Dockerfile: ${dockerfileName}`);
  }
  return { dir, dockerfile: readFileSync(file, 'utf8'), dockerfileName: rel };
}

/**
 * Removes what `.dockerignore` excludes, as the daemon does for contexts sent by any client.
 * The Dockerfile and `.dockerignore` themselves stay readable (Docker sends them regardless).
 */
export function applyDockerignore(dir: string, keep: string[]): string[] {
  const removed: string[] = [];
  const rules = readIgnoreRules(dir);
  if (!rules) return removed;
  const keepSet = new Set(keep.map((k) => k.replace(/^\/+/, '')));
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const host = path.join(dir, r);
      const isDir = lstatSync(host).isDirectory();
      if (!keepSet.has(r) && rules.ignores(r) && !(isDir && rules.mayReinclude(r))) {
        rmSync(host, { recursive: true, force: true });
        removed.push(r);
        continue;
      }
      if (isDir) walk(r);
    }
  };
  walk('');
  return removed;
}
