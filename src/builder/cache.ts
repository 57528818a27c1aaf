// The build cache, keyed like BuildKit's but visible like the classic builder's: a step is reused
// when its parent image, its instruction after substitution and (COPY/ADD) its sources' content
// hash all match. Entries live in one JSON file written atomically, so they survive a restart;
// each remembers what it was made from, so a miss can say what changed.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256, type Digest } from '../lib/digest.js';
import { writeJsonAtomic } from '../lib/atomic.js';

export interface CacheProbe {
  parent: string;
  /** The instruction after substitution, as recorded in history. */
  instruction: string;
  /** Build args (name=value) that the step saw; part of the key through `instruction` for RUN. */
  args?: Record<string, string>;
  /** COPY/ADD: per-source-file hashes (path -> hash of content and metadata). */
  files?: Record<string, string>;
}

interface Entry extends CacheProbe {
  image: Digest;
  at: string;
}

interface State {
  version: 1;
  entries: Record<string, Entry>;
}

export function cacheKey(p: CacheProbe): string {
  const files = p.files ? Object.keys(p.files).sort().map((k) => `${k}\0${p.files![k]}`).join('\n') : '';
  const args = p.args ? Object.keys(p.args).sort().map((k) => `${k}=${p.args![k]}`).join('\n') : '';
  return sha256(`${p.parent}\n${p.instruction}\n${args}\n${files}`);
}

export class BuildCache {
  private state: State;
  private readonly file: string;

  constructor(root: string, private readonly exists: (id: Digest) => boolean) {
    this.file = path.join(root, 'cache.json');
    this.state = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as State) : { version: 1, entries: {} };
  }

  lookup(p: CacheProbe): Digest | undefined {
    const e = this.state.entries[cacheKey(p)];
    if (!e) return undefined;
    if (!this.exists(e.image)) return undefined; // the image was deleted since
    return e.image;
  }

  store(p: CacheProbe, image: Digest): void {
    const key = cacheKey(p);
    this.state.entries[key] = { ...p, image, at: new Date().toISOString() };
    // Forget entries whose images are gone, so the file does not grow without bound.
    for (const [k, e] of Object.entries(this.state.entries)) if (!this.exists(e.image)) delete this.state.entries[k];
    writeJsonAtomic(this.file, this.state);
  }

  /** Forgets every entry (`docker builder prune`); the images stay. Returns the keys dropped. */
  clear(): string[] {
    const keys = Object.keys(this.state.entries);
    this.state.entries = {};
    writeJsonAtomic(this.file, this.state);
    return keys;
  }

  /** Why a probe missed, from the nearest earlier entry on the same parent; undefined if none is known. */
  explain(p: CacheProbe): string | undefined {
    // Newest first: the build before this one is the one a person compares with.
    const siblings = Object.values(this.state.entries).filter((e) => e.parent === p.parent && this.exists(e.image)).sort((a, b) => (a.at < b.at ? 1 : -1));
    if (!siblings.length) {
      // The same step was cached on another parent: what changed is below this step (a new base image).
      const elsewhere = Object.values(this.state.entries).some((e) => e.instruction === p.instruction && this.exists(e.image));
      return elsewhere ? 'parent image changed' : undefined;
    }
    const verb = verbOf(p.instruction);
    const same = siblings.filter((e) => e.instruction === p.instruction);
    for (const e of same) {
      const why = diffFiles(e.files ?? {}, p.files ?? {});
      if (why.length) return why.slice(0, 5).join(', ') + (why.length > 5 ? `, and ${why.length - 5} more` : '');
      const args = diffArgs(e.args ?? {}, p.args ?? {});
      if (args.length) return args.join(', ');
    }
    const sameVerb = siblings.filter((e) => verbOf(e.instruction) === verb);
    if (sameVerb.length) {
      const args = diffArgs(sameVerb[0]!.args ?? {}, p.args ?? {});
      if (args.length) return args.join(', ');
      return `instruction changed (was: ${readable(sameVerb[0]!.instruction)})`;
    }
    return `instruction changed (was: ${readable(siblings[0]!.instruction)})`;
  }
}

/** The instruction keyword of a history text: `... #(nop)  ENV x` is ENV; a command is RUN. */
function verbOf(instruction: string): string {
  return /#\(nop\)\s+(\S+)/.exec(instruction)?.[1] ?? 'RUN';
}

function readable(instruction: string): string {
  const m = /#\(nop\)\s+([\s\S]*)$/.exec(instruction);
  return m ? m[1]!.trim() : `RUN ${instruction}`;
}

function diffFiles(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(after).sort()) {
    if (!(k in before)) out.push(`file ${k} added`);
    else if (before[k] !== after[k]) out.push(`file ${k} changed`);
  }
  for (const k of Object.keys(before).sort()) if (!(k in after)) out.push(`file ${k} removed`);
  return out;
}

function diffArgs(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[k] !== after[k]) out.push(`build arg ${k} changed`);
  }
  return out.sort();
}
