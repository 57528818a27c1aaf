// The image endpoints. Routes only translate HTTP; the backend does the work.
import type { Readable } from 'node:stream';
import type { Route } from '../server.js';
import { boolParam, filtersParam, sendJson } from '../http.js';
import { JsonStream, type JsonMessage } from '../stream.js';
import { InvalidArgument, NotImplemented } from '../../errdefs/index.js';
import type { DeleteItem, Filters, HistoryItem, ImageInspect, ImageSummary, PruneReport } from '../../images/types.js';

export interface ImagesBackend {
  list(opts: { all?: boolean; filters?: Filters; sharedSize?: boolean }): ImageSummary[];
  inspect(name: string): Promise<ImageInspect>;
  history(name: string): Promise<HistoryItem[]>;
  tag(source: string, target: string): void;
  remove(name: string, opts: { force?: boolean; noprune?: boolean }): Promise<DeleteItem[]>;
  /** `fromSrc`: '-' for the request body, or an http(s) URL. */
  importFrom(source: Readable | URL, opts: { repo?: string; tag?: string; changes?: string[]; message?: string; platform?: string }, progress: (status: string) => void): Promise<string>;
  pull?(name: string, tag: string | undefined, opts: { platform?: string; auth?: string }, progress: (m: JsonMessage) => void): Promise<unknown>;
  save(names: string[]): Readable;
  load(body: Readable, quiet: boolean): Promise<string[]>;
  prune(opts: { filters?: Filters }): Promise<PruneReport>;
}

export function imageRoutes(b: ImagesBackend): Route[] {
  return [
    {
      method: 'GET', path: '/images/json', handler: (r) => {
        const filters = filtersParam(r.query);
        // The old `filter=NAME` parameter is the reference filter.
        const legacy = r.query.get('filter');
        if (legacy) filters['reference'] = [...(filters['reference'] ?? []), legacy];
        sendJson(r.res, 200, b.list({ all: boolParam(r.query, 'all'), filters, sharedSize: boolParam(r.query, 'shared-size') }));
      },
    },
    { method: 'GET', path: '/images/get', handler: (r) => sendTar(r.res, b.save(r.query.getAll('names'))) },
    { method: 'POST', path: '/images/load', handler: async (r) => {
      const quiet = boolParam(r.query, 'quiet');
      const lines = await b.load(r.raw, quiet);
      const out = new JsonStream(r.res);
      for (const l of lines) out.write({ stream: l + '\n' });
      out.end();
    } },
    { method: 'POST', path: '/images/prune', handler: async (r) => sendJson(r.res, 200, await b.prune({ filters: filtersParam(r.query) })) },
    { method: 'POST', path: '/images/create', handler: async (r) => {
      const q = r.query;
      const fromSrc = q.get('fromSrc');
      const fromImage = q.get('fromImage');
      const out = new JsonStream(r.res);
      try {
        if (fromSrc) {
          const source = fromSrc === '-' ? r.raw : parseUrl(fromSrc);
          const id = await b.importFrom(source, {
            repo: q.get('repo') || undefined, tag: q.get('tag') || undefined, changes: q.getAll('changes'),
            message: q.get('message') || undefined, platform: q.get('platform') || undefined,
          }, (status) => out.write({ status }));
          out.write({ status: id });
        } else if (fromImage) {
          if (!b.pull) throw new NotImplemented('pulling images from a registry is not available yet');
          await b.pull(fromImage, q.get('tag') || undefined, { platform: q.get('platform') || undefined, auth: r.raw.headers['x-registry-auth'] as string | undefined }, (m) => out.write(m));
        } else {
          throw new InvalidArgument('either fromSrc or fromImage must be given');
        }
      } catch (err) {
        // Before anything was streamed the error is a plain HTTP error; after, a stream message.
        if (!r.res.headersSent) throw err;
        out.error(err instanceof Error ? err.message : String(err));
      }
      out.end();
    } },
    { method: 'GET', path: '/images/{name*}/json', handler: async (r) => sendJson(r.res, 200, await b.inspect(r.params['name']!)) },
    { method: 'GET', path: '/images/{name*}/history', handler: async (r) => sendJson(r.res, 200, await b.history(r.params['name']!)) },
    { method: 'GET', path: '/images/{name*}/get', handler: (r) => sendTar(r.res, b.save([r.params['name']!])) },
    { method: 'POST', path: '/images/{name*}/tag', handler: (r) => {
      const repo = r.query.get('repo');
      if (!repo) throw new InvalidArgument('repository name (repo) is required');
      const tag = r.query.get('tag');
      b.tag(r.params['name']!, tag ? `${repo}:${tag}` : repo);
      r.res.writeHead(201);
      r.res.end();
    } },
    { method: 'DELETE', path: '/images/{name*}', handler: async (r) => {
      sendJson(r.res, 200, await b.remove(r.params['name']!, { force: boolParam(r.query, 'force'), noprune: boolParam(r.query, 'noprune') }));
    } },
  ];
}

function parseUrl(s: string): URL {
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return u;
  } catch {
    throw new InvalidArgument(`invalid import source: ${s} (a URL or '-')`);
  }
}

/** Streams a tar; a failure before the first byte becomes a normal error response. */
async function sendTar(res: import('node:http').ServerResponse, tar: Readable): Promise<void> {
  const it = tar[Symbol.asyncIterator]();
  const first = await it.next(); // throws NotFound etc. before headers go out
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  if (!first.done) res.write(first.value);
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    if (!res.write(r.value)) await new Promise((ok) => res.once('drain', ok));
  }
  res.end();
}
