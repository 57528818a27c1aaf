// Named network namespaces as `ip netns` keeps them (a bind mount of the namespace on
// /run/netns/NAME, so iproute2 and runc see the same thing), made in-process instead of by a
// spawned `ip`: unshare(CLONE_NEWNET) on this thread, bind-mount it, and go straight back.
// Nothing else runs while the thread is away (all of it is synchronous), and only this thread
// moves: libuv's and worker threads stay in berthd's own namespace.
import { closeSync, existsSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { isMountPoint } from './mounts.js';
import { lib, mount, MNT_DETACH, MS_BIND, MS_REC, sysError, umount2 } from './libc.js';

const c = {
  unshare: lib.func('int unshare(int flags)'),
  setns: lib.func('int setns(int fd, int nstype)'),
};

const CLONE_NEWNET = 0x40000000;
const MS_SHARED = 1 << 20;

let home: number | undefined;

/** berthd's own namespace, held open for the way back. */
function homeFd(): number {
  home ??= openSync('/proc/thread-self/ns/net', 'r');
  return home;
}

function goHome(): void {
  if (c.setns(homeFd(), CLONE_NEWNET) !== 0) {
    // Carrying on in a container's namespace would bind every later socket there.
    process.stderr.write(`berthd: cannot return to its network namespace: ${sysError('setns').message}\n`);
    process.abort();
  }
}

/** Runs fn with this thread inside the namespace at nsPath (fn must be synchronous). */
export function inNetns<T>(nsPath: string, fn: () => T): T {
  homeFd();
  const fd = openSync(nsPath, 'r');
  try {
    if (c.setns(fd, CLONE_NEWNET) !== 0) throw sysError('setns', nsPath);
  } finally {
    closeSync(fd);
  }
  try {
    return fn();
  } finally {
    goHome();
  }
}

const sharedDirs = new Set<string>();

/** The namespace directory is a shared mount, so namespaces mounted in it show in other mount namespaces too (as `ip netns` does). */
function ensureSharedDir(dir: string): void {
  if (sharedDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (!isMountPoint(dir)) mount(dir, dir, 'none', MS_BIND | MS_REC, null);
  mount('', dir, 'none', MS_SHARED | MS_REC, null);
  sharedDirs.add(dir);
}

/** A new, empty network namespace kept alive by a bind mount on nsPath; fn runs inside it first. */
export function createNetns(nsPath: string, fn?: () => void): void {
  ensureSharedDir(path.dirname(nsPath));
  if (existsSync(nsPath)) deleteNetns(nsPath);
  closeSync(openSync(nsPath, 'wx', 0));
  homeFd();
  try {
    if (c.unshare(CLONE_NEWNET) !== 0) throw sysError('unshare(CLONE_NEWNET)');
    try {
      mount('/proc/thread-self/ns/net', nsPath, 'none', MS_BIND, null);
      fn?.();
    } finally {
      goHome();
    }
  } catch (err) {
    deleteNetns(nsPath);
    throw err;
  }
}

/** Unmounts and removes nsPath; the namespace goes when nothing else holds it. A missing one is fine. */
export function deleteNetns(nsPath: string): void {
  try {
    umount2(nsPath, MNT_DETACH);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    unlinkSync(nsPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
