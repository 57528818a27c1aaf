// `berth build --explain-cache`: after the build, one line per step saying whether it came from
// the cache and, if not, why — read from the daemon's stream (its ` ---> Cache miss: …` lines),
// so it works against any berthd without another API call.

interface StepRecord {
  number: string;
  instruction: string;
  outcome: 'cache' | 'built' | 'base';
  why?: string;
}

export class CacheReport {
  private readonly steps: StepRecord[] = [];
  private pending = '';

  constructor(private readonly noCache: boolean) {}

  /** Feeds stream text as it arrives (lines may be split across messages). */
  add(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    const step = /^Step (\d+\/\d+) : (.*)$/.exec(line);
    if (step) {
      const instruction = step[2]!;
      this.steps.push({ number: step[1]!, instruction, outcome: /^FROM\s/i.test(instruction) ? 'base' : 'built' });
      return;
    }
    const current = this.steps[this.steps.length - 1];
    if (!current) return;
    if (line === ' ---> Using cache') current.outcome = 'cache';
    const miss = /^ ---> Cache miss: [\s\S]*?: ((?:file|build arg|instruction changed|parent image changed)[\s\S]*)$/.exec(line);
    if (miss) current.why = miss[1]!;
  }

  render(): string {
    const out = ['Cache report:'];
    let firstMiss: StepRecord | undefined;
    for (const s of this.steps) {
      if (s.outcome === 'base') {
        firstMiss = undefined; // each stage starts its cache chain again
        out.push(`  Step ${s.number} ${s.instruction}: base image`);
        continue;
      }
      if (s.outcome === 'cache') {
        out.push(`  Step ${s.number} ${s.instruction}: from the cache`);
        continue;
      }
      let why = s.why;
      if (!why && this.noCache) why = '--no-cache';
      if (!why && firstMiss) why = `rebuilt after the miss at step ${firstMiss.number.split('/')[0]}`;
      why ??= 'not built before';
      firstMiss ??= s;
      out.push(`  Step ${s.number} ${s.instruction}: built (${why})`);
    }
    const counted = this.steps.filter((s) => s.outcome !== 'base');
    out.push(`${counted.filter((s) => s.outcome === 'cache').length} of ${counted.length} steps from the cache`);
    return out.join('\n') + '\n';
  }
}
