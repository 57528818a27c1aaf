// A container's mounts, Docker-compatible: HostConfig.Binds (`-v`), HostConfig.Mounts (`--mount`),
// HostConfig.Tmpfs (`--tmpfs`) and Config.Volumes (`-v /path` and the image's VOLUMEs) become a
// plan at create (validated, volumes created) and OCI mounts at start (volumes prepared, filled
// from the image on first use).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgument } from '../errdefs/index.js';
import { resolveInRoot } from '../lib/archive/index.js';
import type { VolumeService } from './service.js';
import type { MountPoint } from './types.js';

/** One planned mount: Docker's inspect shape plus what start needs. */
export interface MountPlan extends MountPoint {
  /** Fill an empty volume from the image's content at the destination (not `nocopy`). */
  copyData?: boolean;
  /** Created for this container (`-v /path`, image VOLUME): `rm -v` removes it. */
  anonymous?: boolean;
  /** tmpfs mount options (size=, mode=, ...). */
  tmpfsOptions?: string[];
  /** `--tmpfs` mounts are not listed in inspect's Mounts (as in Docker). */
  hidden?: boolean;
}

/** The parts of the Engine API's HostConfig.Mounts entries berth understands. */
interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null } | null;
}

export interface MountInput {
  Binds?: string[] | null;
  Mounts?: ApiMount[] | null;
  Tmpfs?: Record<string, string> | null;
  /** Config.Volumes: `-v /path` and the image's VOLUME instructions. */
  Volumes?: Record<string, object> | null;
}

const PROPAGATIONS = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);
const MODES = new Set(['rw', 'ro', 'z', 'Z', 'nocopy', ...PROPAGATIONS]);
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function invalidPath(type: string, p: string): InvalidArgument {
  return new InvalidArgument(`invalid mount config for type "${type}": invalid mount path: '${p}' mount path must be absolute`);
}

function cleanDest(p: string): string {
  return path.posix.normalize(p).replace(/(.)\/$/, '$1');
}

