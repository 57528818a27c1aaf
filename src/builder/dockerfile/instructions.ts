// Raw nodes -> typed instructions, checked as Docker checks them (argument counts, flags, JSON
// forms). Arguments stay unexpanded: variables are substituted at dispatch, when the stage's
// ARG and ENV values are known, and only in the instructions where Docker substitutes.
import { DockerfileParseError, parseDockerfile, type Heredoc, type Node } from './parser.js';
import { splitWords } from './expand.js';

/** A command in exec form (JSON array) or shell form (one string run by the SHELL). */
export type CommandLine = { json: true; args: string[] } | { json: false; text: string };

export interface KeyValue {
  key: string;
  /** Unexpanded value (quotes and escapes still in). */
  value: string;
}

interface Base {
  line: number;
  /** The instruction as written, for `Step n/m :` lines. */
  original: string;
}

export interface FromInstruction extends Base { kind: 'from'; image: string; name?: string; platform?: string }
export interface RunInstruction extends Base { kind: 'run'; command: CommandLine; heredocs: Heredoc[]; network?: string }
export interface CmdInstruction extends Base { kind: 'cmd' | 'entrypoint'; command: CommandLine }
export interface KeyValueInstruction extends Base { kind: 'env' | 'label'; pairs: KeyValue[] }
export interface ArgInstruction extends Base { kind: 'arg'; args: Array<{ key: string; value?: string }> }
export interface CopyInstruction extends Base {
  kind: 'copy' | 'add';
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
  keepGitDir: boolean;
}
export interface WordsInstruction extends Base { kind: 'expose' | 'volume'; words: string[] }
export interface WordInstruction extends Base { kind: 'workdir' | 'user' | 'stopsignal' | 'maintainer'; word: string }
export interface ShellInstruction extends Base { kind: 'shell'; shell: string[] }
export interface OnbuildInstruction extends Base { kind: 'onbuild'; expression: string }
export interface HealthcheckInstruction extends Base {
  kind: 'healthcheck';
  none: boolean;
  command?: CommandLine;
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export type Instruction =
  | FromInstruction | RunInstruction | CmdInstruction | KeyValueInstruction | ArgInstruction | CopyInstruction
  | WordsInstruction | WordInstruction | ShellInstruction | OnbuildInstruction | HealthcheckInstruction;

export interface Stage {
  from: FromInstruction;
  /** The stage's index among the FROMs. */
  index: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  escape: string;
  directives: Record<string, string>;
  /** ARGs before the first FROM: they may be used in FROM lines. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
}

/** Exec form when the text is a JSON array of strings; anything else is shell form, as in Docker. */
export function parseCommandLine(text: string): CommandLine {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return { json: true, args: v as string[] };
    } catch {
      // fall through to shell form
    }
  }
  return { json: false, text: t };
}

/** COPY/ADD/VOLUME arguments: a JSON array, or words split on whitespace. */
function jsonOrWords(text: string): string[] {
  const c = parseCommandLine(text);
  return c.json ? c.args : text.split(/\s+/).filter(Boolean);
}

interface FlagSpec {
  [name: string]: 'string' | 'bool';
}

function parseFlags(n: Node, spec: FlagSpec): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const f of n.flags) {
    const eq = f.indexOf('=');
    const name = (eq < 0 ? f.slice(2) : f.slice(2, eq));
    const type = spec[name];
    if (!type) throw new DockerfileParseError(n.startLine, `Unknown flag: ${name}`);
    if (type === 'bool') {
      const v = eq < 0 ? 'true' : f.slice(eq + 1).toLowerCase();
      if (v !== 'true' && v !== 'false') throw new DockerfileParseError(n.startLine, `expecting boolean value for flag ${name}, not: ${f.slice(eq + 1)}`);
      out[name] = v === 'true';
    } else {
      if (eq < 0) throw new DockerfileParseError(n.startLine, `Missing a value on flag: ${name}`);
      out[name] = f.slice(eq + 1);
    }
  }
  return out;
}

