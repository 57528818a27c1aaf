// Making layers for build steps: a writable snapshot over the parent's layers is mounted, changed
// (COPY, ADD, WORKDIR) or taken from a finished RUN container, and its upper dir becomes the
// step's layer tar. An empty change makes no layer (history says empty_layer), as in Docker.
import { lstatSync, lutimesSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ImageService, LayerRecord } from '../images/index.js';
import { diffUpper } from '../lib/archive/index.js';
import type { Digest } from '../lib/digest.js';
import { mountAll, unmountRecursive } from '../lib/sys/index.js';

// The layer store's crash recovery removes snapshots with this prefix.
const SCRATCH_PREFIX = 'extract-build-';

/** Sets every entry's mtime that is later than `epoch` (seconds) to `epoch`: reproducible layers. */
export function clampTimes(dir: string, epoch: number): void {
  const visit = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) visit(path.join(p, n));
    if (st.mtimeMs / 1000 > epoch) lutimesSync(p, epoch, epoch);
  };
  for (const n of readdirSync(dir)) visit(path.join(dir, n));
}

export class StepLayers {
  constructor(private readonly images: ImageService, private readonly tmp: string) {}

  /** The layer of an upper dir on top of `parent`; undefined when nothing changed. */
  async fromUpper(upper: string, parent: Digest | undefined, epoch?: number): Promise<LayerRecord | undefined> {
    if (readdirSync(upper).length === 0) return undefined;
    if (epoch !== undefined) clampTimes(upper, epoch);
    return this.images.layers.unpack(diffUpper(upper) as AsyncIterable<Buffer>, parent);
  }

  /** Runs `change` on a writable root over `parent` and returns the resulting layer, if any. */
  async mutate(parent: Digest | undefined, change: (rootfs: string) => Promise<void>, epoch?: number): Promise<LayerRecord | undefined> {
    const key = SCRATCH_PREFIX + randomBytes(8).toString('hex');
    const target = path.join(this.tmp, key);
    mkdirSync(target, { recursive: true });
    const snapshots = this.images.snapshotter;
    const mounts = await snapshots.prepare(key, parent);
    try {
      mountAll(mounts, target);
      try {
        await change(target);
      } finally {
        unmountRecursive(target);
      }
      return await this.fromUpper(await snapshots.upperDir(key), parent, epoch);
    } finally {
      await snapshots.remove(key).catch(() => {});
      rmSync(target, { recursive: true, force: true });
    }
  }

  /** A read-only mount of an image's root for the duration of `use` (COPY --from). */
  async view<T>(top: Digest | undefined, use: (rootfs: string) => Promise<T>): Promise<T> {
    const key = SCRATCH_PREFIX + randomBytes(8).toString('hex');
    const target = path.join(this.tmp, key);
    mkdirSync(target, { recursive: true });
    const snapshots = this.images.snapshotter;
    const mounts = await snapshots.view(key, top);
    try {
      mountAll(mounts, target);
      try {
        return await use(target);
      } finally {
        unmountRecursive(target);
      }
    } finally {
      await snapshots.remove(key).catch(() => {});
      rmSync(target, { recursive: true, force: true });
    }
  }
}
