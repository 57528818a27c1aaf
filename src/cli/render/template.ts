// The part of Go's text/template that Docker users write in --format: fields, pipelines,
// variables, if/else/range/with, trim markers, and Docker's functions (json, join, split, lower,
// upper, title, pad, truncate, printf, ...). Errors read like Go's.
import { InvalidArgument } from '../../errdefs/index.js';
import { goJson, goPrint, sprintf } from './gofmt.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with'; pipe: Pipeline; then: Node[]; else?: Node[] }
  | { kind: 'range'; pipe: Pipeline; then: Node[]; else?: Node[] };

interface Pipeline {
  decl?: string[];
  assign?: boolean;
  cmds: Operand[][];
}

type Operand =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'func'; name: string }
  | { kind: 'lit'; value: unknown }
  | { kind: 'sub'; pipe: Pipeline };

const NO_VALUE = Symbol('no value');

function fail(msg: string): never {
  throw new InvalidArgument(`template: ${msg}`);
}

// ---- lexing actions -----------------------------------------------------------------------------

type Token = { t: 'field'; v: string } | { t: 'var'; v: string } | { t: 'ident'; v: string } | { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'op'; v: string };

function tokenize(src: string, line: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const e = src[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '\\' ? '\\' : e === '"' ? '"' : '\\' + e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) fail(`:${line}: unterminated quoted string`);
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail(`:${line}: unterminated raw quoted string`);
      out.push({ t: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    if (src.startsWith(':=', i)) {
      out.push({ t: 'op', v: ':=' });
      i += 2;
      continue;
    }
    if (c === '=') {
      out.push({ t: 'op', v: '=' });
      i++;
      continue;
    }
    const m = /^(\$[\w]*(?:\.[\w]+)*|\.[\w]+(?:\.[\w]+)*|\.|-?\d+(?:\.\d+)?|[A-Za-z_]\w*)/.exec(src.slice(i));
    if (!m) fail(`:${line}: unexpected "${c}" in command`);
    const w = m[1]!;
    if (w.startsWith('$')) out.push({ t: 'var', v: w });
    else if (w.startsWith('.')) out.push({ t: 'field', v: w });
    else if (/^-?\d/.test(w)) out.push({ t: 'num', v: Number(w) });
    else out.push({ t: 'ident', v: w });
    i += w.length;
  }
  return out;
}

function parsePipeline(tokens: Token[], line: number): Pipeline {
  let pos = 0;
  const pipe: Pipeline = { cmds: [] };
  // `$x := ...`, `$i, $v := ...`, `$x = ...`
  const declEnd = tokens.findIndex((t) => t.t === 'op' && (t.v === ':=' || t.v === '='));
  if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => t.t === 'var' || (t.t === 'op' && t.v === ','))) {
    pipe.decl = tokens.slice(0, declEnd).filter((t) => t.t === 'var').map((t) => t.v);
    pipe.assign = (tokens[declEnd] as { v: string }).v === '=';
    pos = declEnd + 1;
  }
  const parseOperand = (): Operand => {
    const t = tokens[pos++];
    if (!t) fail(`:${line}: missing value for command`);
    switch (t.t) {
      case 'field': return { kind: 'field', base: 'dot', path: t.v === '.' ? [] : t.v.slice(1).split('.') };
      case 'var': {
        const [name, ...path] = t.v.split('.');
        return { kind: 'field', base: name!, path };
      }
      case 'str': return { kind: 'lit', value: t.v };
      case 'num': return { kind: 'lit', value: t.v };
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { kind: 'lit', value: t.v === 'true' };
        if (t.v === 'nil') return { kind: 'lit', value: null };
        return { kind: 'func', name: t.v };
      case 'op':
        if (t.v === '(') {
          let depth = 1;
          const start = pos;
          while (pos < tokens.length && depth > 0) {
            const x = tokens[pos++]!;
            if (x.t === 'op' && x.v === '(') depth++;
            if (x.t === 'op' && x.v === ')') depth--;
          }
          if (depth) fail(`:${line}: unclosed left paren`);
          return { kind: 'sub', pipe: parsePipeline(tokens.slice(start, pos - 1), line) };
        }
        fail(`:${line}: unexpected "${t.v}" in operand`);
    }
  };
  let cmd: Operand[] = [];
  while (pos < tokens.length) {
    const t = tokens[pos]!;
    if (t.t === 'op' && t.v === '|') {
      if (!cmd.length) fail(`:${line}: missing command`);
      pipe.cmds.push(cmd);
      cmd = [];
      pos++;
      continue;
    }
    cmd.push(parseOperand());
  }
  if (!cmd.length) fail(`:${line}: missing value for command`);
  pipe.cmds.push(cmd);
  return pipe;
}

// ---- parsing the template -------------------------------------------------------------------------

