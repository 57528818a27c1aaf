// Input to a running container goes through conmon: stdin over its attach socket (SOCK_SEQPACKET,
// one packet per write), terminal size over its control fifo. Output is read from the log instead.
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { connectSeqpacket } from '../lib/sys/index.js';

const PACKET = 8192;

export class StdinPipe {
  private fd: number | undefined;
  private readonly drainTimer: NodeJS.Timeout;
  private readonly scratch = Buffer.alloc(PACKET + 1);

  /** `socketLink` is conmon's short per-container directory (socket-dir-path/<id>). */
  constructor(socketLink: string) {
    this.fd = connectSeqpacket(path.join(socketLink, 'attach'));
    // conmon also copies the container's output to attach clients; it is unread here (the log
    // has it), but must be drained so that conmon never blocks on a full socket.
    this.drainTimer = setInterval(() => this.drain(), 50);
    this.drainTimer.unref();
  }

  private drain(): void {
    if (this.fd === undefined) return;
    try {
      while (readSync(this.fd, this.scratch, 0, this.scratch.length, null) > 0);
    } catch {
      // EAGAIN: nothing more to read now
    }
  }

  /** Writes all of `data`, in packets conmon reads whole. */
  async write(data: Buffer): Promise<void> {
    for (let off = 0; off < data.length && this.fd !== undefined;) {
      const n = Math.min(PACKET, data.length - off);
      try {
        off += writeSync(this.fd, data, off, n);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        this.drain();
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Closing the socket closes the container's stdin (conmon runs without --leave-stdin-open for StdinOnce). */
  close(): void {
    clearInterval(this.drainTimer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Resizes the container's terminal through conmon's control fifo. */
export function resizeTerminal(bundle: string, height: number, width: number): void {
  const fd = openSync(path.join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    writeSync(fd, `1 ${height} ${width}\n`);
  } finally {
    closeSync(fd);
  }
}
