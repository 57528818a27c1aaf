// Mounting the Mount values the snapshotter returns. Overlay option strings longer than a page
// (Docker's "max depth exceeded" at ~128 layers) go through the new mount API one layer at a time.
import { readFileSync } from 'node:fs';
import type { Mount } from '../mount.js';
import { MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT, mount, mountNewApi, umount2, type NewMountOption } from './libc.js';

const FLAG_OPTIONS: Record<string, number> = {
  ro: MS_RDONLY, nosuid: MS_NOSUID, nodev: MS_NODEV, noexec: MS_NOEXEC, bind: MS_BIND, rbind: MS_BIND | MS_REC,
};
const IGNORED = new Set(['rw', 'defaults']);
/** Leave room below the 4096-byte page for the kernel's own additions. */
const LEGACY_OPTIONS_MAX = 3800;

function splitOptions(options: string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    if (o in FLAG_OPTIONS) flags |= FLAG_OPTIONS[o]!;
    else if (!IGNORED.has(o)) data.push(o);
  }
  return { flags, data };
}

export function mountOne(m: Mount, target: string): void {
  const { flags, data } = splitOptions(m.options);
  if (m.type === 'bind' || flags & MS_BIND) {
    mount(m.source, target, null, flags | MS_BIND, null);
    // A bind mount ignores MS_RDONLY until remounted.
    if (flags & MS_RDONLY) mount('', target, null, MS_REMOUNT | MS_BIND | MS_RDONLY | (flags & MS_REC), null);
    return;
  }
  const joined = data.join(',');
  if (m.type === 'overlay' && joined.length > LEGACY_OPTIONS_MAX) {
    mountNewApi('overlay', target, overlayOptionsForNewApi(data, flags));
    return;
  }
  mount(m.source, target, m.type, flags, joined || null);
}

function overlayOptionsForNewApi(data: string[], flags: number): NewMountOption[] {
  const out: NewMountOption[] = [{ key: 'source', value: 'overlay' }];
  for (const o of data) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? undefined : o.slice(eq + 1);
    if (key === 'lowerdir' && value !== undefined) {
      for (const dir of value.split(':')) out.push({ key: 'lowerdir+', value: dir });
    } else {
      out.push({ key, value });
    }
  }
  if (flags & MS_RDONLY) out.push({ key: 'ro' });
  return out;
}

/** Mounts each in order onto `target` (later ones stack on earlier ones, as containerd's mount.All). */
export function mountAll(mounts: Mount[], target: string): void {
  for (const m of mounts) mountOne(m, target);
}

export function unmount(target: string, opts: { detach?: boolean } = {}): void {
  umount2(target, opts.detach ? MNT_DETACH : 0);
}

/** Unmounts every mount at or below `target`, deepest first; missing mounts are fine. */
export function unmountRecursive(target: string): void {
  const prefix = target.endsWith('/') ? target : target + '/';
  const points = mountPoints().filter((p) => p === target || p.startsWith(prefix)).sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      umount2(p, 0);
    } catch {
      umount2(p, MNT_DETACH);
    }
  }
}

export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(' ')[4]!));
}

export function isMountPoint(p: string): boolean {
  return mountPoints().includes(p);
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
