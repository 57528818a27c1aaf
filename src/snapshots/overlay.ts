// An overlay snapshotter after containerd's: each snapshot is `<root>/snapshots/<id>/{fs,work}`
// with a short numeric id (mount options are length-limited), and one metadata file written
// atomically records names, kinds, parents and labels. It returns mounts; it never mounts.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { AlreadyExists, FailedPrecondition, InvalidArgument, NotFound } from '../errdefs/index.js';
import { writeJsonAtomic } from '../lib/atomic.js';
import type { Mount } from '../lib/mount.js';
import type { SnapshotInfo, SnapshotKind, Snapshotter, Usage } from './snapshotter.js';

interface Record {
  id: number;
  kind: SnapshotKind;
  parent?: string;
  labels: { [k: string]: string };
  createdAt: string;
}

interface State {
  nextId: number;
  snapshots: { [name: string]: Record };
}

export class OverlaySnapshotter implements Snapshotter {
  private readonly dir: string;
  private readonly metaFile: string;
  private state: State;

  constructor(readonly root: string) {
    this.dir = path.join(root, 'snapshots');
    this.metaFile = path.join(root, 'metadata.json');
    mkdirSync(this.dir, { recursive: true });
    this.state = existsSync(this.metaFile) ? JSON.parse(readFileSync(this.metaFile, 'utf8')) : { nextId: 1, snapshots: {} };
    this.removeOrphans();
  }

  /** Snapshot directories with no record (a crash between mkdir and the metadata write) are removed. */
  private removeOrphans(): void {
    const live = new Set(Object.values(this.state.snapshots).map((r) => String(r.id)));
    for (const name of readdirSync(this.dir)) if (!live.has(name)) rmSync(path.join(this.dir, name), { recursive: true, force: true });
  }

  private save(): void {
    writeJsonAtomic(this.metaFile, this.state);
  }

  private get(key: string): Record {
    const r = this.state.snapshots[key];
    if (!r) throw new NotFound(`snapshot ${key}: not found`);
    return r;
  }

  private fsDir(r: Record): string {
    return path.join(this.dir, String(r.id), 'fs');
  }

  private info(name: string, r: Record): SnapshotInfo {
    return { kind: r.kind, name, parent: r.parent, labels: { ...r.labels }, createdAt: new Date(r.createdAt) };
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return this.info(key, this.get(key));
  }

  /** Committed ancestors' fs dirs, nearest first. */
  private lowerDirs(parent: string | undefined): string[] {
    const out: string[] = [];
    for (let p = parent; p; p = this.get(p).parent) out.push(this.fsDir(this.get(p)));
    return out;
  }

  private create(kind: 'active' | 'view', key: string, parent?: string, labels: { [k: string]: string } = {}): Mount[] {
    if (!key) throw new InvalidArgument('snapshot key must not be empty');
    if (this.state.snapshots[key]) throw new AlreadyExists(`snapshot ${key}: already exists`);
    if (parent !== undefined && this.get(parent).kind !== 'committed') throw new InvalidArgument(`snapshot ${parent} is not committed`);
    const id = this.state.nextId++;
    const base = path.join(this.dir, String(id));
    mkdirSync(path.join(base, 'fs'), { recursive: true, mode: 0o755 });
    if (kind === 'active') mkdirSync(path.join(base, 'work'), { mode: 0o700 });
    this.state.snapshots[key] = { id, kind, parent, labels, createdAt: new Date().toISOString() };
    this.save();
    return this.mountsOf(this.state.snapshots[key]!);
  }

  private mountsOf(r: Record): Mount[] {
    const lowers = this.lowerDirs(r.parent);
    if (r.kind === 'view') {
      if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(r), options: ['ro', 'rbind'] }];
      if (lowers.length === 1) return [{ type: 'bind', source: lowers[0]!, options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
    }
    if (r.kind === 'committed') {
      return [{ type: 'bind', source: this.fsDir(r), options: ['ro', 'rbind'] }];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(r), options: ['rw', 'rbind'] }];
    const work = path.join(this.dir, String(r.id), 'work');
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, `upperdir=${this.fsDir(r)}`, `workdir=${work}`, 'index=off'] }];
  }

  async prepare(key: string, parent?: string, labels?: { [k: string]: string }): Promise<Mount[]> {
    return this.create('active', key, parent, labels);
  }

  async view(key: string, parent?: string, labels?: { [k: string]: string }): Promise<Mount[]> {
    return this.create('view', key, parent, labels);
  }

  async mounts(key: string): Promise<Mount[]> {
    return this.mountsOf(this.get(key));
  }

  async commit(name: string, key: string, labels?: { [k: string]: string }, parent?: string): Promise<void> {
    const r = this.get(key);
    if (r.kind !== 'active') throw new FailedPrecondition(`snapshot ${key} is not active`);
    if (this.state.snapshots[name]) throw new AlreadyExists(`snapshot ${name}: already exists`);
    if (parent !== undefined && parent !== r.parent) {
      if (r.parent !== undefined) throw new InvalidArgument(`snapshot ${key} already has parent ${r.parent}`);
      if (this.get(parent).kind !== 'committed') throw new InvalidArgument(`snapshot ${parent} is not committed`);
    }
    rmSync(path.join(this.dir, String(r.id), 'work'), { recursive: true, force: true });
    delete this.state.snapshots[key];
    this.state.snapshots[name] = { ...r, parent: parent ?? r.parent, kind: 'committed', labels: { ...r.labels, ...labels } };
    this.save();
  }

  async remove(key: string): Promise<void> {
    const r = this.get(key);
    const child = Object.entries(this.state.snapshots).find(([, s]) => s.parent === key);
    if (child) throw new FailedPrecondition(`cannot remove snapshot ${key}: it has children (${child[0]})`);
    delete this.state.snapshots[key];
    this.save();
    rmSync(path.join(this.dir, String(r.id)), { recursive: true, force: true });
  }

  async usage(key: string): Promise<Usage> {
    return usageOf(this.fsDir(this.get(key)));
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    for (const [name, r] of Object.entries(this.state.snapshots)) await fn(this.info(name, r));
  }

  async upperDir(key: string): Promise<string> {
    return this.fsDir(this.get(key));
  }

  /** The fs dirs of a committed snapshot and its ancestors, nearest first (for `docker diff`). */
  async lowerDirsOf(key: string): Promise<string[]> {
    return this.lowerDirs(this.get(key).parent);
  }
}

/** Bytes and inodes under a directory, counting hardlinked inodes once. */
export function usageOf(dir: string): Usage {
  const seen = new Set<string>();
  let size = 0;
  let inodes = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = d + '/' + name;
      const st = lstatSync(p);
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && seen.has(key)) continue;
      if (st.nlink > 1) seen.add(key);
      inodes++;
      if (st.isFile()) size += st.size;
      if (st.isDirectory()) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return { size, inodes };
}
