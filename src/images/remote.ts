// What pull and push need from a registry repository (registry/client implements it), and the
// index of compressed layer blobs: diff ID -> the blob as a registry knows it, with the
// repositories it came from, so a later push can skip, mount or reuse it without recompressing.
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Digest } from '../lib/digest.js';
import type { Descriptor } from '../lib/oci.js';
import { writeJsonAtomic } from '../lib/atomic.js';

export interface RemoteRepository {
  readonly domain: string;
  readonly path: string;
  getManifest(reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: Digest }>;
  getBlob(digest: Digest, signal?: AbortSignal): Promise<{ stream: Readable; size: number }>;
  hasBlob(digest: Digest): Promise<boolean>;
  mountBlob(digest: Digest, from: string): Promise<boolean>;
  uploadBlob(digest: Digest, size: number, open: () => AsyncIterable<Buffer>, onBytes?: (n: number) => void): Promise<void>;
  putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<Digest>;
}

export interface CompressedBlob extends Descriptor {
  /** `domain/path` of repositories known to hold the blob. */
  sources: string[];
}

export class CompressedBlobIndex {
  private entries: Record<string, CompressedBlob>;
  private readonly file: string;

  constructor(root: string) {
    this.file = path.join(root, 'compressed.json');
    this.entries = existsSync(this.file) ? JSON.parse(readFileSync(this.file, 'utf8')) : {};
  }

  get(diffID: Digest): CompressedBlob | undefined {
    return this.entries[diffID];
  }

  put(diffID: Digest, desc: Descriptor, source?: string): void {
    const old = this.entries[diffID];
    const sources = old && old.digest === desc.digest ? old.sources : [];
    if (source && !sources.includes(source)) sources.push(source);
    this.entries[diffID] = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, sources };
    writeJsonAtomic(this.file, this.entries);
  }

  /** Forgets entries whose diff ID no longer has a layer; returns the blobs still wanted. */
  retain(liveDiffIDs: Set<string>): Set<string> {
    let changed = false;
    for (const k of Object.keys(this.entries)) {
      if (!liveDiffIDs.has(k)) {
        delete this.entries[k];
        changed = true;
      }
    }
    if (changed) writeJsonAtomic(this.file, this.entries);
    return new Set(Object.values(this.entries).map((e) => e.digest));
  }
}
