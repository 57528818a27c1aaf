// Volumes with the local driver: a directory `<root>/volumes/<name>/_data` per volume, or (with
// driver options type/device/o) a mount placed there when a container first needs it. Records are
// RecordStore files; who uses a volume is read from the container records, so it survives restarts.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AlreadyExists, Conflict, InvalidArgument, NotFound } from '../errdefs/index.js';
import { isMountPoint, mountOne, unmount } from '../lib/sys/index.js';
import { RecordStore } from '../metadata/index.js';
import { ANONYMOUS_LABEL, type Volume, type VolumeCreateOptions, type VolumeRecord } from './types.js';
import { matchAllLabels } from '../lib/labels.js';

export type VolumeFilters = Record<string, string[]>;

const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const KNOWN_OPTS = new Set(['type', 'device', 'o', 'size']);

export class VolumeService {
  private readonly records: RecordStore<VolumeRecord>;
  private readonly dir: string;
  private usedBy: (name: string) => string[] = () => [];

  constructor(root: string, private readonly emit: (action: string, name: string, attrs?: Record<string, string>) => void = () => {}) {
    this.dir = path.join(root, 'volumes');
    this.records = new RecordStore(path.join(root, 'metadata', 'volumes'));
    mkdirSync(this.dir, { recursive: true, mode: 0o701 });
  }

  /** The daemon tells us which containers reference a volume (from their records). */
  setUsedBy(fn: (name: string) => string[]): void {
    this.usedBy = fn;
  }

  mountpoint(name: string): string {
    return path.join(this.dir, name, '_data');
  }

