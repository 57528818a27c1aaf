// Output of stages built at the same time, shown as if they ran one after another: the first
// unfinished stage (in file order) streams live; later ones are held until every stage before
// them has finished, so a build's log reads like the classic builder's.
import type { BuildOutput } from './builder.js';

type Held = { kind: 'stream'; text: string } | { kind: 'aux'; value: unknown };

export class StageStreams {
  private readonly held: Held[][];
  private readonly finished: boolean[];
  private current = 0;

  constructor(private readonly out: BuildOutput, count: number) {
    this.held = Array.from({ length: count }, () => []);
    this.finished = Array.from({ length: count }, () => false);
  }

  /** The output of the stage at `position` (0 = first stage built). */
  sink(position: number): BuildOutput {
    return {
      stream: (text) => this.emit(position, { kind: 'stream', text }),
      aux: (value) => this.emit(position, { kind: 'aux', value }),
    };
  }

  /** The stage at `position` has no more to say; later stages' held output follows. */
  finish(position: number): void {
    this.finished[position] = true;
    while (this.current < this.held.length && this.finished[this.current]) {
      this.current++;
      if (this.current < this.held.length) this.flush(this.current);
    }
  }

  /** After a failure: everything held, in stage order, so no step's output is lost. */
  flushAll(): void {
    for (let i = this.current; i < this.held.length; i++) this.flush(i);
    this.current = this.held.length;
  }

  private emit(position: number, h: Held): void {
    if (position === this.current) this.write(h);
    else this.held[position]!.push(h);
  }

  private flush(position: number): void {
    for (const h of this.held[position]!.splice(0)) this.write(h);
  }

  private write(h: Held): void {
    if (h.kind === 'stream') this.out.stream(h.text);
    else this.out.aux(h.value);
  }
}
