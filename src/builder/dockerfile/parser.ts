// Dockerfile text -> raw instruction nodes: parser directives at the top (`# escape=`,
// `# syntax=`), comments, line continuations with the escape character, and heredocs for RUN,
// COPY and ADD. Each node keeps its keyword, flags, argument text and line numbers; meaning is
// given later (instructions.ts). Errors name the line as Docker does.
import { InvalidArgument } from '../../errdefs/index.js';

export interface Heredoc {
  name: string;
  content: string;
  /** False when the delimiter was quoted: no variable expansion in the content. */
  expand: boolean;
  /** `<<-`: leading tabs were stripped. */
  chomp: boolean;
}

export interface Node {
  /** Lower-case instruction name. */
  keyword: string;
  /** The instruction as written, continuations joined (for messages and history). */
  original: string;
  /** Arguments after the keyword and flags. */
  args: string;
  /** `--name=value` / `--name` flags before the arguments. */
  flags: string[];
  heredocs: Heredoc[];
  startLine: number;
  endLine: number;
}

export interface ParsedDockerfile {
  directives: Record<string, string>;
  escape: string;
  nodes: Node[];
}

export class DockerfileParseError extends InvalidArgument {
  constructor(readonly line: number, message: string) {
    super(`Dockerfile parse error line ${line}: ${message}`);
  }
}

export const KNOWN_INSTRUCTIONS = new Set([
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer',
  'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
]);
const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC_AT = /<<(-?)(["']?)([A-Za-z0-9_.-]+)\2/y;

/**
 * Heredoc markers in an argument string: `<<NAME`, `<<-NAME`, `<<"NAME"` outside quotes, and not
 * a here-string (`<<<`), as the shell would see them.
 */
export function heredocMarkers(args: string): Array<{ name: string; quoted: boolean; chomp: boolean }> {
  const out: Array<{ name: string; quoted: boolean; chomp: boolean }> = [];
  let quote = '';
  for (let i = 0; i < args.length; i++) {
    const ch = args[i]!;
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === '\\' && quote === '"') i++;
      continue;
    }
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      continue;
    }
    if (ch !== '<' || args[i + 1] !== '<' || args[i + 2] === '<' || args[i - 1] === '<') continue;
    HEREDOC_AT.lastIndex = i;
    const m = HEREDOC_AT.exec(args);
    if (!m) continue;
    out.push({ name: m[3]!, quoted: m[2] !== '', chomp: m[1] === '-' });
    i = HEREDOC_AT.lastIndex - 1;
  }
  return out;
}

function parseDirectives(lines: string[]): { directives: Record<string, string>; escape: string } {
  const directives: Record<string, string> = {};
  for (const line of lines) {
    const m = DIRECTIVE.exec(line.trim());
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (key !== 'escape' && key !== 'syntax' && key !== 'check') break;
    if (key in directives) break; // Docker treats a repeated directive as a comment
    directives[key] = m[2]!;
  }
  const escape = directives['escape'] ?? '\\';
  if (escape !== '\\' && escape !== '`') throw new DockerfileParseError(1, `invalid escape token '${escape}' does not match ` + '` or \\');
  return { directives, escape };
}

/** Splits leading flags (`--x=y`, `--x`) from the arguments. */
function splitFlags(rest: string): { flags: string[]; args: string } {
  const flags: string[] = [];
  let s = rest;
  for (;;) {
    const m = /^--([^\s]*)(\s+|$)/.exec(s);
    if (!m || m[1] === '') break; // a lone `--` is an argument
    flags.push('--' + m[1]);
    s = s.slice(m[0].length);
  }
  return { flags, args: s };
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { directives, escape } = parseDirectives(lines);
  const continuation = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const nodes: Node[] = [];
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    let line = lines[i]!.replace(/^\s+/, '');
    i++;
    if (line === '' || line.startsWith('#')) continue;
    // Join continuation lines; comment and empty lines inside a continuation are dropped.
    let joined = '';
    let endLine = startLine;
    while (continuation.test(line)) {
      joined += line.replace(continuation, '');
      let next: string | undefined;
      while (i < lines.length) {
        const cand = lines[i]!;
        i++;
        const t = cand.replace(/^\s+/, '');
        if (t.startsWith('#') || t === '') continue;
        next = cand;
        break;
      }
      endLine = i;
      if (next === undefined) {
        line = '';
        break;
      }
      line = next;
    }
    joined += line;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined.trim());
    if (!m) continue;
    const keyword = m[1]!.toLowerCase();
    if (!KNOWN_INSTRUCTIONS.has(keyword)) throw new DockerfileParseError(startLine, `unknown instruction: ${m[1]!.toUpperCase()}`);
    const { flags, args } = splitFlags(m[2]!.replace(/\s+$/, ''));
    const heredocs: Heredoc[] = [];
    const inner = keyword === 'onbuild' ? /^\S+/.exec(args)?.[0]?.toLowerCase() : keyword;
    if (inner && HEREDOC_INSTRUCTIONS.has(inner)) {
      for (const h of heredocMarkers(args)) {
        const body: string[] = [];
        let found = false;
        while (i < lines.length) {
          let l = lines[i]!;
          i++;
          if (h.chomp) l = l.replace(/^\t+/, '');
          if (l === h.name) {
            found = true;
            break;
          }
          body.push(l);
        }
        endLine = i;
        if (!found) throw new DockerfileParseError(startLine, `unterminated heredoc ${h.name}`);
        heredocs.push({ name: h.name, content: body.length ? body.join('\n') + '\n' : '', expand: !h.quoted, chomp: h.chomp });
      }
    }
    nodes.push({ keyword, original: joined.trim(), args, flags, heredocs, startLine, endLine });
  }
  return { directives, escape, nodes };
}
