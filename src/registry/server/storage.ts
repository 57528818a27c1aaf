// The registry's storage: blobs in a LocalContentStore (the berthd format, so a registry on a
// berthd data root serves its blobs in place), repositories as small link files written atomically.
// Uploads are content-store ingests committed by verify -> move -> link: nothing is visible in a
// repository before its digest is checked, and a cut-off upload leaves only its ingest behind.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LocalContentStore, type Writer } from '../../content/index.js';
import { isInvalidArgument, isNotFound, errnoOf } from '../../errdefs/index.js';
import { writeFileAtomic, TEMP_PREFIX } from '../../lib/atomic.js';
import { isDigest, sha256, type Digest } from '../../lib/digest.js';
import type { Descriptor } from '../../lib/oci.js';
import { RegistryError } from './errcodes.js';
import { parseManifest, type ParsedManifest } from './manifests.js';
import { isValidRepositoryName } from './names.js';
import { OWNED_LABEL, RegistryPaths, uploadRef } from './paths.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface StoredManifest {
  digest: Digest;
  bytes: Buffer;
  mediaType: string;
}

function readLink(file: string): Digest | undefined {
  try {
    const d = readFileSync(file, 'utf8').trim();
    return isDigest(d) ? d : undefined;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith(TEMP_PREFIX));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
    throw err;
  }
}

export class RegistryStorage {
  readonly paths: RegistryPaths;
  readonly blobs: LocalContentStore;
  /** Open upload writers by session id; a restarted server reopens them from their ingest. */
  private readonly writers = new Map<string, Writer>();
  private readonly busy = new Set<string>();

  /** Each open upload holds a file descriptor: past this many, new uploads get TOOMANYREQUESTS. */
  readonly maxOpenUploads: number;

  constructor(root: string, options: { maxOpenUploads?: number } = {}) {
    this.maxOpenUploads = options.maxOpenUploads ?? 1000;
    this.paths = new RegistryPaths(root);
    this.blobs = new LocalContentStore(this.paths.content);
  }

  // ---- repositories ----

  repositoryExists(name: string): boolean {
    return existsSync(this.paths.repository(name));
  }

  /** All repository names, sorted. A repository is a directory holding `_manifests` or `_layers`. */
  repositories(): string[] {
    return this.walkRepositories(['_manifests', '_layers']);
  }

