// /_ping, /version, /info, /events and /system/df.
import type { Route } from '../server.js';
import { API_VERSION, MIN_API_VERSION } from '../server.js';
import { filtersParam, sendJson } from '../http.js';
import type { EngineEvent } from '../../daemon/events.js';
import { parseUntil } from '../../images/filters.js';
import { InvalidArgument } from '../../errdefs/index.js';
import { matchAllLabels } from '../../lib/labels.js';

export interface SystemBackend {
  version(): { Version: string; GitCommit: string; GoVersion: string; Os: string; Arch: string; KernelVersion: string; BuildTime: string };
  info(): Promise<Record<string, unknown>>;
  diskUsage(opts: { types?: string[] }): Promise<Record<string, unknown>>;
  subscribe(fn: (e: EngineEvent) => void, sinceNs?: number): () => void;
}

function matchesEventFilters(e: EngineEvent, f: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(f)) {
    if (!values.length) continue;
    const attrs = e.Actor.Attributes;
    const ok = values.some((v) => {
      switch (key) {
        case 'type': return e.Type === v;
        case 'event': return e.Action === v || e.Action.startsWith(v + ':');
        case 'image': return attrs['image'] === v || (e.Type === 'image' && (e.Actor.ID === v || attrs['name'] === v));
        case 'container': return e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs['name'] === v);
        case 'volume': return e.Type === 'volume' && e.Actor.ID === v;
        case 'network': return e.Type === 'network' && (e.Actor.ID.startsWith(v) || attrs['name'] === v);
        case 'label': return matchAllLabels(attrs, values);
        case 'scope': return v === 'local';
        case 'daemon': return e.Type === 'daemon';
        default: throw new InvalidArgument(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** `since`/`until` for events: Unix seconds with optional fraction, RFC 3339, or a duration. */
function timeParamNs(v: string | null): number | undefined {
  if (!v) return undefined;
  return Math.floor(parseUntil(v) * 1e6);
}

export function systemRoutes(b: SystemBackend): Route[] {
  const ping = (res: import('node:http').ServerResponse, head: boolean) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1', 'Swarm': 'inactive' });
    res.end(head ? undefined : 'OK');
  };
  return [
    { method: 'GET', path: '/_ping', handler: (r) => ping(r.res, false) },
    { method: 'HEAD', path: '/_ping', handler: (r) => ping(r.res, true) },
    {
      method: 'GET', path: '/version', handler: (r) => {
        const v = b.version();
        sendJson(r.res, 200, {
          Platform: { Name: 'berth' },
          Components: [{ Name: 'Engine', Version: v.Version, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: v.Os, Arch: v.Arch, KernelVersion: v.KernelVersion, GitCommit: v.GitCommit } }],
          Version: v.Version, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: v.GitCommit, GoVersion: v.GoVersion,
          Os: v.Os, Arch: v.Arch, KernelVersion: v.KernelVersion, BuildTime: v.BuildTime,
        });
      },
    },
    { method: 'GET', path: '/info', handler: async (r) => sendJson(r.res, 200, await b.info()) },
    {
      method: 'GET', path: '/system/df', handler: async (r) => {
        const types = r.query.getAll('type');
        sendJson(r.res, 200, await b.diskUsage({ types: types.length ? types : undefined }));
      },
    },
    {
      method: 'GET', path: '/events', handler: (r) => {
        const filters = filtersParam(r.query);
        const since = timeParamNs(r.query.get('since'));
        const until = timeParamNs(r.query.get('until'));
        r.res.writeHead(200, { 'Content-Type': 'application/json' });
        r.res.flushHeaders();
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          unsubscribe();
          clearTimeout(timer);
          r.res.end();
        };
        const unsubscribe = b.subscribe((e) => {
          if (done) return;
          if (until !== undefined && e.timeNano > until) return;
          if (matchesEventFilters(e, filters)) r.res.write(JSON.stringify(e) + '\n');
        }, since);
        const timer = until !== undefined ? setTimeout(finish, Math.max(0, until / 1e6 - Date.now())) : undefined;
        if (until !== undefined && until / 1e6 <= Date.now()) finish();
        r.raw.on('close', finish);
      },
    },
  ];
}
