import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OverlaySnapshotter } from '../../src/snapshots/index.js';
import { snapshotterContract } from './snapshots.contract.js';

snapshotterContract('OverlaySnapshotter', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-snap-'));
  return { s: new OverlaySnapshotter(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});