  create(opts: VolumeCreateOptions = {}): Volume {
    const driver = opts.Driver || 'local';
    if (driver !== 'local') throw new NotFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const name = opts.Name || randomBytes(32).toString('hex');
    if (!VALID_NAME.test(name)) throw new InvalidArgument(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    const existing = this.records.get(name);
    if (existing) {
      // Docker returns the existing volume when nothing conflicts.
      if (Object.keys(opts.DriverOpts ?? {}).length && JSON.stringify(opts.DriverOpts) !== JSON.stringify(existing.Options)) {
        throw new AlreadyExists(`volume ${name} already exists with different options`);
      }
      return this.toApi(existing);
    }
    const options = { ...(opts.DriverOpts ?? {}) };
    for (const k of Object.keys(options)) if (!KNOWN_OPTS.has(k)) throw new InvalidArgument(`create ${name}: invalid option key: "${k}"`);
    if (options['type'] && !options['device'] && options['type'] !== 'tmpfs') throw new InvalidArgument(`create ${name}: missing required option: "device"`);
    if (options['device'] && !options['type']) throw new InvalidArgument(`create ${name}: missing required option: "type"`);
    const rec: VolumeRecord = {
      Name: name, Driver: 'local', Labels: { ...(opts.Labels ?? {}) }, Options: options,
      CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    mkdirSync(this.mountpoint(name), { recursive: true, mode: 0o755 });
    this.records.put(name, rec);
    this.emit('create', name, { driver: 'local' });
    return this.toApi(rec);
  }

  createAnonymous(): Volume {
    return this.create({ Labels: { [ANONYMOUS_LABEL]: '' } });
  }

  get(name: string): VolumeRecord {
    const rec = this.records.get(name);
    if (!rec) throw new NotFound(`get ${name}: no such volume`);
    return rec;
  }

  exists(name: string): boolean {
    return this.records.has(name);
  }

  isAnonymous(name: string): boolean {
    return ANONYMOUS_LABEL in (this.records.get(name)?.Labels ?? {});
  }

  inspect(name: string): Volume {
    return this.toApi(this.get(name));
  }

  list(filters: VolumeFilters = {}, withUsage = false): Volume[] {
    for (const k of Object.keys(filters)) if (!['dangling', 'name', 'label', 'driver'].includes(k)) throw new InvalidArgument(`invalid filter '${k}'`);
    return [...this.records.values()].filter((r) => this.matches(r, filters)).map((r) => this.toApi(r, withUsage));
  }

  private matches(r: VolumeRecord, f: VolumeFilters): boolean {
    for (const [key, values] of Object.entries(f)) {
      if (!values.length) continue;
      const ok = values.some((v) => {
        switch (key) {
          case 'dangling': {
            if (!['true', 'false', '1', '0'].includes(v)) throw new InvalidArgument(`invalid filter 'dangling=${v}'`);
            return (this.usedBy(r.Name).length === 0) === (v === 'true' || v === '1');
          }
          case 'name': return r.Name.includes(v);
          case 'driver': return r.Driver === v;
          case 'label': return matchAllLabels(r.Labels, values);
          default: return false;
        }
      });
      if (!ok) return false;
    }
    return true;
  }

  remove(name: string, opts: { force?: boolean } = {}): void {
    const rec = this.records.get(name);
    if (!rec) {
      if (opts.force) return;
      throw new NotFound(`get ${name}: no such volume`);
    }
    const users = this.usedBy(name);
    if (users.length) throw new Conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.destroy(rec);
  }

  private destroy(rec: VolumeRecord): void {
    const data = this.mountpoint(rec.Name);
    if (isMountPoint(data)) unmount(data, { detach: true });
    this.records.delete(rec.Name);
    rmSync(path.join(this.dir, rec.Name), { recursive: true, force: true });
    this.emit('destroy', rec.Name, { driver: 'local' });
  }

  /** Docker API >= 1.42: anonymous volumes only, unless the filter `all=true`. */
  prune(filters: VolumeFilters = {}): { VolumesDeleted: string[] | null; SpaceReclaimed: number } {
    const all = (filters['all'] ?? []).some((v) => v === 'true' || v === '1');
    const rest = { ...filters };
    delete rest['all'];
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const r of [...this.records.values()]) {
      if (!all && !(ANONYMOUS_LABEL in r.Labels)) continue;
      if (!this.matches(r, rest) || this.usedBy(r.Name).length) continue;
      reclaimed += this.usesDevice(r) ? 0 : diskUsage(this.mountpoint(r.Name));
      this.destroy(r);
      deleted.push(r.Name);
    }
    this.emit('prune', '', { reclaimed: String(reclaimed) });
    return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  private usesDevice(r: VolumeRecord): boolean {
    return !!r.Options['type'];
  }

  /** Before a container uses the volume: mount the driver-option filesystem if it has one. */
  prepare(name: string): string {
    const rec = this.get(name);
    const data = this.mountpoint(name);
    mkdirSync(data, { recursive: true });
    if (this.usesDevice(rec) && !isMountPoint(data)) {
      const o = rec.Options;
      const options = (o['o'] ?? '').split(',').filter(Boolean);
      if (o['size']) options.push(`size=${o['size']}`);
      try {
        mountOne({ type: o['type'] === 'none' ? 'bind' : o['type']!, source: o['device'] ?? o['type']!, options }, data);
      } catch (err) {
        throw new InvalidArgument(`error while mounting volume '${data}': ${(err as Error).message}`, { cause: err });
      }
    }
    return data;
  }

  /** At daemon shutdown: driver-option mounts come off (containers keep their own copies); the next use mounts again. */
  unmountAll(): void {
    for (const r of this.records.values()) {
      const data = this.mountpoint(r.Name);
      if (this.usesDevice(r) && isMountPoint(data)) unmount(data, { detach: true });
    }
  }

  private toApi(r: VolumeRecord, withUsage = false): Volume {
    const v: Volume = {
      CreatedAt: r.CreatedAt, Driver: r.Driver, Labels: sortedOrNull(r.Labels),
      Mountpoint: this.mountpoint(r.Name), Name: r.Name, Options: sortedOrNull(r.Options), Scope: 'local',
    };
    if (withUsage) v.UsageData = { Size: this.usesDevice(r) ? -1 : diskUsage(this.mountpoint(r.Name)), RefCount: this.usedBy(r.Name).length };
    return v;
  }
}

/** Go encodes maps with sorted keys, and an empty map here as null. */
function sortedOrNull(m: Record<string, string>): Record<string, string> | null {
  const keys = Object.keys(m).sort();
  return keys.length ? Object.fromEntries(keys.map((k) => [k, m[k]!])) : null;
}

/** Bytes used under a directory, without following symlinks or crossing into other mounts' contents twice. */
export function diskUsage(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      try {
        const st = lstatSync(p);
        if (st.isDirectory()) walk(p);
        else total += st.size;
      } catch {
        // vanished meanwhile
      }
    }
  };
  walk(dir);
  return total;
}
