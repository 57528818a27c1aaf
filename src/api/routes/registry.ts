// Registry endpoints: login check, push, search. Pull rides on POST /images/create (images.ts).
import type { Route } from '../server.js';
import { readJson, sendJson } from '../http.js';
import { JsonStream, type JsonMessage } from '../stream.js';

export interface RegistryRoutesBackend {
  login(req: { username?: string; password?: string; serveraddress?: string; identitytoken?: string }): Promise<{ Status: string; IdentityToken: string }>;
  push(name: string, tag: string | undefined, auth: string | undefined, progress: (m: JsonMessage) => void): Promise<void>;
  search(term: string, limit: number | undefined, auth: string | undefined): Promise<unknown[]>;
}

export function registryRoutes(b: RegistryRoutesBackend): Route[] {
  return [
    { method: 'POST', path: '/auth', handler: async (r) => {
      const body = (await readJson<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(r.raw)) ?? {};
      sendJson(r.res, 200, await b.login(body));
    } },
    { method: 'GET', path: '/images/search', handler: async (r) => {
      const limit = r.query.get('limit');
      sendJson(r.res, 200, await b.search(r.query.get('term') ?? '', limit ? Number(limit) : undefined, r.raw.headers['x-registry-auth'] as string | undefined));
    } },
    { method: 'POST', path: '/images/{name*}/push', handler: async (r) => {
      const out = new JsonStream(r.res);
      try {
        await b.push(r.params['name']!, r.query.get('tag') || undefined, r.raw.headers['x-registry-auth'] as string | undefined, (m) => out.write(m));
      } catch (err) {
        if (!r.res.headersSent) throw err;
        out.error(err instanceof Error ? err.message : String(err));
      }
      out.end();
    } },
  ];
}
