// The container endpoints: create, start, stop, kill, wait, remove, list, inspect, logs, attach.
import type { Duplex, Writable } from 'node:stream';
import type { Route } from '../server.js';
import { boolParam, filtersParam, intParam, readJson, sendJson, sendNoContent, type Request } from '../http.js';
import { frame, StreamType } from '../stream.js';
import { InvalidArgument } from '../../errdefs/index.js';
import type { ContainerService, CreateRequest } from '../../containers/index.js';
import type { ContainerConfig, ContainerRecord, HostConfig } from '../../containers/types.js';
import { readLogs, type LogRecord } from '../../runtime/index.js';
import { parseUntil } from '../../images/filters.js';

export type ContainersBackend = ContainerService & {
  imageName(id: string): string;
};

function humanSince(iso: string): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  return `${Math.floor(h / 24)} days`;
}

function statusText(c: ContainerRecord): string {
  const st = c.State;
  if (st.Running) return `Up ${humanSince(st.StartedAt)}${st.Paused ? ' (Paused)' : ''}`;
  if (st.Status === 'created') return 'Created';
  return `Exited (${st.ExitCode}) ${humanSince(st.FinishedAt)} ago`;
}

function summary(c: ContainerRecord, imageName: string) {
  const command = [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
  return {
    Id: c.Id, Names: [c.Name], Image: imageName, ImageID: c.Image, Command: command,
    Created: Math.floor(Date.parse(c.Created) / 1000), Ports: [], Labels: c.Config.Labels ?? {},
    State: c.State.Status, Status: statusText(c), HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: {} }, Mounts: [],
  };
}

function inspect(c: ContainerRecord, b: ContainersBackend) {
  const { snapshotKey: _s, ...pub } = c;
  void _s;
  return {
    ...pub,
    ResolvConfPath: `${b.bundle(c.Id)}/resolv.conf`, HostnamePath: `${b.bundle(c.Id)}/hostname`, HostsPath: `${b.bundle(c.Id)}/hosts`,
    LogPath: b.logPath(c.Id), Driver: 'overlay2', Platform: 'linux', MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    ExecIDs: null, GraphDriver: { Name: 'overlay2', Data: null }, Mounts: [],
    NetworkSettings: { Bridge: '', SandboxID: '', Ports: {}, SandboxKey: '', Networks: {}, IPAddress: '', Gateway: '', MacAddress: '' },
  };
}

