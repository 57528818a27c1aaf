// The Engine API's HTTP server on node:http: a route table with path parameters, the optional
// `/vX.Y` prefix and version checks, Docker's headers, and one error mapping for every route.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { log } from '../lib/log.js';
import { messageOf, statusOf } from './errors.js';
import { sendJson, type Request } from './http.js';

export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /** `/images/{name*}/json`: `{x}` matches one segment, `{x*}` one or more. */
  path: string;
  handler: (req: Request) => unknown | Promise<unknown>;
  /** Handles `Connection: Upgrade` requests (attach, exec start) with the raw socket. */
  upgrade?: (req: Request, socket: Duplex, head: Buffer) => unknown | Promise<unknown>;
}

interface CompiledRoute extends Route {
  re: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const src = route.path.replace(/[.+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(\*?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return { ...route, re: new RegExp(`^${src}/?$`), names };
}

export function compareVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

export interface ServerIdentity {
  version: string;
}

export class ApiServer {
  private readonly routes: CompiledRoute[];
  readonly http: http.Server;
  /** Hijacked connections (attach, exec): server.close() would wait for them forever. */
  private readonly hijacked = new Set<Duplex>();

  constructor(routes: Route[], private readonly identity: ServerIdentity) {
    this.routes = routes.map(compile);
    this.http = http.createServer({ keepAlive: true }, (req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
    // Long builds, pulls and log follows must not be cut by node's default timeouts.
    this.http.requestTimeout = 0;
    this.http.headersTimeout = 60_000;
    // Clients (dockerode's agent, the docker CLI) keep idle connections and reuse them much later,
    // as dockerd allows; a server-side idle close makes their next write fail with EPIPE.
    this.http.keepAliveTimeout = 0;
  }

  private headers(res: ServerResponse): void {
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Server', `Docker/${this.identity.version} (linux)`);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
  }

  /** Parses the URL into a route match, or an error to send. */
  private match(req: IncomingMessage): { route: CompiledRoute; request: Omit<Request, 'raw' | 'res'> } | { status: number; message: string } {
    const url = new URL(req.url ?? '/', 'http://berth');
    let p = url.pathname;
    let version = API_VERSION;
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(p);
    if (m) {
      version = m[1]!;
      p = m[2]!;
      if (compareVersions(version, API_VERSION) > 0) {
        return { status: 400, message: `client version ${version} is too new. Maximum supported API version is ${API_VERSION}` };
      }
      if (compareVersions(version, MIN_API_VERSION) < 0) {
        return { status: 400, message: `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version` };
      }
    }
    const method = req.method === 'HEAD' ? 'HEAD' : req.method ?? 'GET';
    let pathMatched = false;
    for (const route of this.routes) {
      const mm = route.re.exec(p);
      if (!mm) continue;
      pathMatched = true;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => (params[n] = decodeURIComponent(mm[i + 1]!)));
      return { route, request: { method, path: p, params, query: url.searchParams, version } };
    }
    if (pathMatched) return { status: 405, message: `method ${method} not allowed on ${p}` };
    return { status: 404, message: 'page not found' };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.headers(res);
    const found = this.match(req);
    if ('status' in found) {
      sendJson(res, found.status, { message: found.message });
      return;
    }
    const request: Request = { ...found.request, raw: req, res };
    log.debug('API request', { method: req.method, url: req.url });
    try {
      await found.route.handler(request);
    } catch (err) {
      this.fail(res, err, req);
    }
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const found = this.match(req);
    if ('status' in found || !found.route.upgrade) {
      const status = 'status' in found ? found.status : 400;
      const message = 'status' in found ? found.message : 'upgrade not supported on this endpoint';
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ message })}\n`);
      return;
    }
    const request: Request = { ...found.request, raw: req, res: undefined as unknown as ServerResponse };
    // A client that hangs up (ECONNRESET) must not take the daemon down with an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    this.hijacked.add(socket);
    socket.once('close', () => this.hijacked.delete(socket));
    try {
      await found.route.upgrade(request, socket, head);
    } catch (err) {
      const status = statusOf(err);
      // Once the route has answered (101 and stream bytes), an HTTP error would land in the stream.
      if ((socket as Duplex & { bytesWritten?: number }).bytesWritten) {
        log.warn('hijacked stream failed', { url: req.url, error: messageOf(err) });
        socket.destroy();
        return;
      }
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ message: messageOf(err) })}\n`);
    }
  }

  /** Ends every hijacked stream, so that closing the server does not wait on them. */
  closeHijacked(): void {
    for (const s of this.hijacked) s.destroy();
    this.hijacked.clear();
  }

  private fail(res: ServerResponse, err: unknown, req: IncomingMessage): void {
    const status = statusOf(err);
    if (status >= 500) log.error('API error', { method: req.method, url: req.url, error: err instanceof Error ? err.stack : err });
    else log.debug('API error', { method: req.method, url: req.url, status, error: messageOf(err) });
    if (res.headersSent) {
      // A stream already started: the client learns of the failure from a broken stream.
      res.destroy(err instanceof Error ? err : undefined);
      return;
    }
    sendJson(res, status, { message: messageOf(err) });
  }
}
