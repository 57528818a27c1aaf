// Listening on the -H addresses: unix sockets (a stale socket file is replaced; a live one is
// refused) and tcp://HOST:PORT.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type http from 'node:http';
import { FailedPrecondition, InvalidArgument } from '../errdefs/index.js';

export type Listener = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseHost(h: string): Listener {
  if (h.startsWith('unix://')) return { kind: 'unix', path: h.slice('unix://'.length) };
  if (h.startsWith('/')) return { kind: 'unix', path: h };
  if (h.startsWith('tcp://')) {
    const u = new URL(h.replace(/^tcp:/, 'http:'));
    if (!u.port) throw new InvalidArgument(`invalid host ${h}: a port is required`);
    return { kind: 'tcp', host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) };
  }
  throw new InvalidArgument(`invalid host ${h}: use unix:///path or tcp://HOST:PORT`);
}

function socketAnswers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function listen(server: http.Server, l: Listener): Promise<void> {
  if (l.kind === 'unix') {
    mkdirSync(path.dirname(l.path), { recursive: true });
    if (existsSync(l.path)) {
      if (await socketAnswers(l.path)) throw new FailedPrecondition(`socket ${l.path} is in use by another process`);
      rmSync(l.path, { force: true }); // stale: left by a daemon that died
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(l.path, 0o660);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(l.port, l.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
