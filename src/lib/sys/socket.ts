// conmon's attach socket is SOCK_SEQPACKET, which Node's net module cannot open; a plain fd is
// enough to write a container's stdin to it.
import { lib, sysError } from './libc.js';

const c = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  connect: lib.func('int connect(int fd, const void *addr, uint32_t len)'),
};

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;

/** Connects a SOCK_SEQPACKET unix socket; returns its fd (non-blocking, close-on-exec). */
export function connectSeqpacket(path: string): number {
  const p = Buffer.from(path);
  if (p.length >= 108) throw new Error(`socket path too long: ${path}`);
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  p.copy(addr, 2);
  const fd = c.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) as number;
  if (fd < 0) throw sysError('socket');
  if (c.connect(fd, addr, 2 + p.length + 1) !== 0) {
    const err = sysError('connect', path);
    lib.func('int close(int fd)')(fd);
    throw err;
  }
  return fd;
}
