// Resolving tar entry names inside a root without ever leaving it: `..` is clamped or refused and
// symlinks are followed as if the root were `/` (Docker's FollowSymlinkInScope), so no entry, link
// or symlink in a hostile layer can reach a file outside the root.
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgument } from '../../errdefs/index.js';

/**
 * A tar entry name as a clean path relative to the root ('' for the root itself). Absolute names
 * are taken relative to the root, as Docker does; names that climb out with `..` are refused.
 */
export function cleanEntryName(name: string): string {
  const n = path.posix.normalize('/' + name).slice(1).replace(/\/+$/, '');
  // normalize('/..') gives '/', so climbing is caught by comparing against a relative normalise.
  const rel = path.posix.normalize(name.replace(/^\/+/, '') || '.');
  if (rel === '..' || rel.startsWith('../')) throw new InvalidArgument(`refusing tar entry ${JSON.stringify(name)}: path escapes the root`);
  return n === '.' ? '' : n;
}

const MAX_SYMLINK_HOPS = 255;

/**
 * The host path of `rel` inside `root`, following symlinks within the root. With followFinal false
 * the last component is not followed (so it can be replaced rather than written through).
 * `known` caches directories already verified to be real (not symlinks) for speed.
 */
export function resolveInRoot(root: string, rel: string, followFinal: boolean, known?: Set<string>): string {
  let parts = rel.split('/').filter((p) => p && p !== '.');
  let cur: string[] = [];
  let hops = 0;
  while (parts.length) {
    const p = parts.shift()!;
    if (p === '..') {
      cur.pop();
      continue;
    }
    const next = [...cur, p];
    const host = root + '/' + next.join('/');
    if (parts.length === 0 && !followFinal) {
      cur = next;
      break;
    }
    if (known?.has(host)) {
      cur = next;
      continue;
    }
    const st = lstatSync(host, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw new InvalidArgument(`too many levels of symbolic links resolving ${rel}`);
      const target = readlinkSync(host);
      if (target.startsWith('/')) cur = [];
      parts = [...target.split('/').filter((x) => x && x !== '.'), ...parts];
      continue;
    }
    if (st?.isDirectory()) known?.add(host);
    cur = next;
  }
  return cur.length ? root + '/' + cur.join('/') : root;
}
