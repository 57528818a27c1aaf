// Splits the Engine API's multiplexed stream (8-byte header: type, 0, 0, 0, big-endian size)
// into stdout and stderr, as docker's stdcopy does, keeping partial frames between chunks.
import type { Writable } from 'node:stream';

export class StreamDemuxer {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly stdout: Writable | NodeJS.WritableStream, private readonly stderr: Writable | NodeJS.WritableStream) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const type = this.buf[0]!;
      const payload = this.buf.subarray(8, 8 + size);
      this.buf = this.buf.subarray(8 + size);
      // 0 (stdin written back) and 1 go to stdout; 2 to stderr; 3 is a daemon-side error.
      if (type === 2) this.stderr.write(payload);
      else if (type === 3) throw new Error(payload.toString('utf8'));
      else this.stdout.write(payload);
    }
  }
}

/** Copies a (multiplexed or raw) stream to the given outputs until it ends. */
export async function copyStream(src: AsyncIterable<Buffer>, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, tty: boolean): Promise<void> {
  const demux = tty ? undefined : new StreamDemuxer(stdout, stderr);
  for await (const chunk of src) {
    if (demux) demux.push(chunk);
    else stdout.write(chunk);
  }
}
