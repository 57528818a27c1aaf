// A Debian root filesystem made with debootstrap (--variant=minbase) from the mirror this host's
// apt uses, as a tar kept under /var/cache/berth-test keyed by suite and date: the first run of a
// day builds it (about a minute and a half here), later runs reuse it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

export const DEBIAN_CACHE = '/var/cache/berth-test';

/** The first Debian (not security) mirror in /etc/apt/sources.list{,.d/*} that serves `suite`. */
export function hostDebianMirror(suite: string): string {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  for (const f of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(f, 'utf8');
    // One-line form: deb [opts] URI suite components...
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) if (m[2] === suite) return m[1]!;
    // deb822 form: stanzas with Types, URIs and Suites.
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (field('Types').includes('deb') && field('Suites').includes(suite) && field('URIs')[0]) return field('URIs')[0]!;
    }
  }
  throw new Error(`no apt source for Debian ${suite} in /etc/apt/sources.list*: the Debian test needs the host's mirror`);
}

/** The path of a tar of a fresh `suite` minbase root, built today if not cached. */
export function debianRootfsTar(suite = 'bookworm'): string {
  const today = new Date().toISOString().slice(0, 10);
  const tar = path.join(DEBIAN_CACHE, `debian-${suite}-minbase-${today}.tar`);
  if (existsSync(tar)) return tar;
  mkdirSync(DEBIAN_CACHE, { recursive: true });
  const work = mkdtempSync(path.join(DEBIAN_CACHE, `build-${suite}-`));
  try {
    const root = path.join(work, 'root');
    const mirror = hostDebianMirror(suite);
    const r = spawnSync('debootstrap', ['--variant=minbase', suite, root, mirror], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error || r.status !== 0) {
      const log = existsSync(path.join(root, 'debootstrap/debootstrap.log')) ? readFileSync(path.join(root, 'debootstrap/debootstrap.log'), 'utf8').slice(-4000) : '';
      throw new Error(`debootstrap ${suite} from ${mirror} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}${log}`);
    }
    execFileSync('tar', ['-C', root, '--numeric-owner', '--xattrs', '-cf', path.join(work, 'rootfs.tar'), '.']);
    // Visible only when complete, so a concurrent or interrupted run never sees half a tar.
    renameSync(path.join(work, 'rootfs.tar'), tar);
    // Older days' tars of this suite are stale now.
    for (const f of readdirSync(DEBIAN_CACHE)) {
      if (f.startsWith(`debian-${suite}-minbase-`) && f !== path.basename(tar)) rmSync(path.join(DEBIAN_CACHE, f), { force: true });
    }
    return tar;
  } finally {
    // debootstrap mounts /proc and /sys in the target and may leave them after a failure: they
    // must go before the directory does.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(work + '/'));
    for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
    rmSync(work, { recursive: true, force: true });
  }
}
