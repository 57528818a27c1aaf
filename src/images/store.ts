// The image store's records: images by ID (the config digest), layers by chain ID, and the
// reference store (normalised `name:tag` and `name@digest` -> image ID). Everything lives in
// memory and is written through crash-safely, so listing never touches the disk.
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgument, NotFound } from '../errdefs/index.js';
import type { Digest } from '../lib/digest.js';
import type { Descriptor, ImageConfig } from '../lib/oci.js';
import { writeJsonAtomic } from '../lib/atomic.js';
import { RecordStore } from '../metadata/index.js';
import type { ContentStore } from '../content/index.js';
import { parseReference, withDefaultTag, formatReference } from './reference.js';

export interface LayerRecord {
  chainID: Digest;
  diffID: Digest;
  parent?: Digest;
  /** Bytes of the unpacked files (what `docker images` sums). */
  size: number;
  /** The layer's blob in the content store: the uncompressed tar (digest = diff ID) or as pulled. */
  blob: Descriptor;
}

export interface ImageRecord {
  id: Digest;
  /** The image this one was built on (classic builder and commit); not the base layer. */
  parent?: Digest;
  /** When this engine first stored the image. */
  stored: string;
  lastTagTime?: string;
  /** From the config, kept here so listing needs no blob reads. */
  created: string;
  labels: Record<string, string>;
  chainIDs: Digest[];
  /** Manifest digests this image is known by in registries (for RepoDigests). */
  manifests?: Descriptor[];
}

export class ImageRecords {
  readonly images: RecordStore<ImageRecord>;
  readonly layers: RecordStore<LayerRecord>;
  private refs: Record<string, Digest>;
  /** Reverse index: image ID -> its references, so listing is linear in the number of images. */
  private readonly byImage = new Map<Digest, Set<string>>();
  private readonly refsFile: string;
  private readonly configs = new Map<Digest, ImageConfig>();

  constructor(root: string, private readonly content: ContentStore) {
    this.images = new RecordStore(path.join(root, 'images'));
    this.layers = new RecordStore(path.join(root, 'layers'));
    this.refsFile = path.join(root, 'references.json');
    this.refs = existsSync(this.refsFile) ? JSON.parse(readFileSync(this.refsFile, 'utf8')) : {};
    // References to images that are gone (a crash between the two writes) are dropped.
    let dropped = false;
    for (const [ref, id] of Object.entries(this.refs)) {
      if (!this.images.has(id)) {
        delete this.refs[ref];
        dropped = true;
      }
    }
    if (dropped) this.saveRefs();
    for (const [ref, id] of Object.entries(this.refs)) this.index(ref, id);
  }

  private index(ref: string, id: Digest): void {
    let set = this.byImage.get(id);
    if (!set) this.byImage.set(id, (set = new Set()));
    set.add(ref);
  }

  private unindex(ref: string, id: Digest): void {
    const set = this.byImage.get(id);
    set?.delete(ref);
    if (set?.size === 0) this.byImage.delete(id);
  }

  private saveRefs(): void {
    writeJsonAtomic(this.refsFile, this.refs);
  }

  async config(id: Digest): Promise<ImageConfig> {
    let c = this.configs.get(id);
    if (!c) {
      c = JSON.parse((await this.content.readAll(id)).toString('utf8')) as ImageConfig;
      this.configs.set(id, c);
    }
    return c;
  }

  forgetConfig(id: Digest): void {
    this.configs.delete(id);
  }

  /** References (full form) pointing at `id`, tags before digests, sorted. */
  refsOf(id: Digest): string[] {
    const set = this.byImage.get(id);
    return set ? [...set].sort() : [];
  }

  allRefs(): Array<[string, Digest]> {
    return Object.entries(this.refs);
  }

  lookupRef(normalized: string): Digest | undefined {
    return this.refs[normalized];
  }

  /** Points `ref` (normalised) at `id`; returns the image it pointed at before, if another. */
  setRef(ref: string, id: Digest): Digest | undefined {
    const old = this.refs[ref];
    this.refs[ref] = id;
    this.saveRefs();
    if (old) this.unindex(ref, old);
    this.index(ref, id);
    return old !== id ? old : undefined;
  }

  deleteRef(ref: string): boolean {
    if (!(ref in this.refs)) return false;
    this.unindex(ref, this.refs[ref]!);
    delete this.refs[ref];
    this.saveRefs();
    return true;
  }

  children(id: Digest): ImageRecord[] {
    return [...this.images.values()].filter((i) => i.parent === id);
  }

  /**
   * Finds an image as Docker does: a full or `sha256:`-prefixed ID, a reference (tag defaulted), or
   * a unique ID prefix. `viaReference` says whether a name matched (rmi untags then).
   */
  resolve(input: string): { image: ImageRecord; viaReference?: string } {
    const bare = input.startsWith('sha256:') ? input.slice(7) : input;
    if (/^[a-f0-9]{64}$/.test(bare)) {
      const img = this.images.get(`sha256:${bare}`);
      if (img) return { image: img };
    }
    let parsed;
    try {
      parsed = parseReference(input);
    } catch {
      parsed = undefined;
    }
    if (parsed && !input.startsWith('sha256:')) {
      const ref = formatReference(withDefaultTag(parsed));
      const id = this.refs[ref];
      if (id && this.images.has(id)) return { image: this.images.get(id)!, viaReference: ref };
    }
    if (/^[a-f0-9]{1,64}$/.test(bare)) {
      const matches = [...this.images.keys()].filter((k) => k.slice(7).startsWith(bare));
      if (matches.length === 1) return { image: this.images.get(matches[0]!)! };
      if (matches.length > 1) throw new InvalidArgument(`multiple IDs found with provided prefix: ${bare}`);
    }
    throw new NotFound(`No such image: ${input}`);
  }
}

