// Pseudo-terminals for `exec -t`: Node cannot receive runc's console fd over a socket, so berthd
// opens the pty itself and gives the slave to the process as its stdio.
import { lib, sysError } from './libc.js';

const c = {
  posix_openpt: lib.func('int posix_openpt(int flags)'),
  grantpt: lib.func('int grantpt(int fd)'),
  unlockpt: lib.func('int unlockpt(int fd)'),
  ptsname_r: lib.func('int ptsname_r(int fd, _Out_ char *buf, size_t len)'),
  ioctl: lib.func('int ioctl(int fd, unsigned long request, void *arg)'),
};

const O_RDWR = 0o2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;
const TIOCSWINSZ = 0x5414;

/** A new pty master (non-inheritable) and the path of its slave. */
export function openPty(): { master: number; slave: string } {
  const master = c.posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC) as number;
  if (master < 0) throw sysError('posix_openpt');
  if (c.grantpt(master) !== 0 || c.unlockpt(master) !== 0) throw sysError('unlockpt');
  const buf = Buffer.alloc(128);
  if (c.ptsname_r(master, buf, buf.length) !== 0) throw sysError('ptsname_r');
  return { master, slave: buf.toString('utf8', 0, buf.indexOf(0)) };
}

/** Sets a terminal's window size (rows x columns). */
export function setWinsize(fd: number, rows: number, cols: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  if (c.ioctl(fd, TIOCSWINSZ, ws) !== 0) throw sysError('ioctl(TIOCSWINSZ)');
}

