// The few libc calls Node lacks, through koffi (FFI): mknod, the l*xattr family (never following
// symlinks: following one out of a rootfs would be unsafe), mount/umount2 and flock. Failures
// become Node-style errors with `code` ('ENOENT', ...) so callers can use errnoOf().
import koffi from 'koffi';
import { constants as osConstants } from 'node:os';
import { closeSync } from 'node:fs';

export const lib = koffi.load('libc.so.6');

const c = {
  mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
  lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
  lgetxattr: lib.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
  llistxattr: lib.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)'),
  lremovexattr: lib.func('int lremovexattr(const char *path, const char *name)'),
  mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: lib.func('int umount2(const char *target, int flags)'),
  flock: lib.func('int flock(int fd, int operation)'),
  syscall: lib.func('long syscall(long number, ...)'),
};

const errnoNames: Record<number, string> = {};
for (const [name, num] of Object.entries(osConstants.errno)) errnoNames[num as number] = name;

/** 'ENOENT' for 2, and so on. */
export function errnoName(errno: number): string {
  return errnoNames[errno] ?? `E${errno}`;
}

export function sysError(call: string, path?: string): NodeJS.ErrnoException {
  const errno = koffi.errno();
  const code = errnoName(errno);
  const err = new Error(`${call}${path ? ` ${path}` : ''}: ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = errno;
  err.syscall = call;
  if (path) err.path = path;
  return err;
}

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export function major(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
}

export function minor(dev: number | bigint): number {
  const d = BigInt(dev);
  return Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** mode includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknod(path: string, mode: number, devMajor = 0, devMinor = 0): void {
  if (c.mknod(path, mode, makedev(devMajor, devMinor)) !== 0) throw sysError('mknod', path);
}

export function lsetxattr(path: string, name: string, value: Buffer): void {
  if (c.lsetxattr(path, name, value, value.length, 0) !== 0) throw sysError('lsetxattr', path);
}

export function lgetxattr(path: string, name: string): Buffer | undefined {
  for (let size = 256; ; size *= 4) {
    const buf = Buffer.alloc(size);
    const n = Number(c.lgetxattr(path, name, buf, size));
    if (n >= 0) return buf.subarray(0, n);
    const err = sysError('lgetxattr', path);
    if (err.code === 'ENODATA' || err.code === 'ENOTSUP' || err.code === 'EOPNOTSUPP') return undefined;
    if (err.code !== 'ERANGE' || size > 1 << 20) throw err;
  }
}

export function llistxattr(path: string): string[] {
  for (let size = 1024; ; size *= 4) {
    const buf = Buffer.alloc(size);
    const n = Number(c.llistxattr(path, buf, size));
    if (n >= 0) return n === 0 ? [] : buf.subarray(0, n - 1).toString('latin1').split('\0').filter(Boolean);
    const err = sysError('llistxattr', path);
    if (err.code === 'ENOTSUP' || err.code === 'EOPNOTSUPP') return [];
    if (err.code !== 'ERANGE' || size > 1 << 20) throw err;
  }
}

export function lremovexattr(path: string, name: string): void {
  if (c.lremovexattr(path, name) !== 0) throw sysError('lremovexattr', path);
}

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MS_REC = 16384;
export const MS_PRIVATE = 1 << 18;
export const MNT_DETACH = 2;

export function mount(source: string, target: string, fstype: string | null, flags: number, data: string | null): void {
  if (c.mount(source, target, fstype, flags, data) !== 0) throw sysError('mount', target);
}

export function umount2(target: string, flags = 0): void {
  if (c.umount2(target, flags) !== 0) throw sysError('umount2', target);
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** Returns false when a non-blocking lock is held by someone else. */
export function flock(fd: number, operation: number): boolean {
  if (c.flock(fd, operation) === 0) return true;
  const err = sysError('flock');
  if (err.code === 'EWOULDBLOCK' || err.code === 'EAGAIN') return false;
  throw err;
}

// The new mount API (Linux 5.2+; `lowerdir+` needs 6.8+). Same numbers on every architecture.
const SYS_move_mount = 429;
const SYS_fsopen = 430;
const SYS_fsconfig = 431;
const SYS_fsmount = 432;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_SET_FLAG = 0;
const FSCONFIG_CMD_CREATE = 6;
const AT_FDCWD = -100;
const MOVE_MOUNT_F_EMPTY_PATH = 4;

export interface NewMountOption {
  key: string;
  /** Omitted for flags such as `ro`. */
  value?: string;
}

/**
 * Mounts a filesystem with fsopen/fsconfig/fsmount/move_mount. Options are sent one by one, so there
 * is no page-size limit on their total length (overlay's `lowerdir+` takes one layer per call).
 */
export function mountNewApi(fstype: string, target: string, options: NewMountOption[]): void {
  const fsfd = Number(c.syscall(SYS_fsopen, 'const char *', fstype, 'unsigned int', 1));
  if (fsfd < 0) throw sysError('fsopen', fstype);
  try {
    for (const o of options) {
      const r = o.value === undefined
        ? Number(c.syscall(SYS_fsconfig, 'int', fsfd, 'unsigned int', FSCONFIG_SET_FLAG, 'const char *', o.key, 'const char *', null, 'int', 0))
        : Number(c.syscall(SYS_fsconfig, 'int', fsfd, 'unsigned int', FSCONFIG_SET_STRING, 'const char *', o.key, 'const char *', o.value, 'int', 0));
      if (r < 0) throw sysError(`fsconfig ${o.key}`, o.value);
    }
    if (Number(c.syscall(SYS_fsconfig, 'int', fsfd, 'unsigned int', FSCONFIG_CMD_CREATE, 'const char *', null, 'const char *', null, 'int', 0)) < 0) {
      throw sysError('fsconfig create', target);
    }
    const mfd = Number(c.syscall(SYS_fsmount, 'int', fsfd, 'unsigned int', 1, 'unsigned int', 0));
    if (mfd < 0) throw sysError('fsmount', target);
    try {
      if (Number(c.syscall(SYS_move_mount, 'int', mfd, 'const char *', '', 'int', AT_FDCWD, 'const char *', target, 'unsigned int', MOVE_MOUNT_F_EMPTY_PATH)) < 0) {
        throw sysError('move_mount', target);
      }
    } finally {
      closeSync(mfd);
    }
  } finally {
    closeSync(fsfd);
  }
}
