// A download's bytes handed to an unpack that starts before the download ends. Until the unpack
// attaches, up to `cap` bytes wait in memory; past that the stream is given up (the unpack reads
// the finished blob from the content store instead). Once attached, the download waits whenever
// `cap` bytes are queued, so memory stays bounded either way.
export class LiveBytes {
  private queue: Buffer[] = [];
  private queued = 0;
  private attached = false;
  private dropped = false;
  private ended = false;
  private failure?: Error;
  private wake?: () => void;
  private room?: () => void;

  constructor(private readonly cap: number) {}

  /** The download's side: hands over a chunk, waiting while an attached reader is behind. */
  async push(chunk: Buffer): Promise<void> {
    if (this.dropped) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.signal();
    if (!this.attached) {
      if (this.queued > this.cap) this.drop();
      return;
    }
    while (this.queued > this.cap && !this.dropped) await new Promise<void>((r) => (this.room = r));
  }

  /** The download's side: no more bytes (or the download failed with `err`). */
  end(err?: Error): void {
    this.ended = true;
    this.failure = err;
    this.signal();
  }

  /** The unpack's side: the bytes from the first one on, or undefined when they were given up. */
  attach(): AsyncIterable<Buffer> | undefined {
    if (this.dropped || this.attached) return undefined;
    this.attached = true;
    return { [Symbol.asyncIterator]: () => this.reader() };
  }

  /** The unpack's side, when it is done or failed: the download no longer waits or queues. */
  drop(): void {
    this.dropped = true;
    this.queue = [];
    this.queued = 0;
    this.signal();
  }

  private signal(): void {
    this.wake?.();
    this.wake = undefined;
    if (this.queued <= this.cap || this.dropped) {
      this.room?.();
      this.room = undefined;
    }
  }

  private reader(): AsyncIterator<Buffer> {
    return {
      next: async () => {
        for (;;) {
          const chunk = this.queue.shift();
          if (chunk) {
            this.queued -= chunk.length;
            this.signal();
            return { done: false, value: chunk };
          }
          if (this.failure) throw this.failure;
          if (this.ended || this.dropped) return { done: true, value: undefined };
          await new Promise<void>((r) => (this.wake = r));
        }
      },
    };
  }
}
