// `docker save`: one tar holding an OCI image layout (oci-layout, index.json, blobs/) and Docker's
// own manifest.json and repositories files, as Docker 25+ writes it, so both `docker load` and
// OCI tools (skopeo) read it. Layers are the uncompressed tars whose digests are the diff IDs.
import { createReadStream, statSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { once } from 'node:events';
import { NotFound } from '../errdefs/index.js';
import { sha256, encodedOf, type Digest } from '../lib/digest.js';
import { MediaType, type Descriptor, type Manifest } from '../lib/oci.js';
import { TarWriter, type TarHeader } from '../lib/tar/index.js';
import type { ImageService } from './service.js';
import { familiarRepository, familiarString, formatReference, parseReference, withDefaultTag } from './reference.js';

interface SavedImage {
  id: Digest;
  /** Normalised references to write as tags. */
  refs: string[];
}

/** Which images and tags `save NAME...` includes: a tag, a whole repository, or an ID (no tags). */
export function selectForSave(images: ImageService, names: string[]): SavedImage[] {
  const byId = new Map<Digest, Set<string>>();
  const add = (id: Digest, ref?: string) => {
    const s = byId.get(id) ?? new Set<string>();
    if (ref) s.add(ref);
    byId.set(id, s);
  };
  for (const name of names) {
    let parsed;
    try {
      parsed = parseReference(name);
    } catch {
      parsed = undefined;
    }
    // A bare repository name means every tag of it, as Docker does.
    if (parsed && parsed.tag === undefined && parsed.digest === undefined) {
      const repo = `${parsed.domain}/${parsed.path}:`;
      const tags = images.records.allRefs().filter(([r]) => r.startsWith(repo));
      if (tags.length) {
        for (const [r, id] of tags) add(id, r);
        continue;
      }
    }
    const { image, viaReference } = images.records.resolve(name);
    add(image.id, viaReference && !viaReference.includes('@') ? viaReference : undefined);
  }
  return [...byId].map(([id, refs]) => ({ id, refs: [...refs].sort() }));
}

export function saveImages(images: ImageService, selected: SavedImage[]): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const writer = new TarWriter({
    async write(chunk) {
      if (!out.write(chunk)) await once(out, 'drain');
    },
  });
  const mtime = 0;
  const hdr = (name: string, type: 'file' | 'dir', size = 0): TarHeader => ({
    name, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size, mtime, linkname: '', devmajor: 0, devminor: 0,
  });
  (async () => {
    const written = new Set<string>();
    const blobPath = (d: Digest) => `blobs/sha256/${encodedOf(d)}`;
    const writeBytes = async (d: Digest, bytes: Buffer) => {
      if (written.has(d)) return;
      written.add(d);
      await writer.add(hdr(blobPath(d), 'file', bytes.length), bytes);
    };
    const writeBlob = async (d: Digest) => {
      if (written.has(d)) return;
      written.add(d);
      const p = images.content.path(d);
      const size = statSync(p, { throwIfNoEntry: false })?.size;
      if (size === undefined) throw new NotFound(`content digest ${d}: not found`);
      await writer.add(hdr(blobPath(d), 'file', size), createReadStream(p) as AsyncIterable<Buffer>);
    };
    await writer.add(hdr('blobs/', 'dir'));
    await writer.add(hdr('blobs/sha256/', 'dir'));
    const index: Descriptor[] = [];
    const manifestJson: Array<{ Config: string; RepoTags: string[]; Layers: string[]; LayerSources?: Record<string, Descriptor> }> = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const sel of selected) {
      const img = images.records.images.get(sel.id)!;
      const config = await images.content.readAll(sel.id);
      await writeBytes(sel.id, config);
      const layers: Descriptor[] = [];
      for (const chain of img.chainIDs) {
        const layer = images.layers.get(chain);
        if (!layer) throw new NotFound(`layer ${chain} of image ${sel.id} is missing`);
        await writeBlob(layer.blob.digest);
        layers.push(layer.blob);
      }
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: sel.id, size: config.length },
        layers,
      };
      const mbytes = Buffer.from(JSON.stringify(manifest));
      const mdigest = sha256(mbytes);
      await writeBytes(mdigest, mbytes);
      const mdesc: Descriptor = { mediaType: MediaType.OciManifest, digest: mdigest, size: mbytes.length };
      if (sel.refs.length === 0) index.push(mdesc);
      for (const r of sel.refs) {
        const ref = withDefaultTag(parseReference(r));
        index.push({ ...mdesc, annotations: { 'io.containerd.image.name': formatReference(ref), 'org.opencontainers.image.ref.name': ref.tag ?? '' } });
        (repositories[familiarRepository(ref)] ??= {})[ref.tag!] = encodedOf(sel.id);
      }
      manifestJson.push({
        Config: blobPath(sel.id),
        RepoTags: sel.refs.map((r) => familiarString(parseReference(r))),
        Layers: layers.map((l) => blobPath(l.digest)),
      });
    }
    const file = async (name: string, value: unknown) => {
      const bytes = Buffer.from(JSON.stringify(value));
      await writer.add(hdr(name, 'file', bytes.length), bytes);
    };
    await file('index.json', { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index });
    await file('manifest.json', manifestJson);
    await file('oci-layout', { imageLayoutVersion: '1.0.0' });
    if (Object.keys(repositories).length) await file('repositories', repositories);
    await writer.finish();
    out.end();
  })().catch((err) => out.destroy(err));
  return out;
}
