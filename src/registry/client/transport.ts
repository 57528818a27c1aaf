// One registry endpoint: scheme choice (plain HTTP for loopback and --insecure-registry), the
// `/v2/` API over fetch (undici), and authentication on 401 (Basic, or a Bearer token fetched
// from the challenge's realm, cached per scope and fetched again when refused).
import { InvalidArgument, NotFound, Unauthorized, Unavailable } from '../../errdefs/index.js';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { basicAuth, parseChallenges, TokenCache, type Credentials } from './auth.js';

export interface RegistryOptions {
  /** Registries (host or host:port, or CIDR-free host names) reached over plain HTTP. */
  insecureRegistries?: string[];
}

const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';

export function isInsecure(domain: string, insecure: string[] = []): boolean {
  const host = domain.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  return insecure.includes(domain) || insecure.includes(host);
}

export function endpointFor(domain: string, opts: RegistryOptions = {}): string {
  const host = domain === 'docker.io' ? DOCKER_HUB_ENDPOINT : domain;
  return `${isInsecure(domain, opts.insecureRegistries) ? 'http' : 'https'}://${host}`;
}

export interface RequestInit2 {
  headers?: Record<string, string>;
  body?: Buffer | AsyncIterable<Uint8Array>;
  /** Token scopes this request needs, e.g. `repository:library/busybox:pull`. */
  scopes?: string[];
  signal?: AbortSignal;
}

const tokenCache = new TokenCache();

// Blob bodies come through node:http: a Node stream, with about half the CPU per byte of fetch's
// web streams (measured on a 60 MB blob). Not the undici package: importing it replaces the
// dispatcher under Node's own fetch with one that fetch's headers do not satisfy.
const MAX_REDIRECTS = 5;
const keepAlive = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

function get(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.get(url, { headers, signal, agent: url.protocol === 'https:' ? keepAlive.https : keepAlive.http }, resolve);
    req.on('error', reject);
  });
}

export interface StreamedResponse {
  status: number;
  headers: Headers;
  body: Readable;
}

export class RegistryTransport {
  readonly base: string;
  private authHeader?: string;

  constructor(readonly domain: string, private readonly creds: Credentials = {}, opts: RegistryOptions = {}) {
    this.base = endpointFor(domain, opts);
  }

  url(p: string): string {
    return new URL(p, this.base).toString();
  }

