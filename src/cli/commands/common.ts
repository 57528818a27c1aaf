// Small helpers the commands share.
import type { FlagSpec } from '../flags.js';
import { goJson } from '../render/gofmt.js';

export const formatFlag: FlagSpec = { name: 'format', type: 'string', help: "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template", valueName: 'string' };
export const filterFlag: FlagSpec = { name: 'filter', short: 'f', type: 'list', help: 'Filter output based on conditions provided', valueName: 'filter' };
export const quietFlag = (what: string): FlagSpec => ({ name: 'quiet', short: 'q', type: 'bool', help: `Only show ${what}` });

/** `-f k=v` values into the API's filters map. */
export function filtersOf(values: string[] | undefined): Record<string, string[]> | undefined {
  if (!values?.length) return undefined;
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`bad format of filter (expected name=value)`);
    (out[v.slice(0, eq).toLowerCase()] ??= []).push(v.slice(eq + 1));
  }
  return out;
}

export function filtersQuery(values: string[] | undefined): string | undefined {
  const f = filtersOf(values);
  return f ? JSON.stringify(f) : undefined;
}

/** Go's json.MarshalIndent(v, "", "    ") with HTML escaping, as `docker inspect` prints. */
export function indentJson(v: unknown): string {
  return JSON.stringify(v, null, 4).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export function shortId(id: string): string {
  return (id.startsWith('sha256:') ? id.slice(7) : id).slice(0, 12);
}

/** Docker's ellipsis: cut to `max` characters, ending with '…'. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : chars.slice(0, max - 1).join('') + '…';
}

export { goJson };

export async function confirm(ctx: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream }, question: string): Promise<boolean> {
  ctx.stdout.write(`${question} [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    const done = () => {
      ctx.stdin.off('data', onData);
      ctx.stdin.off('end', done);
      ctx.stdin.pause?.();
      resolve(buf.split('\n')[0]!.trim());
    };
    ctx.stdin.on('data', onData);
    ctx.stdin.on('end', done);
    ctx.stdin.resume?.();
  });
  return /^y(es)?$/i.test(answer);
}