function matches(c: ContainerRecord, f: Record<string, string[]>, imageName: string): boolean {
  for (const [k, vals] of Object.entries(f)) {
    const ok = vals.some((v) => {
      switch (k) {
        case 'status': return c.State.Status === v;
        case 'name': return new RegExp(v).test(c.Name.slice(1));
        case 'id': return c.Id.startsWith(v);
        case 'label': {
          const eq = v.indexOf('=');
          const labels = c.Config.Labels ?? {};
          return eq < 0 ? v in labels : labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'ancestor': return imageName === v || c.Image === v || c.Image.slice(7).startsWith(v) || (c.Config.Image ?? '') === v;
        case 'exited': return !c.State.Running && c.State.Status === 'exited' && String(c.State.ExitCode) === v;
        case 'before': case 'since': return true;
        default: throw new InvalidArgument(`invalid filter '${k}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** Writes log records to `out`, multiplexed unless the container has a TTY. */
async function pipeLogs(records: AsyncIterable<LogRecord>, out: Writable, tty: boolean, opts: { stdout: boolean; stderr: boolean; timestamps: boolean }): Promise<void> {
  for await (const r of records) {
    if (r.stream === 'stdout' && !opts.stdout) continue;
    if (r.stream === 'stderr' && !opts.stderr) continue;
    const data = opts.timestamps ? Buffer.concat([Buffer.from(r.time.replace(/\+00:00$/, 'Z') + ' '), r.data]) : r.data;
    const chunk = tty ? data : frame(r.stream === 'stdout' ? StreamType.Stdout : StreamType.Stderr, data);
    if (out.destroyed) return;
    if (!out.write(chunk)) await new Promise((ok) => out.once('drain', ok));
  }
}

function timeParamNs(v: string | null): bigint | undefined {
  if (!v || v === '0') return undefined;
  return BigInt(Math.floor(parseUntil(v))) * 1_000_000n;
}

export function containerRoutes(b: ContainersBackend): Route[] {
  const attach = async (r: Request, out: Duplex | Writable, upgraded: boolean) => {
    const c = b.resolve(r.params['id']!);
    const tty = !!c.Config.Tty;
    const contentType = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
    out.write(upgraded
      ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n\r\n`);
    if (!boolParam(r.query, 'stream') && !boolParam(r.query, 'logs')) {
      out.end();
      return;
    }
    const ac = new AbortController();
    out.on('close', () => ac.abort());
    // Output comes from conmon's log: a container attached before it starts is followed from its
    // start; attaching to a running one shows only what comes next (all of it with logs=1).
    const wasRunning = c.State.Running;
    await b.startedOrExited(c.Id);
    const current = b.resolve(c.Id);
    const stopped = current.State.Running ? b.exited(c.Id) : Promise.resolve();
    const tail = boolParam(r.query, 'logs') || !wasRunning ? undefined : 0;
    await pipeLogs(readLogs(b.logPath(c.Id), { follow: true, stopped, signal: ac.signal, tail }), out, tty, {
      stdout: boolParam(r.query, 'stdout'), stderr: boolParam(r.query, 'stderr'), timestamps: false,
    });
    out.end();
  };
  return [
    { method: 'POST', path: '/containers/create', handler: async (r) => {
      const body = (await readJson<ContainerConfig & { HostConfig?: HostConfig }>(r.raw)) ?? {};
      const { HostConfig: hostConfig, ...config } = body as ContainerConfig & { HostConfig?: HostConfig; NetworkingConfig?: unknown };
      delete (config as Record<string, unknown>)['NetworkingConfig'];
      const req: CreateRequest = { name: r.query.get('name') ?? undefined, config, hostConfig };
      sendJson(r.res, 201, await b.create(req));
    } },
    { method: 'GET', path: '/containers/json', handler: (r) => {
      const all = boolParam(r.query, 'all');
      const limit = intParam(r.query, 'limit');
      const f = filtersParam(r.query);
      let list = b.all().filter((c) => (all || (limit !== undefined && limit > 0) || c.State.Running) && matches(c, f, b.imageName(c.Image)));
      list.sort((x, y) => Date.parse(y.Created) - Date.parse(x.Created));
      if (limit !== undefined && limit > 0) list = list.slice(0, limit);
      sendJson(r.res, 200, list.map((c) => summary(c, c.Config.Image ?? b.imageName(c.Image))));
    } },
    { method: 'GET', path: '/containers/{id}/json', handler: (r) => sendJson(r.res, 200, inspect(b.resolve(r.params['id']!), b)) },
    { method: 'POST', path: '/containers/{id}/start', handler: async (r) => {
      const c = b.resolve(r.params['id']!);
      if (c.State.Running) return sendNoContent(r.res, 304);
      await b.start(c.Id);
      sendNoContent(r.res);
    } },
    { method: 'POST', path: '/containers/{id}/stop', handler: async (r) => {
      const stopped = await b.stop(r.params['id']!, intParam(r.query, 't') ?? intParam(r.query, 'timeout'), r.query.get('signal') ?? undefined);
      sendNoContent(r.res, stopped ? 204 : 304);
    } },
    { method: 'POST', path: '/containers/{id}/restart', handler: async (r) => {
      await b.stop(r.params['id']!, intParam(r.query, 't'));
      await b.start(r.params['id']!);
      sendNoContent(r.res);
    } },
    { method: 'POST', path: '/containers/{id}/kill', handler: async (r) => {
      await b.kill(r.params['id']!, r.query.get('signal') || 'KILL');
      sendNoContent(r.res);
    } },
    { method: 'POST', path: '/containers/{id}/wait', handler: async (r) => {
      const id = b.resolve(r.params['id']!).Id;
      r.res.writeHead(200, { 'Content-Type': 'application/json' });
      r.res.flushHeaders();
      const code = await b.wait(id, r.query.get('condition') || 'not-running');
      r.res.end(JSON.stringify({ StatusCode: code, Error: null }) + '\n');
    } },
    { method: 'DELETE', path: '/containers/{id}', handler: async (r) => {
      await b.remove(r.params['id']!, { force: boolParam(r.query, 'force') });
      sendNoContent(r.res);
    } },
    { method: 'GET', path: '/containers/{id}/logs', handler: async (r) => {
      const c = b.resolve(r.params['id']!);
      const stdout = boolParam(r.query, 'stdout');
      const stderr = boolParam(r.query, 'stderr');
      if (!stdout && !stderr) throw new InvalidArgument('You must choose at least one stream');
      const tailParam = r.query.get('tail');
      const tail = tailParam && tailParam !== 'all' ? Number(tailParam) : undefined;
      const ac = new AbortController();
      r.raw.on('close', () => ac.abort());
      r.res.writeHead(200, { 'Content-Type': c.Config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
      r.res.flushHeaders();
      await pipeLogs(b.logs(c.Id, { follow: boolParam(r.query, 'follow'), tail, sinceNs: timeParamNs(r.query.get('since')), untilNs: timeParamNs(r.query.get('until')), signal: ac.signal }), r.res, !!c.Config.Tty, {
        stdout, stderr, timestamps: boolParam(r.query, 'timestamps'),
      });
      r.res.end();
    } },
    {
      method: 'POST', path: '/containers/{id}/attach',
      handler: async (r) => {
        // Without an Upgrade header the response body is the stream (older clients).
        const sock = r.raw.socket;
        r.res.detachSocket(sock);
        await attach(r, sock, false);
      },
      upgrade: async (r, socket) => {
        // A client that hangs up (ECONNRESET) must not take the daemon down with an unhandled 'error'.
        socket.on('error', () => socket.destroy());
        await attach(r, socket, true);
      },
    },
  ];
}
