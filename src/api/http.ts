// Request helpers shared by the routes: bodies, Docker's query conventions and filters.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgument } from '../errdefs/index.js';

export interface Request {
  raw: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for (from the /vX.Y prefix), or the server's. */
  version: string;
}

export async function readBody(req: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new InvalidArgument('request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson<T>(req: IncomingMessage): Promise<T | undefined> {
  const body = await readBody(req);
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new InvalidArgument('invalid JSON in request body');
  }
}

/** Docker's boolean query values: '1', 'true', 'True' are true; absent or '0'/'false' are false. */
export function boolParam(q: URLSearchParams, name: string, fallback = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  return !['0', 'false', 'False', 'FALSE', 'no'].includes(v);
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgument(`invalid value for ${name}: ${v}`);
  return n;
}

/**
 * `filters` as JSON, in either of Docker's forms: {"k": ["v"]} or the older {"k": {"v": true}}.
 */
export function filtersParam(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgument(`invalid filter: ${raw}`);
  }
  if (!parsed || typeof parsed !== 'object') throw new InvalidArgument(`invalid filter: ${raw}`);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.entries(v as Record<string, unknown>).filter(([, on]) => on).map(([val]) => val);
    else throw new InvalidArgument(`invalid filter: ${raw}`);
  }
  return out;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value) + '\n');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}
