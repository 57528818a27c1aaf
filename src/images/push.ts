// `docker push`: each layer goes up compressed (gzip, pigz when present). The compressed blob is
// kept in the content store and indexed by diff ID, so a second push neither recompresses nor
// re-uploads; blobs the registry has are skipped, blobs from a sibling repository are mounted.
import { spawn } from 'node:child_process';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { InvalidArgument } from '../errdefs/index.js';
import type { Digest } from '../lib/digest.js';
import { MediaType, type Descriptor, type ImageConfig } from '../lib/oci.js';
import { which } from '../lib/which.js';
import type { ImageService } from './service.js';
import type { CompressedBlobIndex, RemoteRepository } from './remote.js';
import type { ProgressSink } from './types.js';
import { repositoryName, type Reference } from './reference.js';
import { progressBar, throttle } from './progress.js';

const short = (d: Digest) => d.slice(7, 19);

function gzipStream(source: Readable): Readable {
  const pigz = which('pigz');
  if (!pigz) return source.pipe(createGzip({ level: 6 }));
  // -n: no name or timestamp in the header, so the same tar gives the same blob.
  const child = spawn(pigz, ['-n', '-c', '-6'], { stdio: ['pipe', 'pipe', 'ignore'] });
  pipeline(source, child.stdin).catch(() => child.kill());
  return child.stdout;
}

/** The layer as a registry blob: from the index, else compressed now and stored. */
async function compressedLayer(images: ImageService, blobs: CompressedBlobIndex, diffID: Digest): Promise<Descriptor & { sources: string[] }> {
  const known = blobs.get(diffID);
  if (known && (await images.content.has(known.digest))) return known;
  // A pulled layer keeps only its compressed blob, which is what goes up.
  const pulled = [...images.records.layers.values()].find((l) => l.diffID === diffID && l.blob.digest !== diffID);
  if (pulled && (await images.content.has(pulled.blob.digest))) {
    blobs.put(diffID, pulled.blob);
    return { ...pulled.blob, sources: [] };
  }
  const writer = await images.content.writer(`compress-${diffID}`);
  try {
    if (writer.offset > 0) {
      await writer.abort();
      return compressedLayer(images, blobs, diffID);
    }
    const gz = gzipStream(await images.content.read(diffID));
    await pipeline(gz, new Writable({ write: (c, _e, cb) => { writer.write(c).then(() => cb(), cb); } }));
    const size = writer.offset;
    const digest = await writer.commit({});
    const desc = { mediaType: MediaType.DockerLayerGzip, digest, size };
    blobs.put(diffID, desc);
    return { ...desc, sources: [] };
  } catch (err) {
    await writer.abort().catch(() => {});
    throw err;
  }
}

async function* readBlob(images: ImageService, digest: Digest): AsyncGenerator<Buffer> {
  for await (const c of await images.content.read(digest)) yield c as Buffer;
}

function layerMediaType(mt: string, oci: boolean): string {
  const zstd = mt.endsWith('+zstd');
  const gzip = mt.endsWith('gzip');
  if (oci) return zstd ? MediaType.OciLayerZstd : gzip ? MediaType.OciLayerGzip : MediaType.OciLayer;
  return gzip ? MediaType.DockerLayerGzip : MediaType.DockerLayer;
}

/** Pushes `imageRef`'s image as `ref` (tagged). Returns the manifest digest. */
export async function pushImage(images: ImageService, blobs: CompressedBlobIndex, repo: RemoteRepository, ref: Reference & { tag: string }, progress: ProgressSink): Promise<Digest> {
  const repoName = repositoryName(ref);
  const img = images.resolve(`${repoName}:${ref.tag}`);
  const configBytes = await images.content.readAll(img.id);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  const diffIDs = config.rootfs.diff_ids;

  // Docker lists layers top first.
  const order = diffIDs.map((d, i) => ({ diffID: d, i })).reverse();
  const layers: Array<Descriptor & { sources: string[] }> = new Array(diffIDs.length);
  for (const { diffID } of order) progress({ status: 'Preparing', progressDetail: {}, id: short(diffID) });
  await Promise.all(order.map(async ({ diffID, i }) => {
    const blob = await compressedLayer(images, blobs, diffID);
    layers[i] = blob;
    const id = short(diffID);
    if (await repo.hasBlob(blob.digest)) {
      progress({ status: 'Layer already exists', progressDetail: {}, id });
      blobs.put(diffID, blob, repoName);
      return;
    }
    const sibling = blob.sources.find((s) => s !== repoName && s.startsWith(`${ref.domain}/`));
    if (sibling && (await repo.mountBlob(blob.digest, sibling.slice(ref.domain.length + 1)))) {
      progress({ status: `Mounted from ${sibling.slice(ref.domain.length + 1)}`, progressDetail: {}, id });
      blobs.put(diffID, blob, repoName);
      return;
    }
    progress({ status: 'Waiting', progressDetail: {}, id });
    let sent = 0;
    const report = throttle((n) => progress({ status: 'Pushing', progressDetail: { current: n, total: blob.size }, progress: progressBar(n, blob.size), id }));
    await repo.uploadBlob(blob.digest, blob.size, () => readBlob(images, blob.digest), (n) => report((sent += n)));
    report(sent, true);
    progress({ status: 'Pushed', progressDetail: {}, id });
    blobs.put(diffID, blob, repoName);
  }));

  const oci = layers.some((l) => l.mediaType.endsWith('+zstd'));
  if (!(await repo.hasBlob(img.id))) await repo.uploadBlob(img.id, configBytes.length, async function* () { yield configBytes; });
  const manifest = {
    schemaVersion: 2,
    mediaType: oci ? MediaType.OciManifest : MediaType.DockerManifest,
    config: { mediaType: oci ? MediaType.OciConfig : MediaType.DockerConfig, size: configBytes.length, digest: img.id },
    layers: layers.map((l) => ({ mediaType: layerMediaType(l.mediaType, oci), size: l.size, digest: l.digest })),
  };
  if (layers.some((l) => !l)) throw new InvalidArgument('internal: a layer was not prepared');
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
  const digest = await repo.putManifest(ref.tag, bytes, manifest.mediaType);
  images.records.setRef(`${repoName}@${digest}`, img.id);
  progress({ status: `${ref.tag}: digest: ${digest} size: ${bytes.length}` });
  progress({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: bytes.length } });
  return digest;
}
