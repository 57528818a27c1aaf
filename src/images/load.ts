// `docker load`: Docker archives (manifest.json, old `<id>/layer.tar` and new OCI-style) and OCI
// image layouts (index.json, as skopeo writes them). The archive is spooled to a temporary
// directory first because manifest.json comes last; every layer is checked against its diff ID.
import { createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgument } from '../errdefs/index.js';
import { isDigest, sha256, encodedOf, algorithmOf, type Digest } from '../lib/digest.js';
import { hostPlatform, isIndexMediaType, type Descriptor, type ImageConfig, type Index, type Manifest } from '../lib/oci.js';
import { readTar } from '../lib/tar/index.js';
import { cleanEntryName, decompress } from '../lib/archive/index.js';
import type { ImageService } from './service.js';
import { familiarString, formatReference, parseReference, withDefaultTag } from './reference.js';

interface LoadItem {
  config: Buffer;
  /** Files (relative to the spool dir) of the layers, in order. */
  layers: string[];
  tags: string[];
}

async function spool(source: AsyncIterable<Buffer>, dir: string): Promise<void> {
  for await (const entry of readTar(source)) {
    const rel = cleanEntryName(entry.header.name);
    if (!rel) continue;
    const target = path.join(dir, rel);
    if (entry.header.type === 'dir') {
      mkdirSync(target, { recursive: true });
      continue;
    }
    if (entry.header.type !== 'file') continue; // links in archives are not needed to load
    mkdirSync(path.dirname(target), { recursive: true });
    const fd = openSync(target, 'w');
    try {
      for await (const chunk of entry.body()) {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off);
      }
    } finally {
      closeSync(fd);
    }
  }
}

function readJson<T>(dir: string, rel: string): T {
  const p = path.join(dir, cleanEntryName(rel));
  if (!existsSync(p)) throw new InvalidArgument(`invalid archive: ${rel} is missing`);
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}

function blobRel(d: Digest): string {
  if (!isDigest(d)) throw new InvalidArgument(`invalid archive: bad digest ${d}`);
  return `blobs/${algorithmOf(d)}/${encodedOf(d)}`;
}

function verifiedBlob(dir: string, d: Digest): Buffer {
  const bytes = readFileSync(path.join(dir, blobRel(d)));
  if (sha256(bytes) !== d && algorithmOf(d) === 'sha256') throw new InvalidArgument(`invalid archive: blob ${d} does not match its digest`);
  return bytes;
}

function fromDockerManifest(dir: string): LoadItem[] {
  const entries = readJson<Array<{ Config: string; RepoTags?: string[] | null; Layers: string[] }>>(dir, 'manifest.json');
  return entries.map((e) => ({
    config: readFileSync(path.join(dir, cleanEntryName(e.Config))),
    layers: e.Layers.map((l) => cleanEntryName(l)),
    tags: e.RepoTags ?? [],
  }));
}

function fromOciIndex(dir: string): LoadItem[] {
  const items: LoadItem[] = [];
  const host = hostPlatform();
  const visit = (desc: Descriptor, names: string[]) => {
    const bytes = verifiedBlob(dir, desc.digest);
    const doc = JSON.parse(bytes.toString('utf8'));
    if (isIndexMediaType(desc.mediaType ?? doc.mediaType) || Array.isArray(doc.manifests)) {
      const idx = doc as Index;
      const pick = idx.manifests.find((m) => !m.platform || (m.platform.os === host.os && m.platform.architecture === host.architecture));
      if (!pick) throw new InvalidArgument(`no image for platform ${host.os}/${host.architecture} in the archive`);
      visit(pick, names);
      return;
    }
    const m = doc as Manifest;
    items.push({ config: verifiedBlob(dir, m.config.digest), layers: m.layers.map((l) => blobRel(l.digest)), tags: names });
  };
  const index = readJson<Index>(dir, 'index.json');
  // One manifest may be listed once per tag; load it once with all its names.
  const byDigest = new Map<string, { desc: Descriptor; names: string[] }>();
  for (const d of index.manifests) {
    const e = byDigest.get(d.digest) ?? { desc: d, names: [] };
    const name = d.annotations?.['io.containerd.image.name'] ?? d.annotations?.['org.opencontainers.image.ref.name'];
    if (name) {
      try {
        const ref = parseReference(name);
        // A bare tag such as "latest" is not a name; a full reference is.
        if (name.includes('/') || name.includes(':')) e.names.push(formatReference(withDefaultTag(ref)));
      } catch {
        // Not a reference: nothing to tag.
      }
    }
    byDigest.set(d.digest, e);
  }
  for (const { desc, names } of byDigest.values()) visit(desc, names);
  return items;
}

/** Loads every image in the archive; returns Docker's output lines. */
export async function loadImages(images: ImageService, source: Readable, tmpRoot: string): Promise<string[]> {
  mkdirSync(tmpRoot, { recursive: true });
  const dir = mkdtempSync(path.join(tmpRoot, 'load-'));
  const lines: string[] = [];
  try {
    await spool(source as AsyncIterable<Buffer>, dir);
    const items = existsSync(path.join(dir, 'manifest.json')) ? fromDockerManifest(dir) : existsSync(path.join(dir, 'index.json')) ? fromOciIndex(dir) : undefined;
    if (!items) throw new InvalidArgument('invalid archive: neither manifest.json nor index.json found');
    for (const item of items) {
      const config = JSON.parse(item.config.toString('utf8')) as ImageConfig;
      const diffIDs = config.rootfs?.diff_ids ?? [];
      if (diffIDs.length !== item.layers.length) throw new InvalidArgument(`invalid archive: ${item.layers.length} layers for ${diffIDs.length} diff IDs`);
      let parent: Digest | undefined;
      for (let i = 0; i < diffIDs.length; i++) {
        const file = path.join(dir, item.layers[i]!);
        if (!existsSync(file)) throw new InvalidArgument(`invalid archive: layer ${item.layers[i]} is missing`);
        const { stream } = await decompress(createReadStream(file));
        const layer = await images.layers.unpack(stream as AsyncIterable<Buffer>, parent, diffIDs[i]!);
        parent = layer.chainID;
      }
      const id = await images.createImage(item.config);
      if (item.tags.length === 0) lines.push(`Loaded image ID: ${id}`);
      for (const t of item.tags) {
        const ref = formatReference(withDefaultTag(parseReference(t)));
        const old = images.records.lookupRef(ref);
        const name = familiarString(parseReference(ref));
        if (old && old !== id) lines.push(`The image ${name} already exists, renaming the old one with ID ${old} to empty string`);
        images.setTag(ref, id);
        lines.push(`Loaded image: ${name}`);
      }
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
