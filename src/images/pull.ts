// `docker pull`: resolve the manifest (choosing the platform from an index), fetch the config,
// download up to three layers at a time into the content store (each verified against its
// digest on commit: a mismatch is refused and nothing is kept) while each unpacks on a worker
// thread into a snapshot of its own (its bytes handed over in memory), then commit the layers in
// order, each once its blob and diff ID have verified and its parent is committed, and record the
// image with its repo digest. The compressed blob is the layer's stored form (no second, tar copy).
import { InvalidArgument, NotFound } from '../errdefs/index.js';
import { sha256, type Digest } from '../lib/digest.js';
import { hostPlatform, isIndexMediaType, type Descriptor, type ImageConfig, type Index, type Manifest, type Platform } from '../lib/oci.js';
import { unpackInWorker } from '../lib/archive/index.js';
import type { ImageService } from './service.js';
import { chainIDsOf } from './service.js';
import type { CompressedBlobIndex, RemoteRepository } from './remote.js';
import type { ProgressSink } from './types.js';
import { familiarRepository, familiarString, formatReference, repositoryName, type Reference } from './reference.js';
import { progressBar, throttle } from './progress.js';
import { LiveBytes } from './live-bytes.js';
import type { ExtractedLayer } from './layers.js';

export const MAX_CONCURRENT_DOWNLOADS = 3;
/**
 * Layers unpacked at once, each on its own worker thread. Twice the downloads, so that an unpack
 * is attached to its download's bytes from the first one (a download that runs ahead of an
 * unpack not yet started gives up its bytes, which are then read back from the content store).
 */
export const MAX_CONCURRENT_UNPACKS = 2 * MAX_CONCURRENT_DOWNLOADS;
/** Bytes a download may run ahead of its unpack (or hold for it before it starts). */
const STREAM_AHEAD = 32 << 20;

export interface PullOptions {
  platform?: string;
  quiet?: boolean;
}

