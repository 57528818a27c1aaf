// The snapshotter's contract, after containerd's core/snapshots: committed snapshots are read-only
// layers named by the caller (berth names them by chain ID); active snapshots are writable and
// keyed. The snapshotter returns mounts and never mounts.
import type { Mount } from '../lib/mount.js';

export type SnapshotKind = 'view' | 'active' | 'committed';

export interface SnapshotInfo {
  kind: SnapshotKind;
  name: string;
  parent?: string;
  labels: Record<string, string>;
  createdAt: Date;
}

export interface Usage {
  size: number;
  inodes: number;
}

export interface Snapshotter {
  stat(key: string): Promise<SnapshotInfo>; // NotFound
  /** A writable snapshot on top of `parent` (a committed name), or empty. AlreadyExists if the key is taken. */
  prepare(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]>;
  /** A read-only view of `parent`. */
  view(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]>;
  mounts(key: string): Promise<Mount[]>;
  /**
   * Turns active snapshot `key` into committed snapshot `name`. A snapshot prepared without a
   * parent may name its (committed) `parent` here: a layer's own files do not depend on the layers
   * below, so layers can be unpacked side by side and stacked in order as they commit.
   */
  commit(name: string, key: string, labels?: Record<string, string>, parent?: string): Promise<void>;
  /** FailedPrecondition if it has children. */
  remove(key: string): Promise<void>;
  usage(key: string): Promise<Usage>;
  walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void>;
  /** The directory that holds the snapshot's own files (an overlay upper dir), for diffs. */
  upperDir(key: string): Promise<string>;
}
