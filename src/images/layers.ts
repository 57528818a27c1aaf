// Unpacking layers into snapshots, once per chain ID. The uncompressed tar is kept in the content
// store as it streams by (its digest is the diff ID), so save and push have the exact bytes;
// unless the layer's compressed blob is stored already (a pull), which then stands for the layer.
import { randomBytes } from 'node:crypto';
import { InvalidArgument } from '../errdefs/index.js';
import type { ContentStore } from '../content/index.js';
import type { OverlaySnapshotter } from '../snapshots/index.js';
import { applyLayer } from '../lib/archive/index.js';
import { MediaType, type Descriptor } from '../lib/oci.js';
import { sha256, type Digest } from '../lib/digest.js';
import type { ImageRecords, LayerRecord } from './store.js';

export const EXTRACT_PREFIX = 'extract-';

export interface UnpackOptions {
  /**
   * The compressed blob this tar comes from, already in (or on its way into) the content store:
   * it becomes the layer's blob and the tar is not stored a second time.
   */
  blob?: Descriptor;
  /** Runs after the tar is applied and matched, before the layer is committed; a throw discards it. */
  beforeCommit?: () => Promise<void>;
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
  async unpack(tar: AsyncIterable<Buffer>, parent: Digest | undefined, expectedDiffID?: Digest, opts: UnpackOptions = {}): Promise<LayerRecord> {
    if (expectedDiffID) {
      const chainID = parent ? sha256(`${parent} ${expectedDiffID}`) : expectedDiffID;
      const have = this.get(chainID);
      if (have) return have;
      const running = this.inflight.get(chainID);
      if (running) return running;
      const p = this.doUnpack(tar, parent, expectedDiffID, opts).finally(() => this.inflight.delete(chainID));
      this.inflight.set(chainID, p);
      return p;
    }
    return this.doUnpack(tar, parent, undefined, opts);
  }

  private async doUnpack(tar: AsyncIterable<Buffer>, parent: Digest | undefined, expectedDiffID: Digest | undefined, opts: UnpackOptions): Promise<LayerRecord> {
    const key = `${EXTRACT_PREFIX}${randomBytes(8).toString('hex')}`;
    await this.snapshotter.prepare(key, parent);
    // Without a stored blob the tar is kept: the content writer hashes it on the way.
    const writer = opts.blob ? undefined : await this.content.writer(key);
    let committed = false;
    try {
      const upper = await this.snapshotter.upperDir(key);
      const tee = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of tar) {
          await writer!.write(chunk);
          yield chunk;
        }
      };
      const applied = await applyLayer(upper, writer ? tee() : tar, { whiteouts: 'overlay', digest: !writer });
      const diffID = writer ? writer.digest() : applied.diffID!;
      if (expectedDiffID && diffID !== expectedDiffID) {
        throw new InvalidArgument(`layer content does not match its diff ID: expected ${expectedDiffID}, got ${diffID}`);
      }
      await opts.beforeCommit?.();
      const chainID = parent ? sha256(`${parent} ${diffID}`) : diffID;
      const existing = this.get(chainID);
      if (existing) {
        await writer?.abort();
        committed = true;
        await this.snapshotter.remove(key);
        return existing;
      }
      await writer?.commit({ digest: diffID, size: applied.size });
      committed = true;
      await this.snapshotter.commit(chainID, key);
      const blob = opts.blob ?? { mediaType: MediaType.OciLayer, digest: diffID, size: applied.size };
      const record: LayerRecord = { chainID, diffID, parent, size: applied.unpackedSize, blob };
      this.records.layers.put(chainID, record);
      return record;
    } catch (err) {
      if (!committed) await writer?.abort().catch(() => {});
      await this.snapshotter.remove(key).catch(() => {});
      throw err;
    }
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