interface Parsed {
  nodes: Node[];
  end: 'end' | 'else' | 'eof';
  elseTail?: string;
}

export function parseTemplate(src: string): Node[] {
  // Split into text and actions, applying trim markers.
  const parts: Array<{ text?: string; action?: string; line: number }> = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      parts.push({ text: src.slice(i), line });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    const close = src.indexOf('}}', start);
    if (close < 0) fail(`:${line}: unclosed action`);
    let body = src.slice(start, close);
    let next = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      const m = /^\s*/.exec(src.slice(next))!;
      next += m[0].length;
    }
    if (text) parts.push({ text, line });
    line += (src.slice(i, next).match(/\n/g) ?? []).length;
    parts.push({ action: body.trim(), line });
    i = next;
  }
  let p = 0;
  const parseList = (): Parsed => {
    const nodes: Node[] = [];
    while (p < parts.length) {
      const part = parts[p++]!;
      if (part.text !== undefined) {
        nodes.push({ kind: 'text', text: part.text });
        continue;
      }
      const a = part.action!;
      if (a.startsWith('/*')) continue;
      const kw = /^(if|range|with|else|end|define|template|block)\b\s*(.*)$/s.exec(a);
      if (!kw) {
        nodes.push({ kind: 'action', pipe: parsePipeline(tokenize(a, part.line), part.line) });
        continue;
      }
      const [, word, rest] = kw;
      if (word === 'end') return { nodes, end: 'end' };
      if (word === 'else') return { nodes, end: 'else', elseTail: rest };
      if (word === 'define' || word === 'template' || word === 'block') fail(`:${part.line}: "${word}" is not supported`);
      nodes.push(parseControl(word as 'if' | 'range' | 'with', rest!, part.line));
    }
    return { nodes, end: 'eof' };
  };
  // Parses one if/range/with up to and including its `end`; `else if` nests an if that shares it.
  function parseControl(word: 'if' | 'range' | 'with', rest: string, ln: number): Node {
    const pipe = parsePipeline(tokenize(rest, ln), ln);
    const body = parseList();
    const node = { kind: word, pipe, then: body.nodes } as Node & { else?: Node[] };
    if (body.end === 'else') {
      const tail = body.elseTail ?? '';
      const elseIf = /^if\b\s*(.*)$/s.exec(tail);
      if (elseIf) {
        node.else = [parseControl('if', elseIf[1]!, ln)];
      } else {
        const elseBody = parseList();
        if (elseBody.end !== 'end') fail(`:${ln}: unexpected EOF`);
        node.else = elseBody.nodes;
      }
    } else if (body.end !== 'end') fail(`:${ln}: unexpected EOF`);
    return node;
  }
  const top = parseList();
  if (top.end !== 'eof') fail(`:${line}: unexpected {{${top.end}}}`);
  return top.nodes;
}

// ---- evaluation -------------------------------------------------------------------------------------

