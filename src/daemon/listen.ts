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

/**
 * Refuses a unix socket another process answers on. Called before the daemon builds anything, so
 * a refused start leaves no bridge, rule or record behind.
 */
export async function checkFree(l: Listener): Promise<void> {
  if (l.kind === 'unix') {
    if (existsSync(l.path) && (await socketAnswers(l.path))) {
      throw new FailedPrecondition(`socket ${l.path} is in use by another process`, { hint: 'stop that daemon first, or pass another -H' });
    }
    return;
  }
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new FailedPrecondition(`cannot listen on ${l.host}:${l.port}: ${err.code ?? err.message}`)));
    probe.listen(l.port, l.host, () => probe.close(() => resolve()));
  });
}

export async function listen(server: http.Server, l: Listener): Promise<void> {
  if (l.kind === 'unix') {
    mkdirSync(path.dirname(l.path), { recursive: true });
    if (existsSync(l.path)) {
      await checkFree(l);
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
