// A typed Docker Engine API client over a unix socket or TCP. It negotiates the API version
// once through /_ping (the lower of ours and the daemon's), turns `{message}` error bodies into
// DaemonError, and exposes raw responses for streams (tar, JSON progress, logs).
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export const CLIENT_API_VERSION = '1.47';

export class DaemonError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'DaemonError';
  }
}

/** The daemon could not be reached at all. */
export class ConnectionError extends Error {
  constructor(readonly host: string, cause: unknown) {
    super(`Cannot connect to the berth daemon at ${host}. Is the berth daemon running?`, { cause });
    this.name = 'ConnectionError';
  }
}

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** A raw body stream (tar, import source). */
  stream?: Readable | Buffer;
  headers?: Record<string, string>;
}

function versionLess(a: string, b: string): boolean {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 < b1 || (a1 === b1 && a2 < b2);
}

export class EngineClient {
  private version?: string;
  private readonly agent: http.Agent;
  private readonly target: { socketPath: string } | { host: string; port: number };

  constructor(readonly host: string) {
    this.agent = new http.Agent({ keepAlive: true });
    if (host.startsWith('unix://')) this.target = { socketPath: host.slice(7) };
    else if (host.startsWith('tcp://') || host.startsWith('http://')) {
      const u = new URL(host.replace(/^tcp:/, 'http:'));
      this.target = { host: u.hostname, port: Number(u.port || 2375) };
    } else throw new Error(`unsupported host ${host}: use unix:///path or tcp://HOST:PORT`);
  }

  close(): void {
    this.agent.destroy();
  }

  private rawRequest(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) qs.append(k, x);
      else qs.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    const q = qs.toString();
    const headers: Record<string, string> = { ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    } else if (Buffer.isBuffer(opts.stream)) {
      payload = opts.stream;
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ ...this.target, agent: this.agent, method, path: path + (q ? `?${q}` : ''), headers }, resolve);
      req.on('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' || (err as NodeJS.ErrnoException).code === 'ENOENT' ? new ConnectionError(this.host, err) : err));
      if (payload) req.end(payload);
      else if (opts.stream && !Buffer.isBuffer(opts.stream)) {
        opts.stream.on('error', (e) => req.destroy(e));
        opts.stream.pipe(req);
      } else req.end();
    });
  }

  /** The negotiated API version. */
  async apiVersion(): Promise<string> {
    if (!this.version) {
      const res = await this.rawRequest('GET', '/_ping');
      res.resume();
      const server = res.headers['api-version'];
      this.version = typeof server === 'string' && versionLess(server, CLIENT_API_VERSION) ? server : CLIENT_API_VERSION;
    }
    return this.version;
  }

  /** A request whose response is checked: non-2xx becomes DaemonError with the daemon's message. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const v = await this.apiVersion();
    const res = await this.rawRequest(method, `/v${v}${path}`, opts);
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readAll(res);
      let message = text.toString('utf8').trim();
      try {
        message = JSON.parse(message).message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new DaemonError(res.statusCode ?? 500, message || `HTTP ${res.statusCode}`);
    }
    return res;
  }

  /**
   * A hijacked connection (attach, exec start): `Upgrade: tcp`, and on 101 the raw socket carries
   * the container's streams both ways. A daemon that answers 200 instead streams the body.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<{ socket: Socket; head: Buffer }> {
    const v = await this.apiVersion();
    const payload = opts.body !== undefined ? Buffer.from(JSON.stringify(opts.body)) : undefined;
    const qs = new URLSearchParams();
    for (const [k, val] of Object.entries(opts.query ?? {})) if (val !== undefined) qs.set(k, typeof val === 'boolean' ? (val ? '1' : '0') : String(val));
    const q = qs.toString();
    const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp', ...opts.headers };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ ...this.target, method, path: `/v${v}${path}${q ? `?${q}` : ''}`, headers });
      req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
      req.on('response', (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          readAll(res).then((b) => {
            let message = b.toString('utf8').trim();
            try {
              message = JSON.parse(message).message ?? message;
            } catch {
              // not JSON
            }
            reject(new DaemonError(res.statusCode ?? 500, message));
          }, reject);
          return;
        }
        resolve({ socket: res.socket, head: Buffer.alloc(0) });
      });
      req.on('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ECONNREFUSED' || (err as NodeJS.ErrnoException).code === 'ENOENT' ? new ConnectionError(this.host, err) : err));
      req.end(payload);
    });
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = (await readAll(res)).toString('utf8');
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  async ping(): Promise<boolean> {
    try {
      const res = await this.rawRequest('GET', '/_ping');
      res.resume();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }
}

export async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

/** Newline-delimited JSON messages from a progress/build/events stream. */
export async function* jsonMessages(stream: AsyncIterable<Buffer | string>): AsyncGenerator<JsonMessage> {
  let buf = '';
  for await (const c of stream) {
    buf += c.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as JsonMessage;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as JsonMessage;
}
