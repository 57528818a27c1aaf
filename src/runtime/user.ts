// `-u user[:group]` resolved against the container's own /etc/passwd and /etc/group, as Docker
// does: names must exist there, numbers need not.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgument } from '../errdefs/index.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

function readTable(rootfs: string, file: string): string[][] {
  try {
    return readFileSync(path.join(rootfs, file), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

export function resolveUser(rootfs: string, spec: string | undefined): ResolvedUser {
  const [userPart = '', groupPart] = (spec ?? '').split(':');
  const passwd = readTable(rootfs, 'etc/passwd');
  const groups = readTable(rootfs, 'etc/group');
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  if (userPart === '') {
    const root = passwd.find((p) => p[2] === '0');
    name = root?.[0] ?? 'root';
    home = root?.[5] ?? '/root';
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => Number(p[2]) === uid);
    if (entry) {
      gid = Number(entry[3]);
      home = entry[5] || '/';
      name = entry[0];
    }
  } else {
    const entry = passwd.find((p) => p[0] === userPart);
    if (!entry) throw new InvalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
    home = entry[5] || '/';
    name = entry[0];
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x[0] === groupPart);
      if (!g) throw new InvalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(g[2]);
    }
  }
  const additionalGids = name ? groups.filter((g) => (g[3] ?? '').split(',').includes(name!)).map((g) => Number(g[2])).filter((g) => g !== gid) : [];
  return { uid, gid, additionalGids, home };
}
