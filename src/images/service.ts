// The image service: everything the Engine API's image endpoints need, over the content store,
// the snapshotter and the image records. Results are shaped as the Docker API returns them.
import type { Readable } from 'node:stream';
import { Conflict, InvalidArgument, NotFound, isFailedPrecondition } from '../errdefs/index.js';
import type { ContentStore } from '../content/index.js';
import type { OverlaySnapshotter } from '../snapshots/index.js';
import { sha256, shortId, type Digest } from '../lib/digest.js';
import { hostPlatform, type HistoryEntry, type ImageConfig, type ImageRunConfig } from '../lib/oci.js';
import { decompress } from '../lib/archive/index.js';
import { applyChanges } from './changes.js';
import { LayerStore } from './layers.js';
import { ImageRecords, type ImageRecord } from './store.js';
import { familiarString, formatReference, parseNamedReference, parseReference, repositoryName, withDefaultTag } from './reference.js';
import type { DeleteItem, Filters, HistoryItem, ImageEvent, ImageInspect, ImageSummary, PruneReport } from './types.js';
import { matchesReference, parseUntil } from './filters.js';
import { CompressedBlobIndex } from './remote.js';
import { matchAllLabels, matchLabel } from '../lib/labels.js';

export interface ContainerUse {
  containerID: string;
  running: boolean;
}

export interface ImageServiceOptions {
  root: string;
  content: ContentStore;
  snapshotter: OverlaySnapshotter;
  /** Containers using an image (the container service supplies it once it exists). */
  usedBy?: (imageID: Digest) => ContainerUse[];
  onEvent?: (e: ImageEvent) => void;
}

export interface ImportOptions {
  repo?: string;
  tag?: string;
  changes?: string[];
  message?: string;
  /** Shown in history's CREATED BY column, as Docker's "Imported from -". */
  source?: string;
  platform?: string;
}

export class ImageService {
  readonly records: ImageRecords;
  readonly layers: LayerStore;
  /** Layers as registries know them (compressed), for push and for skipping re-downloads. */
  readonly compressed: CompressedBlobIndex;
  readonly content: ContentStore;
  readonly snapshotter: OverlaySnapshotter;
  private usedBy: (id: Digest) => ContainerUse[];
  private readonly emit: (e: ImageEvent) => void;

  constructor(opts: ImageServiceOptions) {
    this.content = opts.content;
    this.snapshotter = opts.snapshotter;
    this.records = new ImageRecords(opts.root, opts.content);
    this.layers = new LayerStore(this.records, opts.content, opts.snapshotter);
    this.compressed = new CompressedBlobIndex(opts.root);
    this.usedBy = opts.usedBy ?? (() => []);
    this.emit = opts.onEvent ?? (() => {});
  }

  setUsedBy(fn: (id: Digest) => ContainerUse[]): void {
    this.usedBy = fn;
  }

  /** Cleans what a crash left: half-unpacked layers, ingests, unreferenced blobs and snapshots. */
  async recover(): Promise<void> {
    await this.layers.recover();
    await this.collectGarbage();
  }

  resolve(ref: string): ImageRecord {
    return this.records.resolve(ref).image;
  }

  async config(ref: string): Promise<ImageConfig> {
    return this.records.config(this.resolve(ref).id);
  }

  /** The chain ID of the image's top layer: the parent of a container's writable snapshot. */
  topChainID(id: Digest): Digest | undefined {
    const img = this.records.images.get(id);
    if (!img) throw new NotFound(`No such image: ${id}`);
    return img.chainIDs[img.chainIDs.length - 1];
  }

  private size(img: ImageRecord): number {
    return img.chainIDs.reduce((n, c) => n + (this.records.layers.get(c)?.size ?? 0), 0);
  }

  /** Stored references are normalised already; their familiar forms are memoised. */
  private readonly familiar = new Map<string, string>();
  private familiarOf(ref: string): string {
    let f = this.familiar.get(ref);
    if (f === undefined) this.familiar.set(ref, (f = familiarString(parseReference(ref))));
    return f;
  }

  private tagsOf(id: Digest): string[] {
    return this.records.refsOf(id).filter((r) => !r.includes('@')).map((r) => this.familiarOf(r));
  }

  private digestsOf(img: ImageRecord): string[] {
    return this.records.refsOf(img.id).filter((r) => r.includes('@')).map((r) => this.familiarOf(r));
  }

