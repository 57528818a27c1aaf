// Small helpers the commands share.
import { DaemonError, type EngineClient } from '../../client/index.js';
import type { Context } from '../command.js';
import type { FlagSpec } from '../flags.js';
import { goJson } from '../render/gofmt.js';
import { Template } from '../render/template.js';

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

/** `inspect`'s output: each object through --format (`json` meaning `{{json .}}`), else one indented array. */
export function printInspected(ctx: Context, found: unknown[], format: string | undefined): void {
  if (!format) {
    ctx.stdout.write(indentJson(found) + '\n');
    return;
  }
  const tpl = new Template(format === 'json' ? '{{json .}}' : format);
  for (const f of found) ctx.stdout.write(tpl.execute(f) + '\n');
}

/** GETs each name's object; a 404 prints docker's error line and marks the run failed. */
export async function fetchEach(ctx: Context, client: EngineClient, names: string[], urlOf: (name: string) => string): Promise<{ found: unknown[]; failed: boolean }> {
  const found: unknown[] = [];
  let failed = false;
  for (const name of names) {
    try {
      found.push(await client.json('GET', urlOf(encodeURIComponent(name))));
    } catch (err) {
      if (!(err instanceof DaemonError) || err.statusCode !== 404) throw err;
      failed = true;
      ctx.stderr.write(`Error response from daemon: ${err.message}\n`);
    }
  }
  return { found, failed };
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