function truthy(v: unknown): boolean {
  if (v === NO_VALUE || v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function field(v: unknown, name: string): unknown {
  if (v === null || v === undefined || v === NO_VALUE) return NO_VALUE;
  if (typeof v !== 'object') fail(`can't evaluate field ${name} in type ${typeof v}`);
  const o = v as Record<string, unknown>;
  if (name in o) {
    const x = o[name];
    return typeof x === 'function' ? (x as () => unknown).call(o) : x;
  }
  return NO_VALUE;
}

const FUNCS: Record<string, (...a: unknown[]) => unknown> = {
  json: (v) => goJson(v === NO_VALUE ? null : v),
  join: (a, sep) => (Array.isArray(a) ? a.map((x) => goPrint(x)).join(String(sep)) : goPrint(a)),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => String(goPrint(s)).toLowerCase(),
  upper: (s) => String(goPrint(s)).toUpperCase(),
  title: (s) => String(goPrint(s)).replace(/\b\w/g, (c) => c.toUpperCase()),
  pad: (s, l, r) => ' '.repeat(Number(l)) + goPrint(s) + ' '.repeat(Number(r)),
  truncate: (s, n) => [...String(goPrint(s))].slice(0, Number(n)).join(''),
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    fail(`error calling len: len of type ${typeof v}`);
  },
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) {
      if (cur === null || cur === undefined) fail('error calling index: index of untyped nil');
      cur = Array.isArray(cur) ? cur[Number(k)] : (cur as Record<string, unknown>)[String(k)];
      if (cur === undefined) cur = NO_VALUE;
    }
    return cur;
  },
  eq: (a, ...bs) => bs.some((b) => norm(a) === norm(b)),
  ne: (a, b) => norm(a) !== norm(b),
  lt: (a, b) => (norm(a) as number) < (norm(b) as number),
  le: (a, b) => (norm(a) as number) <= (norm(b) as number),
  gt: (a, b) => (norm(a) as number) > (norm(b) as number),
  ge: (a, b) => (norm(a) as number) >= (norm(b) as number),
  not: (a) => !truthy(a),
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  print: (...a) => a.map(goPrint).join(''),
  println: (...a) => a.map(goPrint).join(' ') + '\n',
  printf: (f, ...a) => sprintf(String(f), a),
  html: (s) => String(goPrint(s)).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`),
  urlquery: (s) => encodeURIComponent(String(goPrint(s))),
};

function norm(v: unknown): unknown {
  return v === NO_VALUE ? undefined : v;
}

type Scope = Map<string, unknown>;

function evalPipeline(pipe: Pipeline, dot: unknown, scope: Scope): unknown {
  let value: unknown = NO_VALUE;
  let first = true;
  for (const cmd of pipe.cmds) {
    value = evalCommand(cmd, dot, scope, first ? undefined : value);
    first = false;
  }
  if (pipe.decl) {
    if (pipe.assign) {
      for (const d of pipe.decl) if (!scope.has(d)) fail(`undefined variable: ${d}`);
    }
    scope.set(pipe.decl[pipe.decl.length - 1]!, value);
  }
  return value;
}

function evalOperand(op: Operand, dot: unknown, scope: Scope): unknown {
  switch (op.kind) {
    case 'lit': return op.value;
    case 'sub': return evalPipeline(op.pipe, dot, scope);
    case 'func': return callFunc(op.name, []);
    case 'field': {
      let v: unknown;
      if (op.base === 'dot') v = dot;
      else {
        if (!scope.has(op.base)) fail(`undefined variable "${op.base}"`);
        v = scope.get(op.base);
      }
      for (const name of op.path) v = field(v, name);
      return v;
    }
  }
}

function callFunc(name: string, args: unknown[]): unknown {
  const fn = FUNCS[name];
  if (!fn) fail(`:1: function "${name}" not defined`);
  return fn(...args);
}

function evalCommand(cmd: Operand[], dot: unknown, scope: Scope, piped: unknown): unknown {
  const [head, ...rest] = cmd;
  if (head!.kind === 'func') {
    const args = rest.map((o) => evalOperand(o, dot, scope));
    if (piped !== undefined) args.push(piped);
    return callFunc(head.name, args);
  }
  // A field holding a function is a method, as Go's `{{.Label "com.example"}}` on a ps row.
  if (head!.kind === 'field' && head.path.length && (rest.length || piped !== undefined)) {
    const owner = evalOperand({ ...head, path: head.path.slice(0, -1) }, dot, scope);
    const method = owner && typeof owner === 'object' ? (owner as Record<string, unknown>)[head.path[head.path.length - 1]!] : undefined;
    if (typeof method === 'function') {
      const args = rest.map((o) => evalOperand(o, dot, scope));
      if (piped !== undefined) args.push(piped);
      return (method as (...a: unknown[]) => unknown).call(owner, ...args);
    }
  }
  if (rest.length) fail(`can't give argument to non-function`);
  if (piped !== undefined) fail(`can't give argument to non-function`);
  return evalOperand(head!, dot, scope);
}

function exec(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipeline(n.pipe, dot, scope);
        if (!n.pipe.decl) out.push(v === NO_VALUE ? '<no value>' : goPrint(v));
        break;
      }
      case 'if': {
        const inner = new Map(scope);
        if (truthy(evalPipeline(n.pipe, dot, inner))) exec(n.then, dot, inner, out);
        else if (n.else) exec(n.else, dot, new Map(scope), out);
        break;
      }
      case 'with': {
        const inner = new Map(scope);
        const v = evalPipeline(n.pipe, dot, inner);
        if (truthy(v)) exec(n.then, v, inner, out);
        else if (n.else) exec(n.else, dot, new Map(scope), out);
        break;
      }
      case 'range': {
        const inner = new Map(scope);
        const decl = n.pipe.decl;
        const v = evalPipeline({ ...n.pipe, decl: undefined }, dot, inner);
        const items: Array<[unknown, unknown]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])
            : typeof v === 'number' ? Array.from({ length: v }, (_, i) => [i, i]) : [];
        if (!items.length) {
          if (n.else) exec(n.else, dot, new Map(scope), out);
          break;
        }
        for (const [k, x] of items) {
          const s = new Map(inner);
          if (decl?.length === 1) s.set(decl[0]!, x);
          if (decl?.length === 2) {
            s.set(decl[0]!, k);
            s.set(decl[1]!, x);
          }
          exec(n.then, x, s, out);
        }
        break;
      }
    }
  }
}

export class Template {
  private readonly nodes: Node[];
  constructor(readonly source: string) {
    this.nodes = parseTemplate(source);
  }

  execute(data: unknown): string {
    const out: string[] = [];
    exec(this.nodes, data, new Map([['$', data]]), out);
    return out.join('');
  }
}