/** `-v SRC:DST[:MODE]` or `-v DST`. */
function parseBind(spec: string): MountPlan {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new InvalidArgument(`invalid volume specification: '${spec}'`);
  if (parts.length === 1) {
    if (!parts[0]!.startsWith('/')) throw new InvalidArgument(`invalid volume specification: '${spec}': ${invalidPath('volume', parts[0]!).message}`);
    return { Type: 'volume', Name: '', Source: '', Destination: cleanDest(parts[0]!), Driver: 'local', Mode: '', RW: true, Propagation: '', copyData: true, anonymous: true };
  }
  const [source, dest, mode = ''] = parts as [string, string, string?];
  if (!dest.startsWith('/')) throw new InvalidArgument(`invalid volume specification: '${spec}': ${invalidPath(source.startsWith('/') ? 'bind' : 'volume', dest).message}`);
  if (dest === '/') throw new InvalidArgument(`invalid volume specification: '${spec}': invalid mount config: destination can't be '/'`);
  const modes = mode ? mode.split(',') : [];
  for (const m of modes) if (!MODES.has(m)) throw new InvalidArgument(`invalid volume specification: '${spec}': invalid mode: ${mode}`);
  const rw = !modes.includes('ro');
  const propagation = modes.find((m) => PROPAGATIONS.has(m));
  if (source.startsWith('/')) {
    return { Type: 'bind', Source: path.posix.normalize(source), Destination: cleanDest(dest), Mode: mode, RW: rw, Propagation: propagation ?? 'rprivate' };
  }
  if (!VOLUME_NAME.test(source)) throw new InvalidArgument(`create ${source}: "${source}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  if (propagation) throw new InvalidArgument(`invalid volume specification: '${spec}': invalid mode: ${mode}`);
  return { Type: 'volume', Name: source, Source: '', Destination: cleanDest(dest), Driver: 'local', Mode: mode || 'z', RW: rw, Propagation: '', copyData: !modes.includes('nocopy') };
}

/** One `--mount` entry (HostConfig.Mounts). */
function parseApiMount(m: ApiMount): MountPlan & { volumeLabels?: Record<string, string>; volumeOpts?: Record<string, string> } {
  const type = m.Type ?? '';
  const target = m.Target ?? '';
  if (!['bind', 'volume', 'tmpfs'].includes(type)) throw new InvalidArgument(`invalid mount config for type "${type}": mount type unknown`);
  if (!target) throw new InvalidArgument(`invalid mount config for type "${type}": field Target must not be empty`);
  if (!target.startsWith('/')) throw invalidPath(type, target);
  const dest = cleanDest(target);
  const rw = !m.ReadOnly;
  if (type === 'bind') {
    const source = m.Source ?? '';
    if (!source) throw new InvalidArgument('invalid mount config for type "bind": field Source must not be empty');
    if (!source.startsWith('/')) throw new InvalidArgument(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
    if (!existsSync(source)) throw new InvalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
    const propagation = m.BindOptions?.Propagation || 'rprivate';
    if (!PROPAGATIONS.has(propagation)) throw new InvalidArgument(`invalid mount config for type "bind": invalid propagation mode: ${propagation}`);
    return { Type: 'bind', Source: path.posix.normalize(source), Destination: dest, Mode: '', RW: rw, Propagation: propagation };
  }
  if (type === 'tmpfs') {
    if (m.Source) throw new InvalidArgument('invalid mount config for type "tmpfs": field Source must not be specified');
    const opts: string[] = [];
    if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
    if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
    for (const o of m.TmpfsOptions?.Options ?? []) opts.push(o.join('='));
    return { Type: 'tmpfs', Source: '', Destination: dest, Mode: '', RW: rw, Propagation: '', tmpfsOptions: opts };
  }
  const name = m.Source ?? '';
  if (name && !VOLUME_NAME.test(name)) throw new InvalidArgument(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  const driver = m.VolumeOptions?.DriverConfig?.Name || 'local';
  if (driver !== 'local') throw new InvalidArgument(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  return {
    // Docker shows Mode 'z' for `-v name:/path` but '' for --mount.
    Type: 'volume', Name: name, Source: '', Destination: dest, Driver: 'local', Mode: '', RW: rw, Propagation: '',
    copyData: !m.VolumeOptions?.NoCopy, anonymous: !name,
    volumeLabels: m.VolumeOptions?.Labels ?? undefined, volumeOpts: m.VolumeOptions?.DriverConfig?.Options ?? undefined,
  };
}

/**
 * Validates every mount and creates the volumes they name (or anonymous ones). On error nothing is
 * left behind: the volumes this call created are removed again.
 */
export function planMounts(volumes: VolumeService, input: MountInput): MountPlan[] {
  const plans: Array<ReturnType<typeof parseApiMount>> = [];
  const seen = new Set<string>();
  const add = (p: ReturnType<typeof parseApiMount>) => {
    if (seen.has(p.Destination)) throw new InvalidArgument(`Duplicate mount point: ${p.Destination}`);
    seen.add(p.Destination);
    plans.push(p);
  };
  for (const b of input.Binds ?? []) add(parseBind(b));
  for (const m of input.Mounts ?? []) add(parseApiMount(m));
  for (const [dest, opts] of Object.entries(input.Tmpfs ?? {})) {
    if (!dest.startsWith('/')) throw invalidPath('tmpfs', dest);
    add({ Type: 'tmpfs', Source: '', Destination: cleanDest(dest), Mode: '', RW: !opts.split(',').includes('ro'), Propagation: '', tmpfsOptions: opts.split(',').filter((o) => o && o !== 'ro' && o !== 'rw'), hidden: true });
  }
  // `-v /path` and image VOLUMEs give way to anything the user mounted at the same place.
  for (const dest of Object.keys(input.Volumes ?? {})) {
    if (!dest.startsWith('/')) throw invalidPath('volume', dest);
    const d = cleanDest(dest);
    if (seen.has(d)) continue;
    seen.add(d);
    plans.push({ Type: 'volume', Name: '', Source: '', Destination: d, Driver: 'local', Mode: '', RW: true, Propagation: '', copyData: true, anonymous: true });
  }
  const created: string[] = [];
  try {
    for (const p of plans) {
      if (p.Type === 'bind') {
        // `-v` creates a missing host directory, as Docker does (`--mount` refused it above).
        if (!existsSync(p.Source)) mkdirSync(p.Source, { recursive: true });
        continue;
      }
      if (p.Type !== 'volume') continue;
      if (!p.Name) {
        p.Name = volumes.create({ Labels: { ...(p.volumeLabels ?? {}), 'com.docker.volume.anonymous': '' }, DriverOpts: p.volumeOpts }).Name;
        created.push(p.Name);
      } else if (!volumes.exists(p.Name)) {
        volumes.create({ Name: p.Name, Labels: p.volumeLabels, DriverOpts: p.volumeOpts });
        created.push(p.Name);
      }
      p.Source = volumes.mountpoint(p.Name);
    }
  } catch (err) {
    for (const name of created) volumes.remove(name, { force: true });
    throw err;
  }
  return plans.map(({ volumeLabels: _l, volumeOpts: _o, ...p }) => p);
}

/** Docker's `Mounts` for inspect and list. */
export function mountPointsOf(plans: MountPlan[] | undefined): MountPoint[] {
  return (plans ?? []).filter((p) => !p.hidden).map((p) => {
    const out: MountPoint = { Type: p.Type, Source: p.Source, Destination: p.Destination, Mode: p.Mode, RW: p.RW, Propagation: p.Propagation };
    if (p.Type === 'volume') Object.assign(out, { Name: p.Name, Driver: p.Driver });
    return out;
  });
}

export interface OciMountOut {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/**
 * At start, with the container's rootfs mounted: volumes are mounted (driver options) and, when
 * still empty, filled from the image's content at the destination; returns the OCI mounts.
 */
export function applyMounts(volumes: VolumeService, plans: MountPlan[] | undefined, rootfs: string): OciMountOut[] {
  const out: OciMountOut[] = [];
  for (const p of plans ?? []) {
    const ro = p.RW ? [] : ['ro'];
    if (p.Type === 'tmpfs') {
      out.push({ destination: p.Destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...ro, ...(p.tmpfsOptions ?? [])] });
      continue;
    }
    let source = p.Source;
    if (p.Type === 'volume') {
      source = volumes.prepare(p.Name!);
      if (p.copyData) copyUp(rootfs, p.Destination, source);
    }
    out.push({ destination: p.Destination, type: 'bind', source, options: ['rbind', p.Propagation || 'rprivate', ...ro] });
  }
  return out;
}

/** Copies the image's directory at `dest` into an empty volume, keeping owners, modes and xattrs. */
function copyUp(rootfs: string, dest: string, volume: string): void {
  if (readdirSync(volume).length) return;
  const from = resolveInRoot(rootfs, dest, true);
  let isDir = false;
  try {
    isDir = statSync(from).isDirectory();
  } catch {
    return; // nothing in the image there
  }
  if (!isDir) return;
  execFileSync('cp', ['-a', '--', `${from}/.`, `${volume}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** After the container is gone: its anonymous volumes go too, unless another container uses one. */
export function removeAnonymousVolumes(volumes: VolumeService, plans: MountPlan[] | undefined): void {
  for (const p of plans ?? []) {
    if (p.Type !== 'volume' || !p.Name || !volumes.isAnonymous(p.Name)) continue;
    try {
      volumes.remove(p.Name);
    } catch {
      // still in use elsewhere, or already gone: Docker keeps going too
    }
  }
}
