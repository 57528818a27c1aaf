// The API's streaming shapes: newline-delimited JSON messages (progress, build output, events)
// and the 8-byte header multiplexing of stdout and stderr when there is no TTY.
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';

export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

/** Starts a 200 JSON stream; errors after this point travel as `errorDetail` messages. */
export class JsonStream {
  private started = false;
  constructor(private readonly res: ServerResponse) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'Content-Type': 'application/json' });
  }

  write(msg: JsonMessage): void {
    this.start();
    this.res.write(JSON.stringify(msg) + '\n');
  }

  error(message: string): void {
    this.write({ errorDetail: { message }, error: message });
  }

  end(): void {
    this.start();
    this.res.end();
  }
}

export const enum StreamType {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  /** Docker 26+ uses 3 for a system error on attach/logs. */
  System = 3,
}

/** One frame: [type, 0, 0, 0, size (big-endian uint32)] + payload. */
export function frame(type: StreamType, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export function writeFrame(out: Writable, type: StreamType, payload: Buffer): boolean {
  return out.write(frame(type, payload));
}

/** Splits a multiplexed byte stream back into frames; keeps partial frames between chunks. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Array<{ type: number; payload: Buffer }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<{ type: number; payload: Buffer }> = [];
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      out.push({ type: this.buf[0]!, payload: this.buf.subarray(8, 8 + size) });
      this.buf = this.buf.subarray(8 + size);
    }
    return out;
  }
}
