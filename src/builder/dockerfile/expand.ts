// Docker's word processing for Dockerfile arguments (its shell lexer): quotes are removed, the
// escape character protects the next character, and $V, ${V}, ${V:-w}, ${V-w}, ${V:+w}, ${V+w},
// ${V:?msg}, ${V?msg} are replaced from the build's variables. Unset variables become empty.
import { InvalidArgument } from '../../errdefs/index.js';

export type Lookup = (name: string) => string | undefined;

/** A lookup over KEY=VALUE lines (later entries win), as an image's Env is stored. */
export function envLookup(env: readonly string[]): Lookup {
  const m = new Map<string, string>();
  for (const e of env) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
    else m.set(e, '');
  }
  return (n) => m.get(n);
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

class WordLexer {
  private pos = 0;
  /** Names of the variables that were read, for cache explanations. */
  readonly used = new Set<string>();
  constructor(private readonly s: string, private readonly lookup: Lookup, private readonly escape: string) {}

  private peek(): string {
    return this.s[this.pos] ?? '';
  }

  /** Processes until `stop` (not consumed) or the end. */
  word(stop = ''): string {
    let out = '';
    while (this.pos < this.s.length) {
      const ch = this.peek();
      if (stop && stop.includes(ch)) break;
      if (ch === "'") out += this.single();
      else if (ch === '"') out += this.double();
      else if (ch === '$') out += this.dollar();
      else if (ch === this.escape) {
        this.pos++;
        if (this.pos < this.s.length) out += this.s[this.pos++];
      } else {
        out += ch;
        this.pos++;
      }
    }
    return out;
  }

  private single(): string {
    this.pos++;
    const end = this.s.indexOf("'", this.pos);
    if (end < 0) throw new InvalidArgument('unexpected end of statement while looking for matching single-quote');
    const v = this.s.slice(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  private double(): string {
    this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= this.s.length) throw new InvalidArgument('unexpected end of statement while looking for matching double-quote');
      const ch = this.peek();
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      if (ch === this.escape) {
        const next = this.s[this.pos + 1];
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.pos += 2;
          continue;
        }
      }
      out += ch;
      this.pos++;
    }
  }

  private value(name: string): string | undefined {
    this.used.add(name);
    return this.lookup(name);
  }

  private dollar(): string {
    this.pos++; // '$'
    const ch = this.peek();
    if (ch === '{') {
      this.pos++;
      const start = this.pos;
      while (NAME_CHAR.test(this.peek())) this.pos++;
      const name = this.s.slice(start, this.pos);
      if (!name) throw new InvalidArgument(`failed to process "${this.s}": missing ':' in substitution`);
      const v = this.value(name);
      const c = this.peek();
      if (c === '') throw new InvalidArgument(`failed to process "${this.s}": syntax error: missing '}'`);
      if (c === '}') {
        this.pos++;
        return v ?? '';
      }
      let colon = false;
      if (c === ':') {
        colon = true;
        this.pos++;
      }
      const op = this.peek();
      if (!['-', '+', '?'].includes(op)) throw new InvalidArgument(`failed to process "${this.s}": unsupported modifier (${op}) in substitution`);
      this.pos++;
      const word = this.word('}');
      if (this.peek() !== '}') throw new InvalidArgument(`failed to process "${this.s}": syntax error: missing '}'`);
      this.pos++;
      const set = colon ? v !== undefined && v !== '' : v !== undefined;
      if (op === '-') return set ? v! : word;
      if (op === '+') return set ? word : '';
      if (!set) throw new InvalidArgument(`failed to process "${this.s}": ${name}: ${word || 'is not allowed to be unset'}`);
      return v!;
    }
    if (NAME_START.test(ch) || /[0-9]/.test(ch)) {
      const start = this.pos;
      if (/[0-9]/.test(ch)) this.pos++;
      else while (NAME_CHAR.test(this.peek())) this.pos++;
      return this.value(this.s.slice(start, this.pos)) ?? '';
    }
    return '$';
  }
}

/** One word with quotes removed and variables replaced (Docker's ProcessWord). */
export function expandWord(word: string, lookup: Lookup, escape = '\\'): string {
  return new WordLexer(word, lookup, escape).word();
}

/** Like expandWord, also naming the variables it consulted. */
export function expandWordUsing(word: string, lookup: Lookup, escape = '\\'): { value: string; used: Set<string> } {
  const l = new WordLexer(word, lookup, escape);
  const value = l.word();
  return { value, used: l.used };
}

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words (Docker's parseWords,
 * used for ENV, LABEL and ARG before each word is processed).
 */
export function splitWords(s: string, escape = '\\'): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (!quote && /\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === escape && quote !== "'" && i + 1 < s.length) {
      cur += ch + s[++i];
      continue;
    }
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    }
    cur += ch;
  }
  if (inWord) words.push(cur);
  return words;
}