  async request(method: string, pathOrUrl: string, init: RequestInit2 = {}): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : this.url(pathOrUrl);
    const send = async () => {
      const headers: Record<string, string> = { ...init.headers };
      if (this.authHeader) headers['Authorization'] = this.authHeader;
      try {
        return await fetch(url, {
          method, headers, body: init.body as BodyInit | undefined, redirect: 'follow', signal: init.signal,
          ...(init.body && !Buffer.isBuffer(init.body) ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (err) {
        const e = err as Error & { cause?: Error };
        throw new Unavailable(`${method} ${url}: ${e.cause?.message ?? e.message}`, { cause: err });
      }
    };
    let res = await send();
    if (res.status !== 401) return res;
    // A streamed body cannot be sent twice: callers authenticate with a small request first.
    if (init.body && !Buffer.isBuffer(init.body)) return res;
    await res.arrayBuffer().catch(() => {});
    await this.authenticate(res.headers.get('www-authenticate'), init.scopes ?? [], true);
    res = await send();
    return res;
  }

  /** A GET whose body is streamed (blobs), authenticated as request() does. */
  async getStream(pathOrUrl: string, init: { scopes?: string[]; signal?: AbortSignal } = {}): Promise<StreamedResponse> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : this.url(pathOrUrl);
    const send = async (): Promise<StreamedResponse> => {
      const headers: Record<string, string> = {};
      if (this.authHeader) headers['Authorization'] = this.authHeader;
      try {
        let at = new URL(url);
        for (let hops = 0; ; hops++) {
          const res = await get(at, headers, init.signal);
          const location = res.headers.location;
          if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location && hops < MAX_REDIRECTS) {
            res.resume();
            const next = new URL(location, at);
            // Credentials stay with the registry, as fetch does on a cross-origin redirect.
            if (next.origin !== at.origin) delete headers['Authorization'];
            at = next;
            continue;
          }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          return { status: res.statusCode ?? 0, headers: h, body: res };
        }
      } catch (err) {
        const e = err as Error & { cause?: Error };
        throw new Unavailable(`GET ${url}: ${e.cause?.message ?? e.message}`, { cause: err });
      }
    };
    let res = await send();
    if (res.status !== 401) return res;
    res.body.resume();
    await this.authenticate(res.headers.get('www-authenticate'), init.scopes ?? [], true);
    return send();
  }

  /** Answers a challenge: Basic with the credentials, or a bearer token for `scopes`. */
  async authenticate(header: string | null, scopes: string[], refresh = false): Promise<void> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params['realm']) {
      const { realm, service } = bearer.params as { realm: string; service?: string };
      const wanted = scopes.length ? scopes : bearer.params['scope'] ? bearer.params['scope'].split(' ') : [];
      const key = TokenCache.key(realm, service, wanted) + `|${this.creds.username ?? ''}`;
      if (refresh) tokenCache.delete(key);
      let token = tokenCache.get(key);
      if (!token) {
        const u = new URL(realm);
        if (service) u.searchParams.set('service', service);
        for (const s of wanted) u.searchParams.append('scope', s);
        const headers: Record<string, string> = {};
        if (this.creds.registryToken) {
          this.authHeader = `Bearer ${this.creds.registryToken}`;
          return;
        }
        const basic = basicAuth(this.creds);
        if (basic) headers['Authorization'] = basic;
        let res: Response;
        try {
          res = await fetch(u, { headers });
        } catch (err) {
          throw new Unavailable(`Get "${u}": ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
        }
        if (res.status === 401 || res.status === 403) throw new Unauthorized(`Get "${u}": unauthorized: incorrect username or password`);
        if (!res.ok) throw new Unavailable(`Get "${u}": token server answered ${res.status}`);
        const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
        token = body.token ?? body.access_token;
        if (!token) throw new Unavailable(`Get "${u}": no token in the answer`);
        tokenCache.set(key, token, body.expires_in ?? 60);
      }
      this.authHeader = `Bearer ${token}`;
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const basic = basicAuth(this.creds);
      if (!basic) throw new Unauthorized('no basic auth credentials');
      this.authHeader = basic;
    }
  }

  /** `GET /v2/`: the login check. Throws Unauthorized when the credentials are refused. */
  async ping(): Promise<void> {
    let res = await this.request('GET', '/v2/');
    if (res.status === 401) {
      await res.arrayBuffer().catch(() => {});
      throw new Unauthorized(`login attempt to ${this.base}/v2/ failed with status: 401 Unauthorized`);
    }
    await res.arrayBuffer().catch(() => {});
    if (res.status >= 500) throw new Unavailable(`${this.base}/v2/ answered ${res.status}`);
    void res;
  }
}

/** Turns a registry error response into the engine's error classes (body: distribution errcodes). */
export async function registryError(res: Response, what: string): Promise<Error> {
  let detail = '';
  try {
    const body = (await res.json()) as { errors?: Array<{ code?: string; message?: string }> };
    detail = body.errors?.map((e) => `${(e.code ?? '').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`).join('; ') ?? '';
  } catch {
    // Not JSON.
  }
  // A HEAD answer has no body: say what docker says for a refusal without details.
  const refused = res.status === 401 ? 'unauthorized: authentication required' : res.status === 403 ? 'denied: requested access to the resource is denied' : '';
  const msg = detail || refused || `${what}: unexpected status ${res.status}`;
  if (res.status === 404) return new NotFound(msg);
  if (res.status === 401 || res.status === 403) return new Unauthorized(msg);
  if (res.status >= 500) return new Unavailable(msg);
  return new InvalidArgument(msg);
}
