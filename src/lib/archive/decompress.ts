// Layer and rootfs tarballs arrive gzip, zstd, xz, bzip2 or plain; the first bytes say which.
// External tools are faster than node:zlib here (unpigz ~2x), so they are used when present.
import { spawn, spawnSync } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head[0] === 0xfd && head.toString('latin1', 1, 6) === '7zXZ\0') return 'xz';
  if (head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  return 'none';
}

const haveTool = new Map<string, boolean>();
function has(tool: string): boolean {
  if (!haveTool.has(tool)) haveTool.set(tool, spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
  return haveTool.get(tool)!;
}

function toolFor(c: Compression): string[] | undefined {
  switch (c) {
    case 'gzip': return has('unpigz') ? ['unpigz', '-dc'] : undefined;
    case 'zstd': return ['zstd', '-dcq'];
    case 'xz': return ['xz', '-dcT0'];
    case 'bzip2': return ['bzip2', '-dc'];
    default: return undefined;
  }
}

export interface DecompressOptions {
  /** 'zlib' gunzips in this thread (a worker's own core) rather than through unpigz and pipes. */
  gzip?: 'tool' | 'zlib';
}

/** Reads the first chunk to detect the compression, then returns the decompressed stream. */
export async function decompress(source: Readable, opts: DecompressOptions = {}): Promise<{ stream: Readable; compression: Compression }> {
  const it = source[Symbol.asyncIterator]();
  let first: Buffer = Buffer.alloc(0);
  while (first.length < 6) {
    const r = await it.next();
    if (r.done) break;
    first = Buffer.concat([first, Buffer.from(r.value)]);
  }
  const rest = Readable.from((async function* () {
    if (first.length) yield first;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as Buffer;
    }
  })(), { objectMode: false, highWaterMark: 1 << 20 });
  const compression = detectCompression(first);
  if (compression === 'none') return { stream: rest, compression };

  const tool = compression === 'gzip' && opts.gzip === 'zlib' ? undefined : toolFor(compression);
  if (!tool) {
    const gunzip = createGunzip({ chunkSize: 256 << 10 });
    rest.pipe(gunzip);
    rest.on('error', (e) => gunzip.destroy(e));
    return { stream: gunzip, compression };
  }
  const child = spawn(tool[0]!, tool.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  pipeline(rest, child.stdin).catch(() => child.kill());
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`${tool[0]}: ${stderr.trim() || `exit ${code}`}`));
  });
  return { stream: out, compression };
}
