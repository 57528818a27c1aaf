// Streams a byte range of a file to an HTTP response with two reused buffers: one is read from
// disk while the other is being written to the socket. Fewer allocations than fs.createReadStream
// (a fresh buffer per chunk). sendfile(2) through koffi was tried too: on a non-blocking loopback
// socket it still moved ~128 MiB per call, blocking the event loop ~60 ms at a time, and measured
// slower than this copy (curl client, 256 MiB blob: ~2.0 vs ~3.0 GiB/s).
import { promises as fsp } from 'node:fs';
import type { ServerResponse } from 'node:http';

const BUFFER_BYTES = 2 << 20;

function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) return reject(new Error('client went away'));
    // The callback fires once the bytes are handed to the kernel: only then may the buffer be reused.
    res.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/** Sends bytes [start, end] (inclusive) of `file`; resolves when the response has ended. */
export async function sendFileRange(file: string, start: number, end: number, res: ServerResponse): Promise<void> {
  const handle = await fsp.open(file, 'r');
  try {
    const buffers = [Buffer.allocUnsafe(Math.min(BUFFER_BYTES, end - start + 1)), Buffer.allocUnsafe(Math.min(BUFFER_BYTES, end - start + 1))];
    let position = start;
    let pending: Promise<void> | undefined;
    for (let i = 0; position <= end; i ^= 1) {
      const buf = buffers[i]!;
      const want = Math.min(buf.length, end - position + 1);
      const { bytesRead } = await handle.read(buf, 0, want, position);
      if (bytesRead === 0) throw new Error(`${file}: file shorter than expected`);
      // Wait for the write two steps back (the one that used this buffer's twin) before queueing another.
      await pending;
      pending = writeChunk(res, buf.subarray(0, bytesRead));
      position += bytesRead;
    }
    await pending;
    await new Promise<void>((resolve) => res.end(resolve));
  } finally {
    await handle.close();
  }
}
