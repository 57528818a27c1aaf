// Published ports, served by a small userland proxy inside berthd (one listening socket per
// published port, a pair of sockets per connection), instead of iptables DNAT: it works for
// 127.0.0.1 without route_localnet, a taken host port fails the bind the way Docker reports it,
// and nothing is left in the kernel when berthd goes. The cost: ports answer only while berthd runs.
import dgram from 'node:dgram';
import net from 'node:net';
import { Conflict, InvalidArgument } from '../errdefs/index.js';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}
export type PortMap = Record<string, PortBinding[] | null>;

export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  /** A host range (`-p 8000-8010:80`): the first free port from hostPort to this one is taken. */
  hostPortEnd?: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

export interface Proxy {
  port: number;
  close(): void;
}

/** Docker's port key: `80/tcp`. */
export function parsePortKey(key: string): { port: number; endPort: number; proto: 'tcp' | 'udp' } {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(key);
  if (!m) throw new InvalidArgument(`invalid port specification: "${key}"`);
  if (m[3] === 'sctp') throw new InvalidArgument('sctp ports are not supported');
  return { port: Number(m[1]), endPort: Number(m[2] ?? m[1]), proto: (m[3] ?? 'tcp') as 'tcp' | 'udp' };
}

function hostRange(spec: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec || '0');
  const [from, to] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
  if (!(from >= 0 && to <= 65535 && from <= to)) throw new InvalidArgument(`invalid port specification: "${spec}"`);
  return [from, to];
}

/**
 * Expands PortBindings (and, with publishAll, every exposed port) into single ports to publish. A
 * key that is a range (`80-82/tcp`, as the API allows) publishes each port of it, on the matching
 * port of an equally long host range, or anywhere in a host range to choose from.
 */
export function portsToPublish(bindings: PortMap | undefined, exposed: Record<string, unknown> | undefined, publishAll: boolean): PublishedPort[] {
  const all: PortMap = { ...(bindings ?? {}) };
  if (publishAll) for (const k of Object.keys(exposed ?? {})) if (!all[k]?.length) all[k] = [{ HostIp: '', HostPort: '' }];
  const out: PublishedPort[] = [];
  for (const [key, list] of Object.entries(all)) {
    const { port, endPort, proto } = parsePortKey(key);
    const count = endPort - port + 1;
    for (const b of list ?? []) {
      const [from, to] = hostRange(b.HostPort);
      const paired = count > 1 && to - from + 1 === count;
      if (count > 1 && from !== 0 && !paired && to !== from) {
        throw new InvalidArgument(`invalid ranges specified for container and host Ports: ${port}-${endPort} and ${b.HostPort}`);
      }
      for (let i = 0; i < count; i++) {
        const hostIp = b.HostIp || '0.0.0.0';
        if (paired || from === 0) out.push({ hostIp, hostPort: paired ? from + i : 0, containerPort: port + i, proto });
        else out.push({ hostIp, hostPort: from, ...(to > from ? { hostPortEnd: to } : {}), containerPort: port + i, proto });
      }
    }
  }
  return out;
}

function portTaken(hostIp: string, hostPort: number | string): Conflict {
  return new Conflict(`Bind for ${hostIp}:${hostPort} failed: port is already allocated`);
}

/**
 * Listens on hostIp:hostPort (0 picks a free port; with hostPortEnd, the first free port of the
 * range, as Docker does) and relays to target:port.
 */
export async function openProxy(p: PublishedPort, target: string): Promise<Proxy> {
  const open = (port: number) => (p.proto === 'tcp' ? tcpProxy({ ...p, hostPort: port }, target) : udpProxy({ ...p, hostPort: port }, target));
  const end = p.hostPortEnd ?? p.hostPort;
  for (let port = p.hostPort; port < end; port++) {
    try {
      return await open(port);
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
    }
  }
  try {
    return await open(end);
  } catch (err) {
    if (err instanceof Conflict && end > p.hostPort) throw portTaken(p.hostIp, `${p.hostPort}-${end}`);
    throw err;
  }
}

function tcpProxy(p: PublishedPort, target: string): Promise<Proxy> {
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    const upstream = net.connect({ host: target, port: p.containerPort });
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.resume();
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? portTaken(p.hostIp, p.hostPort) : err));
    server.listen({ host: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() });
    });
  });
}

function udpProxy(p: PublishedPort, target: string): Promise<Proxy> {
  const sock = dgram.createSocket('udp4');
  // One upstream socket per client address, so replies find their way back.
  const flows = new Map<string, dgram.Socket>();
  sock.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let up = flows.get(key);
    if (!up) {
      up = dgram.createSocket('udp4');
      up.on('message', (reply) => sock.send(reply, from.port, from.address));
      up.on('error', () => {});
      const timer = setInterval(() => {
        up!.close();
        flows.delete(key);
        clearInterval(timer);
      }, 60_000);
      timer.unref();
      flows.set(key, up);
    }
    up.send(msg, p.containerPort, target);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? portTaken(p.hostIp, p.hostPort) : err));
    sock.bind({ address: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      sock.removeAllListeners('error');
      sock.on('error', () => {});
      resolve({
        port: sock.address().port,
        close: () => {
          sock.close();
          for (const up of flows.values()) up.close();
        },
      });
    });
  });
}