  /** Names of directories holding any of `markers`, found below the repositories root. */
  private walkRepositories(markers: string[]): string[] {
    const out: string[] = [];
    const walk = (dir: string, prefix: string[]) => {
      const entries = listDir(dir);
      if (prefix.length && entries.some((e) => markers.includes(e))) out.push(prefix.join('/'));
      for (const e of entries) {
        if (e.startsWith('_')) continue;
        const p = path.join(dir, e);
        if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p, [...prefix, e]);
      }
    };
    walk(this.paths.repositories, []);
    return out.filter((n) => isValidRepositoryName(n)).sort();
  }

  /** Upload sessions on disk, with when their bytes last changed. */
  async uploadSessions(): Promise<{ name: string; uuid: string; updatedAt: Date; offset: number }[]> {
    const ingests = new Map((await this.blobs.ingests()).map((i) => [i.ref, i]));
    const out: { name: string; uuid: string; updatedAt: Date; offset: number }[] = [];
    for (const name of this.walkRepositories(['_uploads'])) {
      for (const uuid of listDir(this.paths.uploadsDir(name))) {
        if (!UUID_RE.test(uuid)) continue;
        const ingest = ingests.get(uploadRef(uuid));
        const started = statSync(this.paths.upload(name, uuid), { throwIfNoEntry: false })?.mtime ?? new Date(0);
        out.push({ name, uuid, updatedAt: ingest?.updatedAt ?? started, offset: ingest?.offset ?? 0 });
      }
    }
    return out;
  }

  /** Drops an upload session and its bytes without opening it (for gc of abandoned uploads). */
  async purgeUpload(name: string, uuid: string): Promise<void> {
    if (this.writers.has(uuid)) return;
    await this.blobs.abortIngest(uploadRef(uuid)).catch(() => {});
    rmSync(this.paths.upload(name, uuid), { force: true });
  }

  // ---- blobs ----

  /** The blob's size if the repository may serve it (linked as a layer or a manifest) and it exists. */
  async blobSize(name: string, digest: Digest): Promise<number | undefined> {
    if (!readLink(this.paths.layerLink(name, digest)) && !readLink(this.paths.revisionLink(name, digest))) return undefined;
    const st = statSync(this.blobs.path(digest), { throwIfNoEntry: false });
    return st?.size;
  }

  linkBlob(name: string, digest: Digest): void {
    writeFileAtomic(this.paths.layerLink(name, digest), digest);
  }

  /** Removes the repository's link; the bytes go at the next `registry gc`. */
  unlinkBlob(name: string, digest: Digest): boolean {
    const link = this.paths.layerLink(name, digest);
    if (!existsSync(link)) return false;
    rmSync(link, { force: true });
    return true;
  }

  // ---- uploads ----

  startUpload(name: string): string {
    if (this.writers.size >= this.maxOpenUploads) {
      throw new RegistryError('TOOMANYREQUESTS', `${this.writers.size} uploads are open; finish or cancel some first`, null, { headers: { 'Retry-After': '10' } });
    }
    const uuid = randomUUID();
    writeFileAtomic(this.paths.upload(name, uuid), JSON.stringify({ startedAt: new Date().toISOString() }));
    return uuid;
  }

  private async writerFor(name: string, uuid: string): Promise<Writer> {
    if (!UUID_RE.test(uuid) || !existsSync(this.paths.upload(name, uuid))) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid });
    }
    let w = this.writers.get(uuid);
    if (!w) {
      if (this.writers.size >= this.maxOpenUploads) throw new RegistryError('TOOMANYREQUESTS', 'too many open uploads', null, { headers: { 'Retry-After': '10' } });
      w = await this.blobs.writer(uploadRef(uuid));
      this.writers.set(uuid, w);
    }
    return w;
  }

  async uploadOffset(name: string, uuid: string): Promise<number> {
    return (await this.writerFor(name, uuid)).offset;
  }

  /** Appends a request body to the upload. `start`, when given, must equal the current offset. */
  async appendUpload(name: string, uuid: string, body: Readable, start?: number, length?: number): Promise<number> {
    const w = await this.writerFor(name, uuid);
    if (this.busy.has(uuid)) throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing this upload', { uuid }, { status: 416 });
    if (start !== undefined && start !== w.offset) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `content range starts at ${start}, upload is at ${w.offset}`, { uuid }, {
        status: 416,
        headers: { Range: rangeHeader(w.offset), Location: uploadLocation(name, uuid), 'Docker-Upload-UUID': uuid },
      });
    }
    this.busy.add(uuid);
    try {
      const before = w.offset;
      // Written as it arrives: a request cut off half way keeps what came, and the client can
      // resume from the offset GET reports.
      for await (const chunk of body) await w.write(chunk as Buffer);
      if (length !== undefined && w.offset - before !== length) {
        throw new RegistryError('SIZE_INVALID', `received ${w.offset - before} bytes, Content-Length said ${length}`);
      }
      return w.offset;
    } finally {
      this.busy.delete(uuid);
    }
  }

  /** Verifies the upload against `digest`, moves it into the store and links it into the repository. */
  async finishUpload(name: string, uuid: string, digest: Digest, body?: Readable, length?: number): Promise<void> {
    if (body) await this.appendUpload(name, uuid, body, undefined, length);
    const w = await this.writerFor(name, uuid);
    if (this.busy.has(uuid)) throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing this upload', { uuid });
    this.busy.add(uuid);
    const existed = await this.blobs.has(digest);
    try {
      await w.commit({ digest });
    } catch (err) {
      if (isInvalidArgument(err)) throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest, actual: w.digest() });
      throw err;
    } finally {
      // The ingest is gone either way (commit discards it on mismatch): so is the session.
      this.writers.delete(uuid);
      this.busy.delete(uuid);
      rmSync(this.paths.upload(name, uuid), { force: true });
    }
    if (!existed) await this.blobs.setLabels(digest, { [OWNED_LABEL]: '1' }).catch(() => {});
    this.linkBlob(name, digest);
  }

  async cancelUpload(name: string, uuid: string): Promise<void> {
    const w = await this.writerFor(name, uuid);
    this.writers.delete(uuid);
    await w.abort();
    rmSync(this.paths.upload(name, uuid), { force: true });
  }

  /** Cross-repository mount: links a blob `from` serves into `name`; false when `from` does not have it. */
  async mountBlob(name: string, from: string, digest: Digest): Promise<boolean> {
    if ((await this.blobSize(from, digest)) === undefined) return false;
    this.linkBlob(name, digest);
    return true;
  }

  // ---- manifests ----

  async putManifest(name: string, ref: { tag?: string; digest?: Digest }, bytes: Buffer, contentType: string | undefined): Promise<{ digest: Digest; parsed: ParsedManifest }> {
    const parsed = parseManifest(bytes, contentType);
    const digest = sha256(bytes);
    if (ref.digest && ref.digest !== digest) throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match the reference', { digest: ref.digest, actual: digest });
    const missing: { digest: Digest; kind: string }[] = [];
    for (const b of parsed.blobs) if ((await this.blobSize(name, b)) === undefined) missing.push({ digest: b, kind: 'blob' });
    for (const m of parsed.manifests) if (!readLink(this.paths.revisionLink(name, m.digest))) missing.push({ digest: m.digest, kind: 'manifest' });
    if (missing.length) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown ${missing[0]!.kind}(s)`, { digest: missing[0]!.digest, missing });
    if (!(await this.blobs.has(digest))) {
      const w = await this.blobs.writer(`registry-manifest-${randomUUID()}`);
      try {
        await w.write(bytes);
      } catch (err) {
        await w.abort();
        throw err;
      }
      await w.commit({ digest, labels: { [OWNED_LABEL]: '1' } });
    }
    writeFileAtomic(this.paths.revisionLink(name, digest), digest);
    if (parsed.subject) writeFileAtomic(this.paths.referrerLink(name, parsed.subject.digest, digest), digest);
    if (ref.tag) writeFileAtomic(this.paths.tag(name, ref.tag), digest);
    return { digest, parsed };
  }

  resolveManifest(name: string, ref: { tag?: string; digest?: Digest }): Digest | undefined {
    const digest = ref.tag ? readLink(this.paths.tag(name, ref.tag)) : ref.digest;
    if (!digest || !readLink(this.paths.revisionLink(name, digest))) return undefined;
    return digest;
  }

  async getManifest(name: string, ref: { tag?: string; digest?: Digest }): Promise<StoredManifest> {
    const digest = this.resolveManifest(name, ref);
    if (!digest) throw new RegistryError('MANIFEST_UNKNOWN', undefined, ref.tag ? { tag: ref.tag } : { digest: ref.digest });
    let bytes: Buffer;
    try {
      bytes = await this.blobs.readAll(digest);
    } catch (err) {
      if (isNotFound(err)) throw new RegistryError('MANIFEST_UNKNOWN', 'manifest blob is missing', { digest });
      throw err;
    }
    return { digest, bytes, mediaType: parseManifestLoose(bytes) };
  }

  async deleteManifest(name: string, ref: { tag?: string; digest?: Digest }): Promise<void> {
    if (ref.tag) {
      const file = this.paths.tag(name, ref.tag);
      if (!existsSync(file)) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { tag: ref.tag });
      rmSync(file, { force: true });
      return;
    }
    const digest = ref.digest!;
    const link = this.paths.revisionLink(name, digest);
    if (!readLink(link)) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { digest });
    try {
      const parsed = parseManifest(await this.blobs.readAll(digest), undefined);
      if (parsed.subject) rmSync(this.paths.referrerLink(name, parsed.subject.digest, digest), { force: true });
    } catch {
      // An unreadable manifest has no referrer link worth finding.
    }
    for (const tag of this.tags(name)) if (readLink(this.paths.tag(name, tag)) === digest) rmSync(this.paths.tag(name, tag), { force: true });
    rmSync(link, { force: true });
  }

  tags(name: string): string[] {
    return listDir(this.paths.tagsDir(name)).sort();
  }

  /** Descriptors of the manifests in `name` whose subject is `subject`. */
  async referrers(name: string, subject: Digest): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for (const entry of listDir(this.paths.referrersDir(name, subject)).sort()) {
      if (!isDigest(entry) || !readLink(this.paths.revisionLink(name, entry))) continue;
      let bytes: Buffer;
      try {
        bytes = await this.blobs.readAll(entry);
      } catch {
        continue;
      }
      const parsed = parseManifest(bytes, undefined);
      const d: Descriptor = { mediaType: parsed.mediaType, digest: entry, size: bytes.length };
      if (parsed.artifactType) d.artifactType = parsed.artifactType;
      if (parsed.annotations) d.annotations = parsed.annotations;
      out.push(d);
    }
    return out;
  }

  /** Every manifest digest linked in a repository. */
  revisions(name: string): Digest[] {
    const out: Digest[] = [];
    for (const alg of listDir(this.paths.revisionsDir(name))) {
      for (const hex of listDir(path.join(this.paths.revisionsDir(name), alg))) {
        const d = `${alg}:${hex}`;
        if (isDigest(d)) out.push(d);
      }
    }
    return out;
  }

  layerLinks(name: string): Digest[] {
    const dir = path.join(this.paths.repository(name), '_layers');
    const out: Digest[] = [];
    for (const alg of listDir(dir)) for (const hex of listDir(path.join(dir, alg))) if (isDigest(`${alg}:${hex}`)) out.push(`${alg}:${hex}` as Digest);
    return out;
  }

  async close(): Promise<void> {
    // Writers are left as ingests on disk; a restarted server resumes them.
    this.writers.clear();
  }
}

function parseManifestLoose(bytes: Buffer): string {
  try {
    return parseManifest(bytes, undefined).mediaType;
  } catch {
    return 'application/octet-stream';
  }
}

export function rangeHeader(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}

export function uploadLocation(name: string, uuid: string): string {
  return `/v2/${name}/blobs/uploads/${uuid}`;
}
