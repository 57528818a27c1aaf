// A NETLINK_ROUTE socket through koffi: Node has no AF_NETLINK. The kernel handles an rtnetlink
// request inside send(), so its answer is queued by the time send returns and a blocking recv
// never waits. One request at a time; no dumps.
import { errnoName, lib, sysError } from './libc.js';

const c = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  send: lib.func('intptr_t send(int fd, const void *buf, size_t len, int flags)'),
  recv: lib.func('intptr_t recv(int fd, _Out_ void *buf, size_t len, int flags)'),
  close: lib.func('int close(int fd)'),
};

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
const NLMSG_ERROR = 2;
const NLMSG_HDRLEN = 16;

/** A netlink attribute: type and payload (nested attributes are a Buffer made by attrs()). */
export type Attr = [type: number, value: Buffer];

const align4 = (n: number) => (n + 3) & ~3;

/** Attributes laid out as the kernel wants them: u16 length, u16 type, payload padded to 4. */
export function attrs(list: Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const [type, value] of list) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(4 + value.length, 0);
    head.writeUInt16LE(type, 2);
    parts.push(head, value, Buffer.alloc(align4(value.length) - value.length));
  }
  return Buffer.concat(parts);
}

export const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
};
export const cstr = (s: string) => Buffer.from(`${s}\0`);

export class NetlinkError extends Error {
  constructor(readonly code: string, readonly errno: number, what: string) {
    super(`${what}: ${code}`);
  }
}

export class NetlinkSocket {
  private seq = Math.floor(Math.random() * 1e6);
  private readonly buf = Buffer.alloc(65536);

  private constructor(private fd: number) {}

  /** A socket in the calling thread's network namespace (it stays bound to it). */
  static open(): NetlinkSocket {
    const fd = Number(c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (fd < 0) throw sysError('socket(AF_NETLINK)');
    return new NetlinkSocket(fd);
  }

  /**
   * Sends one message (header + body) and returns the kernel's reply payload: the first non-error
   * message for a query, or an empty buffer for an ACK. A negative errno becomes a NetlinkError.
   */
  request(type: number, flags: number, body: Buffer, what: string): { type: number; payload: Buffer } {
    if (this.fd < 0) throw new Error('netlink socket is closed');
    const seq = ++this.seq;
    const head = Buffer.alloc(NLMSG_HDRLEN);
    head.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
    head.writeUInt16LE(type, 4);
    head.writeUInt16LE(flags | NLM_F_REQUEST, 6);
    head.writeUInt32LE(seq, 8);
    const msg = Buffer.concat([head, body]);
    if (Number(c.send(this.fd, msg, msg.length, 0)) < 0) throw sysError('netlink send', what);
    for (;;) {
      const n = Number(c.recv(this.fd, this.buf, this.buf.length, 0));
      if (n < 0) throw sysError('netlink recv', what);
      for (let off = 0; off + NLMSG_HDRLEN <= n;) {
        const len = this.buf.readUInt32LE(off);
        if (len < NLMSG_HDRLEN) break;
        const mtype = this.buf.readUInt16LE(off + 4);
        const mseq = this.buf.readUInt32LE(off + 8);
        const payload = Buffer.from(this.buf.subarray(off + NLMSG_HDRLEN, off + len));
        off += align4(len);
        if (mseq !== seq) continue; // a late answer to an earlier request
        if (mtype === NLMSG_ERROR) {
          const err = -payload.readInt32LE(0);
          if (err === 0) return { type: mtype, payload: Buffer.alloc(0) };
          throw new NetlinkError(errnoName(err), err, what);
        }
        return { type: mtype, payload };
      }
    }
  }

  close(): void {
    if (this.fd >= 0) c.close(this.fd);
    this.fd = -1;
  }
}