export function parsePlatform(s: string | undefined): Platform {
  if (!s) return hostPlatform();
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture) throw new InvalidArgument(`"${s}": unknown operating system or architecture: invalid argument`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

function pickManifest(index: Index, want: Platform): Descriptor {
  const candidates = index.manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  const exact = candidates.find((m) => !want.variant || m.platform!.variant === want.variant) ?? (want.variant ? undefined : candidates[0]);
  if (!exact) throw new NotFound(`no matching manifest for ${want.os}/${want.architecture}${want.variant ? '/' + want.variant : ''} in the manifest list entries`);
  return exact;
}

const short = (d: Digest) => d.slice(7, 19);

/** A small counting semaphore: at most `n` downloads in flight. */
function limiter(n: number): <T>(fn: () => Promise<T>, onWait: () => void) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async (fn, onWait) => {
    if (active >= n) {
      onWait();
      await new Promise<void>((ok) => queue.push(ok));
    }
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

export async function pullImage(images: ImageService, blobs: CompressedBlobIndex, repo: RemoteRepository, ref: Reference, opts: PullOptions, progress: ProgressSink): Promise<Digest> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const platform = parsePlatform(opts.platform);
  progress({ status: `Pulling from ${familiarRepository(ref)}`, id: ref.digest ?? reference });

  let top = await repo.getManifest(reference);
  let doc = JSON.parse(top.bytes.toString('utf8')) as Manifest & Index;
  let manifest = top;
  if (isIndexMediaType(top.mediaType) || Array.isArray(doc.manifests)) {
    const pick = pickManifest(doc, platform);
    manifest = await repo.getManifest(pick.digest);
    doc = JSON.parse(manifest.bytes.toString('utf8'));
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw new InvalidArgument(`unsupported manifest media type ${manifest.mediaType}`);

  const configBytes = await readVerified(repo, doc.config.digest);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  const diffIDs = config.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== doc.layers.length) throw new InvalidArgument(`manifest has ${doc.layers.length} layers but the config ${diffIDs.length} diff IDs`);
  const chains = chainIDsOf(diffIDs);

  const limit = limiter(MAX_CONCURRENT_DOWNLOADS);
  const unpackLimit = limiter(MAX_CONCURRENT_UNPACKS);
  const abort = new AbortController();
  const byDigest = new Map<Digest, Promise<void>>();
  const live = new Map<Digest, LiveBytes>();
  const downloads: Array<Promise<void> | undefined> = doc.layers.map((layer, i) => {
    const id = short(layer.digest);
    if (images.layers.get(chains[i]!)) {
      progress({ status: 'Already exists', progressDetail: {}, id });
      return undefined;
    }
    const same = byDigest.get(layer.digest);
    if (same) return same;
    progress({ status: 'Pulling fs layer', progressDetail: {}, id });
    const bytes = new LiveBytes(STREAM_AHEAD);
    live.set(layer.digest, bytes);
    const p = limit(() => download(images, repo, layer, id, progress, abort.signal, bytes), () => progress({ status: 'Waiting', progressDetail: {}, id }));
    p.then(() => bytes.end(), (err) => bytes.end(err));
    byDigest.set(layer.digest, p);
    return p;
  });

  // Every layer unpacks into a snapshot of its own as its bytes arrive, side by side on worker
  // threads; only the commits below go in order, each after its blob's digest has verified.
  const extracts: Array<Promise<ExtractedLayer> | undefined> = doc.layers.map((layer, i) => {
    const downloaded = downloads[i];
    if (!downloaded) return undefined;
    const id = short(layer.digest);
    return unpackLimit(async () => {
      const bytes = live.get(layer.digest)!;
      // The bytes as they arrive, unless too many arrived before this unpack started (or another
      // layer with the same blob took them): then the verified blob from the content store.
      const streamed = bytes.attach();
      const extracting = () => progress({ status: 'Extracting', progressDetail: { current: 0, total: layer.size }, progress: progressBar(0, layer.size), id });
      if (streamed) downloaded.then(extracting, () => {});
      else {
        await downloaded;
        extracting();
      }
      try {
        const source = streamed ?? (await images.content.read(layer.digest));
        return await images.layers.extract((dir) => unpackInWorker(dir, source, { whiteouts: 'overlay', signal: abort.signal }), diffIDs[i]!);
      } catch (err) {
        // Garbage from a corrupt download fails the unpack first; the download's verdict
        // (the digest mismatch) is the cause worth reporting.
        throw (streamed && (await downloaded.then(() => undefined, (e: unknown) => e))) || err;
      } finally {
        if (streamed) bytes.drop();
      }
    }, () => {});
  });
  // Every failure is observed and stops the rest (so no unhandled rejections); the first one is
  // the abort's reason, so the layers it cut short report it rather than "aborted".
  for (const d of [...downloads, ...extracts]) d?.catch((err) => abort.abort(err));

  let parent: Digest | undefined;
  let next = 0;
  try {
    for (; next < doc.layers.length; next++) {
      const layer = doc.layers[next]!;
      const extracted = extracts[next];
      if (extracted) {
        const x = await extracted;
        await downloads[next];
        await images.layers.commitExtracted(x, parent, { mediaType: layer.mediaType, digest: layer.digest, size: layer.size });
        progress({ status: 'Pull complete', progressDetail: {}, id: short(layer.digest) });
      }
      blobs.put(diffIDs[next]!, layer, repositoryName(ref));
      parent = chains[next];
    }
  } catch (err) {
    // The first failure is the one worth reporting (a later one may be just "aborted").
    const first: unknown = abort.signal.aborted ? abort.signal.reason : err;
    abort.abort(err);
    for (const b of live.values()) b.drop();
    await Promise.allSettled(downloads);
    // Layers unpacked but not committed (from the failed one up) are dropped; a committed
    // snapshot is no longer under its key, so discarding it again is a no-op.
    const left = await Promise.allSettled(extracts.slice(next));
    for (const r of left) if (r.status === 'fulfilled' && r.value) await images.layers.discard(r.value);
    throw first;
  }

  const repoName = repositoryName(ref);
  const tagRef = ref.digest ? undefined : formatReference({ ...ref, digest: undefined, tag: reference });
  const before = tagRef ? images.records.lookupRef(tagRef) : images.records.lookupRef(`${repoName}@${top.digest}`);
  const id = await images.createImage(configBytes, { manifests: [{ mediaType: top.mediaType, digest: top.digest, size: top.bytes.length }] });
  if (tagRef) images.setTag(tagRef, id);
  images.records.setRef(`${repoName}@${top.digest}`, id);
  progress({ status: `Digest: ${top.digest}` });
  const shown = familiarString(ref.digest ? ref : { ...ref, tag: reference });
  progress({ status: before === id ? `Status: Image is up to date for ${shown}` : `Status: Downloaded newer image for ${shown}` });
  return id;
}

async function readVerified(repo: RemoteRepository, digest: Digest): Promise<Buffer> {
  const { stream } = await repo.getBlob(digest);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  if (sha256(bytes) !== digest) throw new InvalidArgument(`blob ${digest} does not match its digest`);
  return bytes;
}

/** Fetches one layer blob into the content store; commit verifies size and digest. */
async function download(images: ImageService, repo: RemoteRepository, layer: Descriptor, id: string, progress: ProgressSink, signal: AbortSignal, live: LiveBytes): Promise<void> {
  if (await images.content.has(layer.digest)) {
    // An unpack may already be waiting on these bytes.
    for await (const c of await images.content.read(layer.digest)) await live.push(c as Buffer);
    progress({ status: 'Download complete', progressDetail: {}, id });
    return;
  }
  const writer = await images.content.writer(`pull-${layer.digest}`);
  try {
    // A resumed ingest of an earlier run is dropped: the registry is asked for the whole blob.
    if (writer.offset > 0) {
      await writer.abort();
      return await download(images, repo, layer, id, progress, signal, live);
    }
    const { stream } = await repo.getBlob(layer.digest, signal);
    let current = 0;
    const report = throttle((n) => progress({ status: 'Downloading', progressDetail: { current: n, total: layer.size }, progress: progressBar(n, layer.size), id }));
    for await (const chunk of stream) {
      await writer.write(chunk as Buffer);
      await live.push(chunk as Buffer);
      current += (chunk as Buffer).length;
      report(current);
    }
    report(current, true);
    progress({ status: 'Verifying Checksum', progressDetail: {}, id });
    await writer.commit({ digest: layer.digest, size: layer.size });
    progress({ status: 'Download complete', progressDetail: {}, id });
  } catch (err) {
    await writer.abort().catch(() => {});
    throw err;
  }
}
