// A tar writer that produces deterministic archives: callers add entries in the order they want
// (sorted, for layers), headers are normalised, and the archive ends with two zero blocks.
import { BLOCK, encodeHeader, padding, type TarHeader } from './header.js';

export interface TarSink {
  write(chunk: Buffer): void | Promise<void>;
}

export class TarWriter {
  constructor(private readonly sink: TarSink) {}

  async add(header: TarHeader, body?: Buffer | AsyncIterable<Buffer>): Promise<void> {
    await this.sink.write(encodeHeader(header));
    if (header.type !== 'file' || header.size === 0) return;
    let written = 0;
    if (Buffer.isBuffer(body)) {
      await this.sink.write(body);
      written = body.length;
    } else if (body) {
      for await (const chunk of body) {
        await this.sink.write(chunk);
        written += chunk.length;
      }
    }
    if (written !== header.size) throw new Error(`tar: ${header.name}: wrote ${written} bytes, header says ${header.size}`);
    const pad = padding(written);
    if (pad) await this.sink.write(Buffer.alloc(pad));
  }

  async finish(): Promise<void> {
    await this.sink.write(Buffer.alloc(BLOCK * 2));
  }
}
