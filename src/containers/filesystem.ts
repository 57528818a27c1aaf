// A container's files: its changes against the image (diff), a flattened tar of its root (export),
// a new image from its writable layer (commit), and copying files in and out (cp, over
// /containers/{id}/archive). The runtime's mount points (/etc/hosts, /proc, ...) are not changes.
import { lstatSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgument, NotFound } from '../errdefs/index.js';
import { applyChanges, normalize, type ImageService } from '../images/index.js';
import { applyLayer, diffUpper, resolveInRoot, tarTree } from '../lib/archive/index.js';
import type { Digest } from '../lib/digest.js';
import type { ImageRunConfig } from '../lib/oci.js';
import { isMountPoint, unmountRecursive } from '../lib/sys/index.js';
import type { ContainerService } from './service.js';
import type { ContainerRecord } from './types.js';

const MOUNT_TARGETS = new Set(['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'dev', 'proc', 'sys']);

export interface Change {
  Path: string;
  /** 0 modified, 1 added, 2 deleted. */
  Kind: 0 | 1 | 2;
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
  config?: Record<string, unknown>;
}

/** Go's os.FileMode bits for the stat header Docker clients decode. */
function goMode(mode: number): number {
  const perm = mode & 0o777;
  const type = mode & 0o170000;
  let m = perm >>> 0;
  if (type === 0o040000) m |= 0x80000000;
  else if (type === 0o120000) m |= 0x08000000;
  else if (type === 0o010000) m |= 0x02000000;
  else if (type === 0o140000) m |= 0x01000000;
  else if (type === 0o020000) m |= 0x04000000 | 0x00200000;
  else if (type === 0o060000) m |= 0x04000000;
  if (mode & 0o4000) m |= 0x00800000;
  if (mode & 0o2000) m |= 0x00400000;
  if (mode & 0o1000) m |= 0x00100000;
  return m >>> 0;
}

export class ContainerFiles {
  constructor(private readonly containers: ContainerService, private readonly images: ImageService) {}

  /** The image's layer dirs, nearest first, from the container's own snapshot (its image may be rmi -f'd). */
  private async lowerDirs(c: ContainerRecord): Promise<string[]> {
    return this.images.snapshotter.lowerDirsOf(c.snapshotKey);
  }

  /** Mount targets the runtime made in the upper dir that the image does not have. */
  private async runtimeArtifacts(c: ContainerRecord, upper: string): Promise<(rel: string) => boolean> {
    const lowers = await this.lowerDirs(c);
    const skip = new Set<string>();
    for (const rel of MOUNT_TARGETS) {
      const st = lstatSync(path.join(upper, rel), { throwIfNoEntry: false });
      if (!st || lowers.some((l) => lstatSync(path.join(l, rel), { throwIfNoEntry: false }))) continue;
      if ((st.isFile() && st.size === 0) || (st.isDirectory() && readdirSync(path.join(upper, rel)).length === 0)) skip.add(rel);
    }
    return (rel) => skip.has(rel);
  }

  async changes(ref: string): Promise<Change[]> {
    const c = this.containers.resolve(ref);
    const upper = await this.images.snapshotter.upperDir(c.snapshotKey);
    const lowers = await this.lowerDirs(c);
    const skip = await this.runtimeArtifacts(c, upper);
    const inImage = (rel: string) => lowers.some((l) => lstatSync(path.join(l, rel), { throwIfNoEntry: false }));
    const out: Change[] = [];
    const visit = (dir: string, rel: string): number => {
      let count = 0;
      for (const n of readdirSync(dir).sort()) {
        const r = rel ? `${rel}/${n}` : n;
        if (skip(r)) continue;
        const host = path.join(dir, n);
        const st = lstatSync(host);
        if (st.isCharacterDevice() && st.rdev === 0) {
          out.push({ Path: `/${r}`, Kind: 2 });
          count++;
          continue;
        }
        const existed = inImage(r);
        const at = out.length;
        out.push({ Path: `/${r}`, Kind: existed ? 0 : 1 });
        const below = st.isDirectory() ? visit(host, r) : 0;
        // A directory copied up only for the runtime's mount points is not a change.
        if (st.isDirectory() && existed && below === 0 && readdirSync(host).length > 0) out.splice(at, 1);
        else count++;
      }
      return count;
    };
    visit(upper, '');
    return out;
  }

  /** Runs `use` with the container's root mounted; unmounts afterwards unless it is running. */
  private async withRoot<T>(c: ContainerRecord, use: (root: string) => Promise<T>, keep = false): Promise<{ value: T; release: () => void }> {
    const root = path.join(this.containers.bundle(c.Id), 'rootfs');
    const wasMounted = isMountPoint(root);
    if (!wasMounted) {
      mkdirSync(root, { recursive: true });
      await this.containers.mountRootfs(c);
    }
    const release = () => {
      if (!wasMounted && !this.containers.get(c.Id)?.State.Running) unmountRecursive(root);
    };
    try {
      const value = await use(root);
      if (!keep) release();
      return { value, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** One flattened tar of the container's root: what `export` writes (unlike `save`'s layers). */
  async export(ref: string): Promise<Readable> {
    const c = this.containers.resolve(ref);
    const { value, release } = await this.withRoot(c, async (root) => tarTree(root), true);
    value.once('close', release);
    value.once('end', release);
    return value;
  }

  async commit(ref: string, opts: CommitOptions): Promise<Digest> {
    const c = this.containers.resolve(ref);
    const pause = opts.pause !== false && c.State.Running && !c.State.Paused;
    if (pause) await this.containers.runtime.pause(c.Id);
    try {
      const upper = await this.images.snapshotter.upperDir(c.snapshotKey);
      const skip = await this.runtimeArtifacts(c, upper);
      const parentChain = (await this.images.snapshotter.stat(c.snapshotKey)).parent as Digest | undefined;
      const entries = readdirSync(upper).filter((n) => !skip(n));
      const layer = entries.length ? await this.images.layers.unpack(diffUpper(upper, undefined, skip) as AsyncIterable<Buffer>, parentChain) : undefined;
      const base = await this.images.records.config(c.Image as Digest); // by ID: the image record may be gone
      const now = new Date().toISOString();
      const cc = c.Config;
      let run: ImageRunConfig = {
        ...(base.config ?? {}), Env: cc.Env, Cmd: cc.Cmd, Entrypoint: cc.Entrypoint, WorkingDir: cc.WorkingDir, User: cc.User,
        Labels: cc.Labels, ExposedPorts: cc.ExposedPorts, Volumes: cc.Volumes, StopSignal: cc.StopSignal,
        ...(opts.config ?? {}),
      };
      if (opts.changes?.length) run = applyChanges(run, opts.changes);
      const config = {
        ...base, created: now, author: opts.author ?? '', container: c.Id, config: run,
        rootfs: { type: 'layers', diff_ids: [...(base.rootfs?.diff_ids ?? []), ...(layer ? [layer.diffID] : [])] },
        history: [...(base.history ?? []), {
          created: now, created_by: [c.Path, ...c.Args].join(' '), ...(opts.author ? { author: opts.author } : {}),
          ...(opts.comment ? { comment: opts.comment } : {}), ...(layer ? {} : { empty_layer: true }),
        }],
      };
      const id = await this.images.createImage(config as never, { parent: c.Image as Digest });
      if (opts.repo) this.images.setTag(normalize(`${opts.repo}${opts.tag ? `:${opts.tag}` : ''}`), id);
      return id;
    } finally {
      if (pause) await this.containers.runtime.resume(c.Id).catch(() => {});
    }
  }

  // ---- cp ----------------------------------------------------------------------------------------

  private target(root: string, p: string): string {
    if (!p) throw new InvalidArgument('path cannot be empty');
    return resolveInRoot(root, p.replace(/\/+$/, '') || '/', false);
  }

  async stat(ref: string, p: string): Promise<PathStat> {
    const c = this.containers.resolve(ref);
    return (await this.withRoot(c, async (root) => this.statIn(root, p))).value;
  }

  private statIn(root: string, p: string): PathStat {
    const host = this.target(root, p);
    const st = lstatSync(host, { throwIfNoEntry: false });
    if (!st) throw new NotFound(`Could not find the file ${p} in container ${path.basename(path.dirname(root))}`);
    return {
      name: path.basename(p) || '/', size: st.size, mode: goMode(st.mode), mtime: st.mtime.toISOString(),
      linkTarget: st.isSymbolicLink() ? readlinkSync(host) : '',
    };
  }

  /** A tar of `p` (named by its base name, as docker cp expects) and its stat. */
  async getArchive(ref: string, p: string): Promise<{ stat: PathStat; tar: Readable }> {
    const c = this.containers.resolve(ref);
    const { value, release } = await this.withRoot(c, async (root) => {
      const stat = this.statIn(root, p);
      const host = this.target(root, p);
      const st = lstatSync(host);
      const name = path.basename(host) || '.';
      const tar = st.isDirectory()
        ? tarTree(host, { prefix: name, includeRoot: true })
        : tarTree(path.dirname(host), { exclude: (rel) => rel !== path.basename(host) });
      return { stat, tar };
    }, true);
    value.tar.once('close', release);
    value.tar.once('end', release);
    return value;
  }

  /** Extracts a tar into directory `p` of the container; nothing may land outside its root. */
  async putArchive(ref: string, p: string, tar: AsyncIterable<Buffer>): Promise<void> {
    const c = this.containers.resolve(ref);
    if (c.HostConfig.ReadonlyRootfs) throw new InvalidArgument('container rootfs is marked read-only');
    await this.withRoot(c, async (root) => {
      const dir = this.target(root, p);
      const st = lstatSync(dir, { throwIfNoEntry: false });
      if (!st) throw new NotFound(`Could not find the file ${p} in container ${c.Name.slice(1)}`);
      if (!st.isDirectory()) throw new InvalidArgument(`extraction point is not a directory`);
      await applyLayer(dir, tar, { digest: false, whiteouts: 'delete' });
    });
  }
}
