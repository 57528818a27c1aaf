// The exec endpoints: create an exec instance, start it on a hijacked connection (multiplexed
// frames without a TTY, raw bytes with one), resize its terminal, inspect its exit code.
import type { Duplex } from 'node:stream';
import type { Route } from '../server.js';
import { intParam, readJson, sendJson, sendNoContent, type Request } from '../http.js';
import { frame, StreamType } from '../stream.js';
import { InvalidArgument } from '../../errdefs/index.js';
import type { ExecConfig, ExecManager } from '../../containers/index.js';

export type ExecBackend = Pick<ExecManager, 'create' | 'start' | 'inspect' | 'resize' | 'get'>;

export function execRoutes(b: ExecBackend): Route[] {
  const start = async (r: Request, sock: Duplex, upgraded: boolean, headIn?: Buffer) => {
    let head = headIn;
    let body: StartBody = (r as Request & { body?: StartBody }).body ?? {};
    if (upgraded) {
      const read = await readUpgradeBody(r, sock, headIn ?? Buffer.alloc(0));
      head = read.rest;
      body = parseBody(read.body);
    }
    const e = b.get(r.params['id']!);
    const tty = body.Tty ?? !!e.config.Tty;
    if (body.ConsoleSize) e.config.ConsoleSize = body.ConsoleSize;
    if (body.Detach) {
      void b.start(e.ID, { stdout: () => {}, stderr: () => {} }).catch(() => {});
      sock.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const contentType = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
    sock.write(upgraded
      ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n\r\n`);
    const send = (type: StreamType) => (d: Buffer) => {
      if (!sock.writable) return;
      sock.write(tty ? d : frame(type, d));
    };
    if (head?.length) sock.unshift(head);
    try {
      await b.start(e.ID, {
        stdin: e.config.AttachStdin ? sock : undefined,
        stdout: e.config.AttachStdout !== false ? send(StreamType.Stdout) : () => {},
        stderr: e.config.AttachStderr !== false ? send(StreamType.Stderr) : () => {},
      });
    } catch (err) {
      send(StreamType.Stderr)(Buffer.from(`${(err as Error).message}\n`));
    }
    sock.end();
  };
  return [
    { method: 'POST', path: '/containers/{id}/exec', handler: async (r) => {
      const body = (await readJson<ExecConfig>(r.raw)) ?? ({} as ExecConfig);
      sendJson(r.res, 201, { Id: b.create(r.params['id']!, body) });
    } },
    {
      method: 'POST', path: '/exec/{id}/start',
      handler: async (r) => {
        b.get(r.params['id']!); // 404 before hijacking
        const body = (await readJson<StartBody>(r.raw)) ?? {};
        (r as Request & { body?: unknown }).body = body;
        const sock = r.raw.socket;
        r.res.detachSocket(sock);
        await start(r, sock, false);
      },
      upgrade: async (r, socket, head) => start(r, socket, true, head),
    },
    { method: 'POST', path: '/exec/{id}/resize', handler: (r) => {
      b.resize(r.params['id']!, intParam(r.query, 'h') ?? 0, intParam(r.query, 'w') ?? 0);
      sendNoContent(r.res, 200);
    } },
    { method: 'GET', path: '/exec/{id}/json', handler: (r) => sendJson(r.res, 200, b.inspect(r.params['id']!)) },
  ];
}

interface StartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number];
}

function parseBody(buf: Buffer): StartBody {
  if (!buf.length) return {};
  try {
    return JSON.parse(buf.toString('utf8')) as StartBody;
  } catch {
    throw new InvalidArgument('invalid JSON in request body');
  }
}

/** Node hands an upgraded request's body to the socket: take Content-Length bytes from there. */
async function readUpgradeBody(r: Request, sock: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const len = Number(r.raw.headers['content-length'] ?? 0);
  let buf = head;
  while (buf.length < len) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer) => {
        sock.pause();
        cleanup();
        resolve(d);
      };
      const onEnd = () => {
        cleanup();
        resolve(null);
      };
      const cleanup = () => {
        sock.off('data', onData);
        sock.off('end', onEnd);
      };
      sock.on('data', onData);
      sock.once('end', onEnd);
      sock.resume();
    });
    if (!chunk) break;
    buf = Buffer.concat([buf, chunk]);
  }
  return { body: buf.subarray(0, len), rest: buf.subarray(len) };
}
