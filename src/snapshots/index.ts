export type { SnapshotInfo, SnapshotKind, Snapshotter, Usage } from './snapshotter.js';
export { OverlaySnapshotter, usageOf } from './overlay.js';
