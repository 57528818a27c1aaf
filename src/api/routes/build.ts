// POST /build: the classic builder's endpoint. The body is the context (a tar, possibly
// compressed, or a bare Dockerfile); progress is Docker's JSON stream of `stream` lines, an `aux`
// message with the image ID, and `errorDetail` on failure.
import type { Readable } from 'node:stream';
import type { Route } from '../server.js';
import { boolParam, sendJson } from '../http.js';
import { JsonStream, type JsonMessage } from '../stream.js';
import { InvalidArgument } from '../../errdefs/index.js';

export interface BuildRouteOptions {
  tags: string[];
  dockerfileName?: string;
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  rm: boolean;
  forceRm: boolean;
  networkMode?: string;
  remote?: string;
  signal: AbortSignal;
}

export interface BuildBackend {
  build(body: Readable, opts: BuildRouteOptions, out: { stream(text: string): void; aux(value: unknown): void }): Promise<string>;
  prune(): { CachesDeleted: string[]; SpaceReclaimed: number };
}

function jsonParam<T>(q: URLSearchParams, name: string): T | undefined {
  const v = q.get(name);
  if (!v) return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw new InvalidArgument(`invalid ${name} parameter: ${v}`);
  }
}

export function buildRoutes(b: BuildBackend): Route[] {
  return [{
    method: 'POST', path: '/build/prune', handler: (r) => sendJson(r.res, 200, b.prune()),
  }, {
    method: 'POST', path: '/build', handler: async (r) => {
      const q = r.query;
      const quiet = boolParam(q, 'q');
      const abort = new AbortController();
      // The client going away (Ctrl-C) cancels the build.
      const gone = () => {
        if (!r.res.writableFinished) abort.abort();
      };
      r.res.on('close', gone);
      r.raw.socket.on('close', gone);
      const opts: BuildRouteOptions = {
        tags: q.getAll('t').filter(Boolean),
        dockerfileName: q.get('dockerfile') || undefined,
        buildArgs: jsonParam(q, 'buildargs') ?? {},
        labels: jsonParam(q, 'labels') ?? {},
        target: q.get('target') || undefined,
        noCache: boolParam(q, 'nocache'),
        pull: boolParam(q, 'pull'),
        rm: boolParam(q, 'rm', true),
        forceRm: boolParam(q, 'forcerm'),
        networkMode: q.get('networkmode') || undefined,
        remote: q.get('remote') || undefined,
        signal: abort.signal,
      };
      const out = new JsonStream(r.res);
      const send = (m: JsonMessage) => {
        if (!r.res.destroyed) out.write(m);
      };
      try {
        const id = await b.build(r.raw, opts, {
          stream: (text) => {
            if (!quiet) send({ stream: text });
          },
          aux: (value) => send({ aux: value }),
        });
        if (quiet) send({ stream: id + '\n' });
      } catch (err) {
        // A failure before any output is a plain HTTP error, as Docker answers a bad Dockerfile.
        if (!r.res.headersSent) throw err;
        const message = err instanceof Error ? err.message : String(err);
        const code = (err as { exitCode?: number }).exitCode;
        send({ errorDetail: code !== undefined ? { code, message } : { message }, error: message });
      }
      if (!r.res.destroyed) out.end();
    },
  }];
}
