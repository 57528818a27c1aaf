// Unpacking layers into snapshots, once per chain ID. For load and import the uncompressed tar is
// kept in the content store as it streams by (its digest is the diff ID), so save and push have
// the exact bytes; a pull extracts layers side by side and keeps the compressed blob instead.
import { randomBytes } from 'node:crypto';
import { InvalidArgument } from '../errdefs/index.js';
import type { ContentStore } from '../content/index.js';
import type { OverlaySnapshotter } from '../snapshots/index.js';
import { applyLayer, type ApplyResult } from '../lib/archive/index.js';
import { MediaType, type Descriptor } from '../lib/oci.js';
import { sha256, type Digest } from '../lib/digest.js';
import type { ImageRecords, LayerRecord } from './store.js';

export const EXTRACT_PREFIX = 'extract-';

/** A layer unpacked into its own uncommitted snapshot (see LayerStore.extract). */
export interface ExtractedLayer {
  key: string;
  diffID: Digest;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Bytes of file content written. */
  unpackedSize: number;
}

export class LayerStore {
  /** Unpacks in flight, by chain ID, so concurrent loads of one layer share the work. */
  private readonly inflight = new Map<string, Promise<LayerRecord>>();

  constructor(
    private readonly records: ImageRecords,
    private readonly content: ContentStore,
    private readonly snapshotter: OverlaySnapshotter,
  ) {}

  get(chainID: Digest): LayerRecord | undefined {
    return this.records.layers.get(chainID);
  }

  /**
   * Applies an uncompressed layer tar on top of `parent` (a chain ID). With `expectedDiffID` the
   * layer is refused if its content does not match, and skipped if the chain is already present.
   */
  async unpack(tar: AsyncIterable<Buffer>, parent: Digest | undefined, expectedDiffID?: Digest): Promise<LayerRecord> {
    if (expectedDiffID) {
      const chainID = parent ? sha256(`${parent} ${expectedDiffID}`) : expectedDiffID;
      const have = this.get(chainID);
      if (have) return have;
      const running = this.inflight.get(chainID);
      if (running) return running;
      const p = this.doUnpack(tar, parent, expectedDiffID).finally(() => this.inflight.delete(chainID));
      this.inflight.set(chainID, p);
      return p;
    }
    return this.doUnpack(tar, parent, undefined);
  }

  private async doUnpack(tar: AsyncIterable<Buffer>, parent: Digest | undefined, expectedDiffID: Digest | undefined): Promise<LayerRecord> {
    const key = `${EXTRACT_PREFIX}${randomBytes(8).toString('hex')}`;
    await this.snapshotter.prepare(key, parent);
    // The tar is kept: the content writer hashes it on the way (its digest is the diff ID).
    const writer = await this.content.writer(key);
    let committed = false;
    try {
      const upper = await this.snapshotter.upperDir(key);
      const tee = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of tar) {
          await writer.write(chunk);
          yield chunk;
        }
      };
      const applied = await applyLayer(upper, tee(), { whiteouts: 'overlay', digest: false });
      const diffID = writer.digest();
      if (expectedDiffID && diffID !== expectedDiffID) {
        throw new InvalidArgument(`layer content does not match its diff ID: expected ${expectedDiffID}, got ${diffID}`);
      }
      const chainID = parent ? sha256(`${parent} ${diffID}`) : diffID;
      if (this.get(chainID)) await writer.abort();
      else await writer.commit({ digest: diffID, size: applied.size });
      committed = true;
      const blob = { mediaType: MediaType.OciLayer, digest: diffID, size: applied.size };
      return await this.commitSnapshot(key, parent, { key, diffID, size: applied.size, unpackedSize: applied.unpackedSize }, blob);
    } catch (err) {
      if (!committed) await writer.abort().catch(() => {});
      await this.snapshotter.remove(key).catch(() => {});
      throw err;
    }
  }

  /**
   * Unpacks a layer into a snapshot of its own with no parent yet, and leaves it uncommitted (a
   * crash leaves nothing visible: recover() drops it). An overlay layer's files do not depend on
   * the layers below, so a pull unpacks all its layers at once and commits them in order with
   * commitExtracted(). Refused if the content does not match `expectedDiffID`.
   */
  async extract(apply: (dir: string) => Promise<ApplyResult>, expectedDiffID: Digest): Promise<ExtractedLayer> {
    const key = `${EXTRACT_PREFIX}${randomBytes(8).toString('hex')}`;
    await this.snapshotter.prepare(key);
    try {
      const applied = await apply(await this.snapshotter.upperDir(key));
      if (applied.diffID !== expectedDiffID) {
        throw new InvalidArgument(`layer content does not match its diff ID: expected ${expectedDiffID}, got ${applied.diffID}`);
      }
      return { key, diffID: applied.diffID, size: applied.size, unpackedSize: applied.unpackedSize };
    } catch (err) {
      await this.snapshotter.remove(key).catch(() => {});
      throw err;
    }
  }

  /** Commits an extracted layer onto `parent` (committed already), with `blob` as its stored form. */
  async commitExtracted(layer: ExtractedLayer, parent: Digest | undefined, blob: Descriptor): Promise<LayerRecord> {
    try {
      return await this.commitSnapshot(layer.key, parent, layer, blob);
    } catch (err) {
      await this.discard(layer);
      throw err;
    }
  }

  /** Drops an extracted layer that will not be committed. */
  async discard(layer: ExtractedLayer): Promise<void> {
    await this.snapshotter.remove(layer.key).catch(() => {});
  }

  /** The snapshot `key` becomes layer parent+diffID, unless another unpack made that layer first. */
  private async commitSnapshot(key: string, parent: Digest | undefined, layer: ExtractedLayer, blob: Descriptor): Promise<LayerRecord> {
    const chainID = parent ? sha256(`${parent} ${layer.diffID}`) : layer.diffID;
    const existing = this.get(chainID);
    if (existing) {
      await this.snapshotter.remove(key);
      return existing;
    }
    await this.snapshotter.commit(chainID, key, undefined, parent);
    const record: LayerRecord = { chainID, diffID: layer.diffID, parent, size: layer.unpackedSize, blob };
    this.records.layers.put(chainID, record);
    return record;
  }

  /** Removes a layer no image uses any more: its snapshot, its blob and its record. */
  async release(chainID: Digest): Promise<void> {
    const rec = this.get(chainID);
    if (!rec) return;
    await this.snapshotter.remove(chainID);
    this.records.layers.delete(chainID);
    // Another layer (another chain) may share the blob: same diff ID on a different parent.
    const shared = [...this.records.layers.values()].some((l) => l.blob.digest === rec.blob.digest);
    if (!shared) await this.content.delete(rec.blob.digest).catch(() => {});
  }

  /** Drops half-made unpacks left by a crash. */
  async recover(): Promise<void> {
    const stale: string[] = [];
    await this.snapshotter.walk((i) => {
      if (i.name.startsWith(EXTRACT_PREFIX)) stale.push(i.name);
    });
    for (const k of stale) await this.snapshotter.remove(k).catch(() => {});
    for (const ingest of await this.content.ingests()) await this.content.abortIngest(ingest.ref).catch(() => {});
  }
}
