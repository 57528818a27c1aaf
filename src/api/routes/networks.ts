// The network endpoints: list, inspect, create, remove, prune, connect, disconnect.
import type { Route } from '../server.js';
import { boolParam, filtersParam, readJson, sendJson, sendNoContent } from '../http.js';
import { InvalidArgument } from '../../errdefs/index.js';
import type { CreateNetworkRequest, EndpointSettings, NetworkRecord } from '../../network/index.js';

export interface NetworksBackend {
  list(filters: Record<string, string[]>): NetworkRecord[];
  resolve(ref: string): NetworkRecord;
  view(n: NetworkRecord): Record<string, unknown>;
  create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): void;
  prune(filters: Record<string, string[]>): string[];
  connect(network: string, container: string, ec?: EndpointSettings): Promise<void>;
  disconnect(network: string, container: string, force: boolean): void;
  /** Emits a network event (create, destroy, connect, disconnect). */
  event(action: string, id: string, attributes: Record<string, string>): void;
}

export function networkRoutes(b: NetworksBackend): Route[] {
  return [
    { method: 'GET', path: '/networks', handler: (r) => sendJson(r.res, 200, b.list(filtersParam(r.query)).map((n) => b.view(n))) },
    { method: 'GET', path: '/networks/{id}', handler: (r) => sendJson(r.res, 200, b.view(b.resolve(r.params['id']!))) },
    { method: 'POST', path: '/networks/create', handler: async (r) => {
      const body = await readJson<CreateNetworkRequest & { CheckDuplicate?: boolean }>(r.raw);
      if (!body || typeof body.Name !== 'string') throw new InvalidArgument('network name is required');
      const out = await b.create(body);
      b.event('create', out.Id, { name: body.Name, type: body.Driver || 'bridge' });
      sendJson(r.res, 201, out);
    } },
    { method: 'DELETE', path: '/networks/{id}', handler: (r) => {
      const n = b.resolve(r.params['id']!);
      b.remove(n.Id);
      b.event('destroy', n.Id, { name: n.Name, type: n.Driver });
      sendNoContent(r.res);
    } },
    { method: 'POST', path: '/networks/prune', handler: (r) => {
      const deleted = b.prune(filtersParam(r.query));
      sendJson(r.res, 200, { NetworksDeleted: deleted });
    } },
    { method: 'POST', path: '/networks/{id}/connect', handler: async (r) => {
      const body = await readJson<{ Container?: string; EndpointConfig?: EndpointSettings }>(r.raw);
      if (!body?.Container) throw new InvalidArgument('container is required');
      const n = b.resolve(r.params['id']!);
      await b.connect(n.Id, body.Container, body.EndpointConfig ?? {});
      b.event('connect', n.Id, { container: body.Container, name: n.Name, type: n.Driver });
      sendNoContent(r.res, 200);
    } },
    { method: 'POST', path: '/networks/{id}/disconnect', handler: async (r) => {
      const body = await readJson<{ Container?: string; Force?: boolean }>(r.raw);
      if (!body?.Container) throw new InvalidArgument('container is required');
      const n = b.resolve(r.params['id']!);
      b.disconnect(n.Id, body.Container, !!body.Force || boolParam(r.query, 'force'));
      b.event('disconnect', n.Id, { container: body.Container, name: n.Name, type: n.Driver });
      sendNoContent(r.res, 200);
    } },
  ];
}