  // ---- list ----------------------------------------------------------------------------------

  list(opts: { all?: boolean; filters?: Filters; sharedSize?: boolean; containers?: boolean } = {}): ImageSummary[] {
    const f = opts.filters ?? {};
    for (const key of Object.keys(f)) {
      if (!['dangling', 'label', 'before', 'since', 'reference', 'until'].includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
    }
    const dangling = f['dangling']?.[0];
    if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) throw new InvalidArgument(`invalid filter 'dangling=${dangling}'`);
    const before = f['before']?.map((r) => this.resolve(r).created);
    const since = f['since']?.map((r) => this.resolve(r).created);
    const until = f['until']?.map(parseUntil);
    const hasChildren = new Set<string>();
    for (const i of this.records.images.values()) if (i.parent) hasChildren.add(i.parent);
    const layerUse = new Map<string, number>();
    if (opts.sharedSize) for (const i of this.records.images.values()) for (const c of i.chainIDs) layerUse.set(c, (layerUse.get(c) ?? 0) + 1);
    const out: ImageSummary[] = [];
    for (const img of this.records.images.values()) {
      const refs = this.records.refsOf(img.id);
      const tagged = refs.length > 0;
      if (!tagged && hasChildren.has(img.id) && !opts.all) continue;
      if (dangling === 'true' || dangling === '1') {
        if (tagged || hasChildren.has(img.id)) continue;
      } else if (dangling === 'false' || dangling === '0') {
        if (!tagged) continue;
      }
      if (!matchAllLabels(img.labels, f['label'])) continue;
      if (before && !before.every((t) => img.created < t)) continue;
      if (since && !since.every((t) => img.created > t)) continue;
      if (until && !until.every((t) => Date.parse(img.created) <= t)) continue;
      let tags = this.tagsOf(img.id);
      let digests = this.digestsOf(img);
      if (f['reference']) {
        // As Docker: only the matching tags and digests are listed, and an image needs one of them.
        const matches = (r: string) => f['reference']!.some((p) => matchesReference(r, p));
        tags = tags.filter(matches);
        digests = digests.filter(matches);
        if (tags.length === 0 && digests.length === 0) continue;
      }
      const size = this.size(img);
      const shared = opts.sharedSize
        ? img.chainIDs.filter((c) => (layerUse.get(c) ?? 0) > 1).reduce((n, c) => n + (this.records.layers.get(c)?.size ?? 0), 0)
        : -1;
      out.push({
        Id: img.id,
        ParentId: img.parent ?? '',
        RepoTags: tags,
        RepoDigests: digests,
        Created: Math.floor(Date.parse(img.created) / 1000),
        Size: size,
        SharedSize: shared,
        VirtualSize: size,
        Labels: img.labels,
        Containers: opts.containers ? this.usedBy(img.id).length : -1,
      });
    }
    return out.sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : 1));
  }

  // ---- inspect and history ---------------------------------------------------------------------

  async inspect(ref: string): Promise<ImageInspect> {
    const img = this.resolve(ref);
    const c = await this.records.config(img.id);
    const size = this.size(img);
    const dirs = await Promise.all(img.chainIDs.map((ch) => this.snapshotter.upperDir(ch).catch(() => '')));
    return {
      Id: img.id,
      RepoTags: this.tagsOf(img.id),
      RepoDigests: this.digestsOf(img),
      Parent: img.parent ?? '',
      Comment: c.comment ?? c.history?.[c.history.length - 1]?.comment ?? '',
      Created: c.created ?? img.created,
      Container: c.container,
      ContainerConfig: c.container_config,
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: c.config ?? null,
      Architecture: c.architecture,
      Variant: c.variant,
      Os: c.os,
      Size: size,
      VirtualSize: size,
      GraphDriver: {
        Name: 'overlay2',
        Data: dirs.length ? { LowerDir: dirs.slice(0, -1).reverse().join(':'), UpperDir: dirs[dirs.length - 1]!, MergedDir: '', WorkDir: '' } : null,
      },
      RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
      Metadata: { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }

  async history(ref: string): Promise<HistoryItem[]> {
    const img = this.resolve(ref);
    const c = await this.records.config(img.id);
    const history: HistoryEntry[] = c.history?.length ? c.history : c.rootfs.diff_ids.map(() => ({ created: c.created }));
    // Which history entry ends which ancestor image: its last one carries the ancestor's ID.
    const idAt = new Map<number, ImageRecord>();
    for (let cur: ImageRecord | undefined = img; cur; cur = cur.parent ? this.records.images.get(cur.parent) : undefined) {
      const cc = await this.records.config(cur.id);
      idAt.set((cc.history?.length ?? cc.rootfs.diff_ids.length) - 1, cur);
    }
    let layer = 0;
    const items: HistoryItem[] = history.map((h, i) => {
      let size = 0;
      if (!h.empty_layer) {
        size = this.records.layers.get(img.chainIDs[layer]!)?.size ?? 0;
        layer++;
      }
      const owner = idAt.get(i);
      const tags = owner ? this.tagsOf(owner.id) : [];
      return {
        Id: owner ? owner.id : '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: tags.length ? tags : null,
        Size: size,
        Comment: h.comment ?? '',
      };
    });
    return items.reverse();
  }

  // ---- tag and remove --------------------------------------------------------------------------

  tag(source: string, target: string): void {
    const img = this.resolve(source);
    const ref = withDefaultTag(parseNamedReference(target));
    if (ref.digest) throw new InvalidArgument(`refusing to create a tag with a digest reference`);
    this.setTag(formatReference(ref), img.id);
  }

  /** Points a normalised reference at an image, leaving the previous image dangling if any. */
  setTag(ref: string, id: Digest): void {
    const old = this.records.setRef(ref, id);
    const img = this.records.images.get(id)!;
    this.records.images.put(id, { ...img, lastTagTime: new Date().toISOString() });
    const name = familiarString(parseReference(ref));
    if (old) this.emit({ Action: 'untag', id: old, name });
    this.emit({ Action: 'tag', id, name });
  }

  /** `docker rmi`: Docker's untag/delete semantics, returning its Untagged/Deleted items. */
  async remove(input: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<DeleteItem[]> {
    const { image: img, viaReference } = this.records.resolve(input);
    const items: DeleteItem[] = [];
    const short = shortId(img.id);
    const users = this.usedBy(img.id);
    const running = users.find((u) => u.running);
    const refs = this.records.refsOf(img.id);
    const byName = viaReference !== undefined && !(/^[a-f0-9]+$/.test(input) && img.id.slice(7).startsWith(input) && !refs.includes(viaReference));

    if (byName) {
      if (refs.length === 1 && users.length && !opts.force) {
        const u = users[0]!;
        throw new Conflict(`conflict: unable to remove repository reference "${input}" (must force) - container ${shortId(u.containerID)} is using its referenced image ${short}`);
      }
      this.untag(viaReference!, img.id, items);
      this.dropOrphanDigestRefs(viaReference!, img.id, items);
      if (this.records.refsOf(img.id).length > 0) return items;
      // The last name is gone: delete the image unless children or containers hold it (stopped
      // containers only stop it without -f, as Docker's soft conflict).
      if (this.records.children(img.id).length || running || (users.length && !opts.force)) return items;
      await this.deleteImage(img, items, !opts.noprune);
      return items;
    }

    if (running) {
      throw new Conflict(`conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${shortId(running.containerID)}`);
    }
    if (this.records.children(img.id).length) {
      throw new Conflict(`conflict: unable to delete ${short} (cannot be forced) - image has dependent child images`);
    }
    const repos = new Set(refs.map((r) => r.replace(/[:@].*$/, '').replace(/^(.*\/[^:@]+).*$/, '$1')));
    if (!opts.force && repos.size > 1) {
      throw new Conflict(`conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
    }
    if (!opts.force && users.length) {
      throw new Conflict(`conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${shortId(users[0]!.containerID)}`);
    }
    for (const r of refs) this.untag(r, img.id, items);
    await this.deleteImage(img, items, !opts.noprune);
    return items;
  }

  /**
   * As Docker: once a repository's last tag on an image goes, its digest references (from pull or
   * push) go too, so `rmi name` after `push name` still deletes the image.
   */
  private dropOrphanDigestRefs(removed: string, id: Digest, items: DeleteItem[]): void {
    if (removed.includes('@')) return;
    const repo = repositoryName(parseReference(removed));
    const refs = this.records.refsOf(id);
    if (refs.some((r) => !r.includes('@') && r.startsWith(`${repo}:`))) return;
    for (const r of refs) if (r.startsWith(`${repo}@`)) this.untag(r, id, items);
  }

  private untag(ref: string, id: Digest, items: DeleteItem[]): void {
    if (!this.records.deleteRef(ref)) return;
    const name = familiarString(parseReference(ref));
    items.push({ Untagged: name });
    this.emit({ Action: 'untag', id, name });
  }

  private async deleteImage(img: ImageRecord, items: DeleteItem[], prune: boolean): Promise<void> {
    this.records.images.delete(img.id);
    this.records.forgetConfig(img.id);
    items.push({ Deleted: img.id });
    this.emit({ Action: 'delete', id: img.id });
    // A forced delete of an image stopped containers use (Docker's rmi -f) drops the record only:
    // its layers and config stay for those containers and go with the last of them.
    if (!this.usedBy(img.id).length) {
      await this.releaseLayers(img.chainIDs, items);
      await this.content.delete(img.id).catch(() => {});
    }
    if (prune && img.parent) {
      const parent = this.records.images.get(img.parent);
      if (parent && !this.records.refsOf(parent.id).length && !this.records.children(parent.id).length && !this.usedBy(parent.id).length) {
        await this.deleteImage(parent, items, prune);
      }
    }
  }

  /** Layers no image uses, top first (children before parents); a layer a container sits on stays. */
  private async releaseLayers(chainIDs: Digest[], items?: DeleteItem[]): Promise<void> {
    const inUse = new Set<string>();
    for (const other of this.records.images.values()) for (const c of other.chainIDs) inUse.add(c);
    for (const c of [...chainIDs].reverse()) {
      if (inUse.has(c)) break;
      try {
        await this.layers.release(c);
      } catch (err) {
        if (isFailedPrecondition(err)) break; // a container of another deleted image still sits on it
        throw err;
      }
      items?.push({ Deleted: c });
    }
  }

  /**
   * Called when a container is removed: if its image was deleted under it (rmi -f) and no other
   * container uses it, the layers and config it kept alive go now.
   */
  async releaseDeleted(id: Digest): Promise<void> {
    if (this.records.images.has(id) || this.usedBy(id).length) return;
    let diffIDs: Digest[];
    try {
      diffIDs = (await this.records.config(id)).rootfs.diff_ids;
    } catch {
      return; // already gone
    }
    this.records.forgetConfig(id);
    await this.releaseLayers(chainIDsOf(diffIDs));
    await this.content.delete(id).catch(() => {});
  }

  // ---- create: import and the shared record writer ----------------------------------------------

  /** `docker import`: a root filesystem tarball (any compression) becomes a one-layer image. */
  async importImage(source: Readable, opts: ImportOptions = {}): Promise<Digest> {
    let target: string | undefined;
    if (opts.repo) {
      const ref = parseNamedReference(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo);
      target = formatReference(withDefaultTag(ref));
    }
    const runConfig = applyChanges({}, opts.changes ?? []);
    const { stream } = await decompress(source);
    const layer = await this.layers.unpack(stream as AsyncIterable<Buffer>, undefined);
    const now = new Date().toISOString();
    const platform = hostPlatform();
    const [os, arch] = opts.platform ? opts.platform.split('/') : [platform.os, platform.architecture];
    const config: ImageConfig = {
      architecture: arch ?? platform.architecture,
      os: os ?? platform.os,
      created: now,
      config: Object.keys(runConfig).length ? runConfig : {},
      rootfs: { type: 'layers', diff_ids: [layer.diffID] },
      history: [{ created: now, created_by: '', comment: opts.message || `Imported from ${opts.source ?? '-'}` }],
    };
    if (opts.message) config.comment = opts.message;
    const id = await this.createImage(config, {});
    if (target) this.setTag(target, id);
    this.emit({ Action: 'import', id });
    return id;
  }

  /** Stores a config whose layers are all present and records the image. Idempotent. */
  async createImage(configOrBytes: ImageConfig | Buffer, opts: { parent?: Digest; manifests?: ImageRecord['manifests'] } = {}): Promise<Digest> {
    // Loaded and pulled configs keep their exact bytes: the image ID is their digest.
    const bytes = Buffer.isBuffer(configOrBytes) ? configOrBytes : Buffer.from(JSON.stringify(configOrBytes));
    const config: ImageConfig = Buffer.isBuffer(configOrBytes) ? JSON.parse(configOrBytes.toString('utf8')) : configOrBytes;
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw new InvalidArgument('invalid image config: no rootfs.diff_ids');
    const id = sha256(bytes);
    const chains = chainIDsOf(config.rootfs.diff_ids);
    for (const c of chains) if (!this.records.layers.has(c)) throw new InvalidArgument(`layer ${c} of image ${id} is not present`);
    if (!(await this.content.has(id))) {
      const w = await this.content.writer(`config-${id}`);
      await w.write(bytes);
      await w.commit({ digest: id, size: bytes.length });
    }
    const existing = this.records.images.get(id);
    const runConfig: ImageRunConfig = config.config ?? {};
    this.records.images.put(id, {
      id,
      parent: opts.parent ?? existing?.parent,
      stored: existing?.stored ?? new Date().toISOString(),
      lastTagTime: existing?.lastTagTime,
      created: config.created ?? new Date(0).toISOString(),
      labels: runConfig.Labels ?? {},
      chainIDs: chains,
      manifests: opts.manifests ?? existing?.manifests,
    });
    return id;
  }

  // ---- prune, df, gc ---------------------------------------------------------------------------

  async prune(opts: { all?: boolean; filters?: Filters } = {}): Promise<PruneReport> {
    const f = opts.filters ?? {};
    for (const key of Object.keys(f)) if (!['dangling', 'until', 'label', 'label!'].includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
    const all = opts.all || f['dangling']?.[0] === 'false' || f['dangling']?.[0] === '0';
    const until = f['until']?.map(parseUntil);
    const before = this.usageTotal();
    const deleted: DeleteItem[] = [];
    // Repeat: deleting a child can make its parent prunable.
    for (let changed = true; changed;) {
      changed = false;
      for (const img of [...this.records.images.values()]) {
        if (!this.records.images.has(img.id)) continue;
        if (this.usedBy(img.id).length || this.records.children(img.id).length) continue;
        const tagged = this.records.refsOf(img.id).length > 0;
        if (tagged && !all) continue;
        if (until && !until.every((t) => Date.parse(img.created) < t)) continue;
        if (!matchAllLabels(img.labels, f['label'])) continue;
        if (f['label!'] && f['label!'].some((l) => matchLabel(img.labels, l))) continue;
        for (const r of this.records.refsOf(img.id)) this.untag(r, img.id, deleted);
        await this.deleteImage(img, deleted, true);
        changed = true;
      }
    }
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: before - this.usageTotal() };
  }

  /** Bytes of all unpacked layers, each counted once. */
  usageTotal(): number {
    let n = 0;
    for (const l of this.records.layers.values()) n += l.size;
    return n;
  }

  /** Removes layers and blobs that no image references (left by a crash or an interrupted load). */
  async collectGarbage(): Promise<{ layers: number; blobs: number }> {
    const liveChains = new Set<string>();
    const liveBlobs = new Set<string>();
    for (const img of this.records.images.values()) {
      liveBlobs.add(img.id);
      for (const c of img.chainIDs) liveChains.add(c);
    }
    let layers = 0;
    const byDepth = [...this.records.layers.values()].filter((l) => !liveChains.has(l.chainID));
    // Remove children before parents: a layer whose chain is a parent of another goes last.
    const parents = new Set(byDepth.map((l) => l.parent).filter(Boolean));
    byDepth.sort((a, b) => Number(parents.has(a.chainID)) - Number(parents.has(b.chainID)));
    for (const l of byDepth) {
      try {
        await this.layers.release(l.chainID);
        layers++;
      } catch {
        // Still a parent of a live snapshot (a container): keep it.
      }
    }
    const liveDiffIDs = new Set<string>();
    for (const l of this.records.layers.values()) {
      liveBlobs.add(l.blob.digest);
      liveDiffIDs.add(l.diffID);
    }
    for (const d of this.compressed.retain(liveDiffIDs)) liveBlobs.add(d);
    let blobs = 0;
    const dead: Digest[] = [];
    await this.content.walk((b) => {
      // A config with no image record may still be a container's (its image was rmi -f'd).
      if (!liveBlobs.has(b.digest) && !b.labels['berth.keep'] && !this.usedBy(b.digest as Digest).length) dead.push(b.digest);
    });
    for (const d of dead) {
      await this.content.delete(d).catch(() => {});
      blobs++;
    }
    return { layers, blobs };
  }
}

export function chainIDsOf(diffIDs: Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIDs) out.push(out.length ? sha256(`${out[out.length - 1]} ${d}`) : d);
  return out;
}

