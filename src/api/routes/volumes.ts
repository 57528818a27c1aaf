// The volume endpoints (Engine API: Volume). Routes only translate HTTP; the backend does the work.
import type { Route } from '../server.js';
import { boolParam, filtersParam, readJson, sendJson, sendNoContent } from '../http.js';
import type { Volume, VolumeCreateOptions } from '../../volumes/index.js';

export interface VolumesBackend {
  list(filters: Record<string, string[]>): Volume[];
  create(opts: VolumeCreateOptions): Volume;
  inspect(name: string): Volume;
  remove(name: string, opts: { force?: boolean }): void;
  prune(filters: Record<string, string[]>): { VolumesDeleted: string[] | null; SpaceReclaimed: number };
}

export function volumeRoutes(b: VolumesBackend): Route[] {
  return [
    { method: 'GET', path: '/volumes', handler: (r) => sendJson(r.res, 200, { Volumes: b.list(filtersParam(r.query)), Warnings: null }) },
    { method: 'POST', path: '/volumes/create', handler: async (r) => sendJson(r.res, 201, b.create(((await readJson(r.raw)) ?? {}) as VolumeCreateOptions)) },
    { method: 'POST', path: '/volumes/prune', handler: (r) => sendJson(r.res, 200, b.prune(filtersParam(r.query))) },
    { method: 'GET', path: '/volumes/{name}', handler: (r) => sendJson(r.res, 200, b.inspect(r.params['name']!)) },
    { method: 'DELETE', path: '/volumes/{name}', handler: (r) => {
      b.remove(r.params['name']!, { force: boolParam(r.query, 'force') });
      sendNoContent(r.res);
    } },
  ];
}
