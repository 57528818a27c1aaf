// The container endpoints: create, start, stop, kill, wait, remove, list, inspect, logs, attach.
import type { Duplex, Writable } from 'node:stream';
import type { Route } from '../server.js';
import { boolParam, filtersParam, intParam, readJson, sendJson, sendNoContent, type Request } from '../http.js';
import { frame, StreamType } from '../stream.js';
import { InvalidArgument } from '../../errdefs/index.js';
import { log } from '../../lib/log.js';
import { stats, top, type ContainerFiles, type ContainerService, type CreateRequest } from '../../containers/index.js';
import type { ContainerConfig, ContainerRecord, HostConfig } from '../../containers/types.js';
import { parseTimeNs, readLogs, type LogRecord } from '../../runtime/index.js';
import { parseUntil } from '../../images/filters.js';
import { mountPointsOf } from '../../volumes/index.js';
import { matchAllLabels, matchLabel } from '../../lib/labels.js';

export type ContainersBackend = ContainerService & {
  imageName(id: string): string;
  /** What a list shows as the image: the name it was created from while that still names its image, else the ID. */
  listedImage(c: ContainerRecord): string;
  execIDs(id: string): string[];
  files: ContainerFiles;
  /** From the network service: NetworkSettings and the Ports of the list. */
  networkSettings?(id: string): Record<string, unknown>;
  portSummary?(id: string): unknown[];
  sizes?(c: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }>;
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

/** A container as GET /containers/json lists it (also used by GET /system/df). */
export function summary(c: ContainerRecord, imageName: string, b?: ContainersBackend) {
  const command = [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
  return {
    Id: c.Id, Names: [c.Name], Image: imageName, ImageID: c.Image, Command: command,
    Created: Math.floor(Date.parse(c.Created) / 1000), Ports: b?.portSummary?.(c.Id) ?? [], Labels: c.Config.Labels ?? {},
    State: c.State.Status, Status: statusText(c), HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: (b?.networkSettings?.(c.Id)?.['Networks'] as object | undefined) ?? {} }, Mounts: mountPointsOf(c.mounts),
  };
}

function inspect(c: ContainerRecord, b: ContainersBackend) {
  const { snapshotKey: _s, mounts: _m, ...pub } = c;
  void _s;
  void _m;
  return {
    ...pub,
    ResolvConfPath: `${b.bundle(c.Id)}/resolv.conf`, HostnamePath: `${b.bundle(c.Id)}/hostname`, HostsPath: `${b.bundle(c.Id)}/hosts`,
    LogPath: b.logPath(c.Id), Driver: 'overlay2', Platform: 'linux', MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    ExecIDs: b.execIDs(c.Id).length ? b.execIDs(c.Id) : null, GraphDriver: { Name: 'overlay2', Data: null }, Mounts: mountPointsOf(c.mounts),
    NetworkSettings: b.networkSettings?.(c.Id) ?? { Bridge: '', SandboxID: '', Ports: {}, SandboxKey: '', Networks: {}, IPAddress: '', Gateway: '', MacAddress: '' },
  };
}

function matches(c: ContainerRecord, f: Record<string, string[]>, imageName: string): boolean {
  for (const [k, vals] of Object.entries(f)) {
    if (k === 'label') {
      if (!matchAllLabels(c.Config.Labels ?? {}, vals)) return false;
      continue;
    }
    const ok = vals.some((v) => {
      switch (k) {
        case 'status': return c.State.Status === v;
        case 'name': return new RegExp(v).test(c.Name.slice(1));
        case 'id': return c.Id.startsWith(v);
        case 'ancestor': return imageName === v || c.Image === v || c.Image.slice(7).startsWith(v) || (c.Config.Image ?? '') === v;
        case 'exited': return !c.State.Running && c.State.Status === 'exited' && String(c.State.ExitCode) === v;
        case 'volume': return (c.mounts ?? []).some((m) => m.Name === v || m.Destination === v || m.Source === v);
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

/** since/until to the nanosecond (a log line's own timestamp must select that line): Unix seconds with a fraction, RFC 3339, or a duration. */
function timeParamNs(v: string | null): bigint | undefined {
  if (!v || v === '0') return undefined;
  const unix = /^(\d+)(?:\.(\d{1,9})\d*)?$/.exec(v);
  if (unix) return BigInt(unix[1]!) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
  if (/^\d{4}-\d\d-\d\dT[\d:]+(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)) return parseTimeNs(v);
  return BigInt(Math.floor(parseUntil(v))) * 1_000_000n;
}

/** Docker's detach keys ("ctrl-p,ctrl-q" by default) as bytes. */
export function detachKeys(spec: string | undefined): Buffer {
  const keys = (spec || 'ctrl-p,ctrl-q').split(',').map((k) => {
    const m = /^ctrl-(.)$/i.exec(k.trim());
    if (m) {
      const ch = m[1]!.toLowerCase();
      const code = ch === '@' ? 0 : ch === '[' ? 27 : ch === '\\' ? 28 : ch === ']' ? 29 : ch === '^' ? 30 : ch === '_' ? 31 : ch.charCodeAt(0) - 96;
      if (code < 0 || code > 31) throw new InvalidArgument(`Invalid escape keys (${spec}) provided`);
      return code;
    }
    if (k.length !== 1) throw new InvalidArgument(`Invalid escape keys (${spec}) provided`);
    return k.charCodeAt(0);
  });
  return Buffer.from(keys);
}

/**
 * Client input to the container's stdin until the client ends it or, with a TTY, types the detach
 * keys (as Docker: without a TTY stdin is binary data and passes untouched).
 */
function forwardStdin(b: ContainersBackend, id: string, sock: Duplex, head: Buffer | undefined, keys: Buffer | undefined, ac: AbortController): void {
  const pipe = b.stdin(id);
  if (!pipe) return;
  let chain = Promise.resolve();
  const send = (data: Buffer) => {
    if (!data.length) return;
    // A container that exits takes its stdin with it: later input has nowhere to go, and a failed
    // write must not become an unhandled rejection in the daemon.
    chain = chain.then(() => pipe.write(data)).catch((err: Error) => log.debug('attach stdin write failed', { id, error: err.message }));
  };
  // Bytes that may begin the detach sequence are held back until it completes or breaks.
  let held = 0;
  const onData = (d: Buffer) => {
    if (!keys || (!held && !d.includes(keys[0]!))) return send(d);
    const out: number[] = [];
    for (const byte of d) {
      if (held && byte !== keys[held]) {
        out.push(...keys.subarray(0, held));
        held = 0;
      }
      if (byte !== keys[held]) {
        out.push(byte);
        continue;
      }
      if (++held === keys.length) {
        send(Buffer.from(out));
        sock.off('data', onData);
        ac.abort();
        void chain.then(() => sock.end());
        return;
      }
    }
    send(Buffer.from(out));
  };
  if (head?.length) onData(head);
  sock.on('data', onData);
  // The client's end of input ends the container's (StdinOnce) only without a TTY, as Docker: a
  // terminal's input has no end, and a detached client must leave the shell running.
  if (!keys) sock.once('end', () => void chain.then(() => b.closeStdin(id)));
}

export function containerRoutes(b: ContainersBackend): Route[] {
  const attach = async (r: Request, out: Duplex | Writable, upgraded: boolean, head?: Buffer) => {
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
    const release = b.hold(c.Id);
    try {
      // Output comes from conmon's log: a container attached before it starts is followed from its
      // start; attaching to a running one shows only what comes next (all of it with logs=1).
      const wasRunning = c.State.Running;
      await b.startedOrExited(c.Id);
      if (boolParam(r.query, 'stdin') && 'read' in out) forwardStdin(b, c.Id, out as Duplex, head, tty ? detachKeys(r.query.get('detachKeys') ?? c.Config.DetachKeys) : undefined, ac);
      const running = b.get(c.Id)?.State.Running ?? false;
      const stopped = running ? b.exited(c.Id) : Promise.resolve();
      const tail = boolParam(r.query, 'logs') || !wasRunning ? undefined : 0;
      await pipeLogs(readLogs(b.logPath(c.Id), { follow: true, stopped, signal: ac.signal, tail }), out, tty, {
        stdout: boolParam(r.query, 'stdout'), stderr: boolParam(r.query, 'stderr'), timestamps: false,
      });
    } finally {
      release();
    }
    out.end();
  };
  return [
    { method: 'POST', path: '/containers/create', handler: async (r) => {
      const body = (await readJson<ContainerConfig & { HostConfig?: HostConfig }>(r.raw)) ?? {};
      const { HostConfig: hostConfig, ...config } = body as ContainerConfig & { HostConfig?: HostConfig; NetworkingConfig?: CreateRequest['networkingConfig'] };
      const networkingConfig = (config as { NetworkingConfig?: CreateRequest['networkingConfig'] }).NetworkingConfig;
      delete (config as Record<string, unknown>)['NetworkingConfig'];
      const req: CreateRequest = { name: r.query.get('name') ?? undefined, config, hostConfig, networkingConfig };
      sendJson(r.res, 201, await b.create(req));
    } },
    { method: 'GET', path: '/containers/json', handler: async (r) => {
      const all = boolParam(r.query, 'all');
      const limit = intParam(r.query, 'limit');
      const f = filtersParam(r.query);
      let list = b.all().filter((c) => (all || (limit !== undefined && limit > 0) || c.State.Running) && matches(c, f, b.imageName(c.Image)));
      list.sort((x, y) => Date.parse(y.Created) - Date.parse(x.Created));
      if (limit !== undefined && limit > 0) list = list.slice(0, limit);
      const withSize = boolParam(r.query, 'size') && b.sizes;
      sendJson(r.res, 200, await Promise.all(list.map(async (c) => ({ ...summary(c, b.listedImage(c), b), ...(withSize ? await b.sizes!(c) : {}) }))));
    } },
    { method: 'GET', path: '/containers/{id}/json', handler: async (r) => {
      const c = b.resolve(r.params['id']!);
      sendJson(r.res, 200, { ...inspect(c, b), ...(boolParam(r.query, 'size') && b.sizes ? await b.sizes(c) : {}) });
    } },
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
      await b.remove(r.params['id']!, { force: boolParam(r.query, 'force'), volumes: boolParam(r.query, 'v') });
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
      upgrade: async (r, socket, head) => attach(r, socket, true, head),
    },
    { method: 'POST', path: '/containers/{id}/pause', handler: async (r) => {
      await b.pause(r.params['id']!);
      sendNoContent(r.res);
    } },
    { method: 'POST', path: '/containers/{id}/unpause', handler: async (r) => {
      await b.unpause(r.params['id']!);
      sendNoContent(r.res);
    } },
    { method: 'POST', path: '/containers/{id}/rename', handler: (r) => {
      const name = r.query.get('name');
      if (!name) throw new InvalidArgument('name cannot be empty');
      b.rename(r.params['id']!, name);
      sendNoContent(r.res);
    } },
    { method: 'POST', path: '/containers/{id}/update', handler: async (r) => {
      const body = (await readJson<Partial<HostConfig>>(r.raw)) ?? {};
      sendJson(r.res, 200, { Warnings: await b.update(r.params['id']!, body) });
    } },
    { method: 'GET', path: '/containers/{id}/top', handler: async (r) => {
      sendJson(r.res, 200, await top(b, r.params['id']!, r.query.get('ps_args') || '-ef'));
    } },
    { method: 'GET', path: '/containers/{id}/stats', handler: async (r) => {
      const id = b.resolve(r.params['id']!).Id;
      const stream = boolParam(r.query, 'stream', true) && !boolParam(r.query, 'one-shot');
      const oneShot = boolParam(r.query, 'one-shot');
      r.res.writeHead(200, { 'Content-Type': 'application/json' });
      let prev: ReturnType<typeof stats>['sample'] | undefined;
      // Without one-shot, the first answer carries a 1 s sample so CPU % can be computed, as Docker.
      if (!oneShot) {
        prev = stats(b, id).sample;
        await new Promise((ok) => setTimeout(ok, stream ? 0 : 1000));
      }
      let closed = false;
      r.raw.on('close', () => (closed = true));
      do {
        if (!b.get(id)) break;
        const s = stats(b, id, prev);
        prev = s.sample;
        r.res.write(JSON.stringify(s.snapshot) + '\n');
        if (!stream) break;
        await new Promise((ok) => setTimeout(ok, 1000));
      } while (!closed && b.get(id)?.State.Running);
      r.res.end();
    } },
    { method: 'GET', path: '/containers/{id}/changes', handler: async (r) => sendJson(r.res, 200, await b.files.changes(r.params['id']!)) },
    { method: 'GET', path: '/containers/{id}/export', handler: async (r) => {
      const tar = await b.files.export(r.params['id']!);
      r.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      tar.pipe(r.res);
      r.raw.on('close', () => tar.destroy());
    } },
    { method: 'HEAD', path: '/containers/{id}/archive', handler: async (r) => {
      const st = await b.files.stat(r.params['id']!, r.query.get('path') ?? '');
      r.res.writeHead(200, { 'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(st)).toString('base64') });
      r.res.end();
    } },
    { method: 'GET', path: '/containers/{id}/archive', handler: async (r) => {
      const { stat, tar } = await b.files.getArchive(r.params['id']!, r.query.get('path') ?? '');
      r.res.writeHead(200, { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': Buffer.from(JSON.stringify(stat)).toString('base64') });
      tar.pipe(r.res);
      r.raw.on('close', () => tar.destroy());
    } },
    { method: 'PUT', path: '/containers/{id}/archive', handler: async (r) => {
      await b.files.putArchive(r.params['id']!, r.query.get('path') ?? '', r.raw);
      sendNoContent(r.res, 200);
    } },
    { method: 'POST', path: '/containers/prune', handler: async (r) => {
      const f = filtersParam(r.query);
      for (const k of Object.keys(f)) if (!['until', 'label', 'label!'].includes(k)) throw new InvalidArgument(`Invalid filter '${k}'`);
      const until = f['until']?.[0] ? parseUntil(f['until'][0]) : undefined;
      const labelOk = (c: ContainerRecord) => {
        const labels = c.Config.Labels ?? {};
        return matchAllLabels(labels, f['label']) && !(f['label!'] ?? []).some((v) => matchLabel(labels, v));
      };
      const gone = await b.prune((c) => (until === undefined || Date.parse(c.Created) < until) && labelOk(c));
      sendJson(r.res, 200, { ContainersDeleted: gone.length ? gone : null, SpaceReclaimed: 0 });
    } },
    { method: 'POST', path: '/commit', handler: async (r) => {
      const q = r.query;
      const container = q.get('container');
      if (!container) throw new InvalidArgument('No container specified');
      const config = (await readJson<Record<string, unknown>>(r.raw)) ?? undefined;
      const id = await b.files.commit(container, {
        repo: q.get('repo') || undefined, tag: q.get('tag') || undefined, comment: q.get('comment') || undefined,
        author: q.get('author') || undefined, changes: q.getAll('changes').filter(Boolean), pause: boolParam(q, 'pause', true),
        config: config && Object.keys(config).length ? config : undefined,
      });
      sendJson(r.res, 201, { Id: id });
    } },
    { method: 'POST', path: '/containers/{id}/resize', handler: (r) => {
      b.resize(r.params['id']!, intParam(r.query, 'h') ?? 0, intParam(r.query, 'w') ?? 0);
      sendNoContent(r.res, 200);
    } },
  ];
}