/** Docker's duration strings (1h2m3.5s, 300ms) in nanoseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let at = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== s.length || s.length === 0) throw new Error(`time: invalid duration "${s}"`);
  return Math.round(total);
}

/** Options the classic builder does not have; Docker's own words. */
function buildkitOnly(n: Node, flag: string): DockerfileParseError {
  return new DockerfileParseError(n.startLine, `the --${flag} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
}

function keyValues(n: Node, name: string, escape: string): KeyValue[] {
  const words = splitWords(n.args, escape);
  if (words.length === 0) throw new DockerfileParseError(n.startLine, `${name} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // Legacy `ENV key value with spaces`: one pair, the rest of the line is the value.
    if (name === 'LABEL') throw new DockerfileParseError(n.startLine, `Syntax error - can't find = in "${words[0]}". Must be of the form: name=value`);
    const m = /^(\S+)\s*([\s\S]*)$/.exec(n.args.trim())!;
    if (m[2] === '') throw new DockerfileParseError(n.startLine, `${name} must have two arguments`);
    return [{ key: m[1]!, value: m[2]! }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new DockerfileParseError(n.startLine, `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (eq === 0) throw new DockerfileParseError(n.startLine, `${name} names can not be blank`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

function toInstruction(n: Node, escape: string): Instruction {
  const base = { line: n.startLine, original: n.original };
  const upper = n.keyword.toUpperCase();
  const noFlags = () => parseFlags(n, {});
  const atLeastOne = () => {
    if (!n.args.trim()) throw new DockerfileParseError(n.startLine, `${upper} requires at least one argument`);
  };
  switch (n.keyword) {
    case 'from': {
      const f = parseFlags(n, { platform: 'string' });
      const words = n.args.split(/\s+/).filter(Boolean);
      if (words.length !== 1 && words.length !== 3) throw new DockerfileParseError(n.startLine, 'FROM requires either one or three arguments');
      if (words.length === 3 && words[1]!.toLowerCase() !== 'as') throw new DockerfileParseError(n.startLine, `Third argument to FROM should be AS, got ${JSON.stringify(words[1])}`);
      const name = words[2]?.toLowerCase();
      if (name !== undefined && !/^[a-z][a-z0-9._-]*$/.test(name)) throw new DockerfileParseError(n.startLine, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
      return { ...base, kind: 'from', image: words[0]!, name, platform: f['platform'] as string | undefined };
    }
    case 'run': {
      const f = parseFlags(n, { network: 'string', mount: 'string', security: 'string' });
      for (const k of ['mount', 'network', 'security']) if (f[k] !== undefined) throw buildkitOnly(n, k);
      atLeastOne();
      return { ...base, kind: 'run', command: parseCommandLine(n.args), heredocs: n.heredocs, network: f['network'] as string | undefined };
    }
    case 'cmd':
    case 'entrypoint':
      noFlags();
      return { ...base, kind: n.keyword, command: parseCommandLine(n.args) };
    case 'env':
    case 'label':
      noFlags();
      return { ...base, kind: n.keyword, pairs: keyValues(n, upper, escape) };
    case 'arg': {
      noFlags();
      const words = splitWords(n.args, escape);
      if (words.length === 0) throw new DockerfileParseError(n.startLine, 'ARG requires at least one argument');
      return {
        ...base, kind: 'arg', args: words.map((w) => {
          const eq = w.indexOf('=');
          const key = eq < 0 ? w : w.slice(0, eq);
          if (!key) throw new DockerfileParseError(n.startLine, 'ARG names can not be blank');
          return eq < 0 ? { key } : { key, value: w.slice(eq + 1) };
        }),
      };
    }
    case 'copy':
    case 'add': {
      const spec: FlagSpec = { chown: 'string', chmod: 'string', link: 'bool', exclude: 'string', parents: 'bool' };
      if (n.keyword === 'copy') spec['from'] = 'string';
      else Object.assign(spec, { checksum: 'string', 'keep-git-dir': 'bool' });
      const f = parseFlags(n, spec);
      for (const k of ['link', 'exclude', 'parents', 'keep-git-dir']) if (f[k] !== undefined) throw buildkitOnly(n, k);
      const words = jsonOrWords(n.args);
      if (words.length === 0) throw new DockerfileParseError(n.startLine, `${upper} requires at least two arguments`);
      if (words.length === 1) throw new DockerfileParseError(n.startLine, `${upper} requires at least two arguments, but only one was provided. Destination could not be determined.`);
      return {
        ...base, kind: n.keyword, sources: words.slice(0, -1), dest: words[words.length - 1]!, heredocs: n.heredocs,
        from: f['from'] as string | undefined, chown: f['chown'] as string | undefined, chmod: f['chmod'] as string | undefined,
        link: !!f['link'], checksum: f['checksum'] as string | undefined, keepGitDir: !!f['keep-git-dir'],
      };
    }
    case 'expose':
    case 'volume': {
      noFlags();
      atLeastOne();
      const words = n.keyword === 'volume' ? jsonOrWords(n.args) : n.args.split(/\s+/).filter(Boolean);
      if (n.keyword === 'volume' && words.some((w) => !w.trim())) throw new DockerfileParseError(n.startLine, 'VOLUME specified can not be an empty string');
      return { ...base, kind: n.keyword, words };
    }
    case 'workdir':
    case 'user':
    case 'stopsignal':
    case 'maintainer': {
      noFlags();
      const words = n.args.split(/\s+/).filter(Boolean);
      if (n.keyword === 'maintainer') {
        atLeastOne();
        return { ...base, kind: 'maintainer', word: n.args.trim() };
      }
      if (words.length !== 1) throw new DockerfileParseError(n.startLine, `${upper} requires exactly one argument`);
      return { ...base, kind: n.keyword, word: n.keyword === 'workdir' ? n.args.trim() : words[0]! };
    }
    case 'shell': {
      noFlags();
      const c = parseCommandLine(n.args);
      if (!c.json) throw new DockerfileParseError(n.startLine, 'SHELL requires the arguments to be in JSON form');
      if (c.args.length === 0) throw new DockerfileParseError(n.startLine, 'SHELL requires at least one argument');
      return { ...base, kind: 'shell', shell: c.args };
    }
    case 'onbuild': {
      noFlags();
      atLeastOne();
      const inner = /^(\S+)/.exec(n.args.trim())![1]!.toUpperCase();
      if (inner === 'ONBUILD') throw new DockerfileParseError(n.startLine, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (inner === 'FROM' || inner === 'MAINTAINER') throw new DockerfileParseError(n.startLine, `${inner} isn't allowed as an ONBUILD trigger`);
      // The trigger must itself parse.
      parseInstructions(n.args.trim());
      return { ...base, kind: 'onbuild', expression: n.args.trim() };
    }
    case 'healthcheck': {
      const f = parseFlags(n, { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' });
      const m = /^(\S+)\s*([\s\S]*)$/.exec(n.args.trim());
      if (!m) throw new DockerfileParseError(n.startLine, 'HEALTHCHECK requires at least one argument');
      const type = m[1]!.toUpperCase();
      if (type === 'NONE') {
        if (m[2] || n.flags.length) throw new DockerfileParseError(n.startLine, 'HEALTHCHECK NONE takes no arguments');
        return { ...base, kind: 'healthcheck', none: true };
      }
      if (type !== 'CMD') throw new DockerfileParseError(n.startLine, `Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
      if (!m[2]) throw new DockerfileParseError(n.startLine, 'Missing command after HEALTHCHECK CMD');
      const dur = (k: string) => {
        const v = f[k] as string | undefined;
        if (v === undefined) return undefined;
        let d: number;
        try {
          d = parseDuration(v);
        } catch (e) {
          throw new DockerfileParseError(n.startLine, (e as Error).message);
        }
        if (d !== 0 && d < 1e6) throw new DockerfileParseError(n.startLine, `Interval "${k}" cannot be less than 1ms`);
        return d;
      };
      let retries: number | undefined;
      if (f['retries'] !== undefined) {
        retries = Number(f['retries']);
        if (!Number.isInteger(retries)) throw new DockerfileParseError(n.startLine, `strconv.ParseInt: parsing ${JSON.stringify(f['retries'])}: invalid syntax`);
        if (retries < 0) throw new DockerfileParseError(n.startLine, '--retries cannot be negative');
      }
      return {
        ...base, kind: 'healthcheck', none: false, command: parseCommandLine(m[2]), interval: dur('interval'), timeout: dur('timeout'),
        startPeriod: dur('start-period'), startInterval: dur('start-interval'), retries,
      };
    }
  }
  throw new DockerfileParseError(n.startLine, `unknown instruction: ${upper}`);
}

/** Instructions of a text without stage structure (used for ONBUILD triggers). */
export function parseInstructions(text: string, escape = '\\'): Instruction[] {
  return parseDockerfile(text).nodes.map((n) => toInstruction(n, escape));
}

export function parse(text: string): Dockerfile {
  const parsed = parseDockerfile(text);
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const n of parsed.nodes) {
    const ins = toInstruction(n, parsed.escape);
    if (ins.kind === 'from') {
      stages.push({ from: ins, index: stages.length, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.kind !== 'arg') throw new DockerfileParseError(n.startLine, 'no build stage in current context');
      metaArgs.push(ins);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw new DockerfileParseError(parsed.nodes.length ? parsed.nodes[parsed.nodes.length - 1]!.endLine : 1, 'file with no instructions');
  const names = new Set<string>();
  for (const s of stages) {
    if (!s.from.name) continue;
    if (names.has(s.from.name)) throw new DockerfileParseError(s.from.line, `duplicate name ${s.from.name}`);
    names.add(s.from.name);
  }
  return { escape: parsed.escape, directives: parsed.directives, metaArgs, stages };
}
