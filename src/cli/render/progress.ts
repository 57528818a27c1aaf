// Docker's JSON progress display: on a terminal one line per layer ID, rewritten in place with
// its progress bar; otherwise plain `id: status` lines without the byte-by-byte progress.
import type { JsonMessage } from '../../client/index.js';

export class ProgressPrinter {
  private readonly rows = new Map<string, number>();
  private lines = 0;

  constructor(private readonly out: NodeJS.WritableStream, private readonly tty: boolean) {}

  print(m: JsonMessage): void {
    if (m.aux !== undefined && !m.status) return;
    if (!this.tty) {
      if (m.progressDetail && (m.progressDetail.total ?? m.progressDetail.current) !== undefined && m.progress) return;
      if (m.status === undefined) return;
      this.out.write(`${m.id ? `${m.id}: ` : ''}${m.status}\n`);
      return;
    }
    const text = `${m.id ? `${m.id}: ` : ''}${m.status ?? ''}${m.progress ? ` ${m.progress}` : ''}`;
    if (!m.id) {
      this.out.write(`${text}\n`);
      this.lines++;
      this.rows.clear();
      this.lines = 0;
      return;
    }
    let row = this.rows.get(m.id);
    if (row === undefined) {
      row = this.lines++;
      this.rows.set(m.id, row);
      this.out.write(`${text}\n`);
      return;
    }
    const up = this.lines - row;
    // Up to the layer's line, clear it, write, then back down.
    this.out.write(`\x1b[${up}A\x1b[2K\r${text}\n${up > 1 ? `\x1b[${up - 1}B` : ''}`);
  }
}
