// The distribution API calls berth needs, for one repository: manifests, blobs, uploads, mounts.
import { Readable } from 'node:stream';
import { InvalidArgument } from '../../errdefs/index.js';
import { sha256, type Digest } from '../../lib/digest.js';
import { MediaType } from '../../lib/oci.js';
import { registryError, RegistryTransport, type RegistryOptions } from './transport.js';
import type { Credentials } from './auth.js';

const MANIFEST_ACCEPT = [MediaType.DockerManifestList, MediaType.OciIndex, MediaType.DockerManifest, MediaType.OciManifest].join(', ');
/** Blobs above this go up in chunks (PATCH) rather than in one PUT. */
export const CHUNK_THRESHOLD = 64 << 20;
const CHUNK_SIZE = 16 << 20;

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

export class RepositoryClient {
  readonly transport: RegistryTransport;
  private readonly pull: string;
  private readonly push: string;

  constructor(readonly domain: string, readonly path: string, creds: Credentials = {}, opts: RegistryOptions = {}) {
    this.transport = new RegistryTransport(domain, creds, opts);
    this.pull = `repository:${path}:pull`;
    this.push = `repository:${path}:pull,push`;
  }

  private scopes(write: boolean, extra: string[] = []): string[] {
    return [write ? this.push : this.pull, ...extra];
  }

  async getManifest(reference: string): Promise<FetchedManifest> {
    const res = await this.transport.request('GET', `/v2/${this.path}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT }, scopes: this.scopes(false) });
    if (!res.ok) {
      const err = await registryError(res, `manifest ${reference}`);
      if (res.status === 404) throw new (err.constructor as typeof InvalidArgument)(`manifest for ${this.domain}/${this.path}:${reference} not found: manifest unknown: manifest unknown`);
      throw err;
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) throw new InvalidArgument(`manifest digest mismatch: expected ${reference}, got ${digest}`);
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
    const mediaType = doc.mediaType ?? res.headers.get('content-type')?.split(';')[0] ?? (doc.manifests ? MediaType.OciIndex : MediaType.OciManifest);
    return { bytes, mediaType, digest };
  }

  async getBlob(digest: Digest, signal?: AbortSignal): Promise<{ stream: Readable; size: number }> {
    const res = await this.transport.getStream(`/v2/${this.path}/blobs/${digest}`, { scopes: this.scopes(false), signal });
    if (res.status < 200 || res.status > 299) {
      const text = await readText(res.body);
      throw await registryError(new Response(text, { status: res.status, headers: res.headers }), `blob ${digest}`);
    }
    return { stream: res.body, size: Number(res.headers.get('content-length') ?? -1) };
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    const res = await this.transport.request('HEAD', `/v2/${this.path}/blobs/${digest}`, { scopes: this.scopes(true) });
    await res.arrayBuffer().catch(() => {});
    if (res.status === 404) return false;
    if (res.ok) return true;
    throw await registryError(res, `blob ${digest}`);
  }

  /** Cross-repository mount; true when the registry linked the blob without an upload. */
  async mountBlob(digest: Digest, from: string): Promise<boolean> {
    const res = await this.transport.request('POST', `/v2/${this.path}/blobs/uploads/?mount=${digest}&from=${encodeURIComponent(from)}`, {
      scopes: this.scopes(true, [`repository:${from}:pull`]),
    });
    await res.arrayBuffer().catch(() => {});
    if (res.status === 201) return true;
    if (res.status === 202) {
      // Mount refused, upload session opened instead: cancel it, the caller uploads afresh.
      const loc = res.headers.get('location');
      if (loc) await this.transport.request('DELETE', new URL(loc, this.transport.base).toString(), { scopes: this.scopes(true) }).then((r) => r.arrayBuffer()).catch(() => {});
      return false;
    }
    return false;
  }

  /** Uploads a blob: one PUT when small, PATCH chunks when large. `onBytes` reports progress. */
  async uploadBlob(digest: Digest, size: number, open: () => AsyncIterable<Buffer>, onBytes: (n: number) => void = () => {}): Promise<void> {
    const start = await this.transport.request('POST', `/v2/${this.path}/blobs/uploads/`, { scopes: this.scopes(true), headers: { 'Content-Length': '0' } });
    await start.arrayBuffer().catch(() => {});
    if (start.status !== 202) throw await registryError(start, `upload of ${digest}`);
    let location = new URL(start.headers.get('location') ?? '', this.transport.base);
    const counted = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        onBytes(c.length);
        yield c;
      }
    };
    if (size > CHUNK_THRESHOLD) {
      let offset = 0;
      let pending: Buffer[] = [];
      let pendingLen = 0;
      const flush = async () => {
        const body = Buffer.concat(pending, pendingLen);
        const res = await this.transport.request('PATCH', location.toString(), {
          body, scopes: this.scopes(true),
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + body.length - 1}`, 'Content-Length': String(body.length) },
        });
        await res.arrayBuffer().catch(() => {});
        if (res.status !== 202) throw await registryError(res, `upload of ${digest}`);
        location = new URL(res.headers.get('location') ?? location.toString(), this.transport.base);
        offset += body.length;
        pending = [];
        pendingLen = 0;
      };
      for await (const c of counted(open())) {
        pending.push(c);
        pendingLen += c.length;
        if (pendingLen >= CHUNK_SIZE) await flush();
      }
      if (pendingLen) await flush();
      location.searchParams.set('digest', digest);
      const res = await this.transport.request('PUT', location.toString(), { scopes: this.scopes(true), headers: { 'Content-Length': '0' } });
      await res.arrayBuffer().catch(() => {});
      if (res.status !== 201) throw await registryError(res, `upload of ${digest}`);
      return;
    }
    location.searchParams.set('digest', digest);
    const res = await this.transport.request('PUT', location.toString(), {
      body: counted(open()), scopes: this.scopes(true),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    });
    if (res.status !== 201) throw await registryError(res, `upload of ${digest}`);
    await res.arrayBuffer().catch(() => {});
  }

  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const res = await this.transport.request('PUT', `/v2/${this.path}/manifests/${reference}`, { body: bytes, scopes: this.scopes(true), headers: { 'Content-Type': mediaType } });
    await res.arrayBuffer().catch(() => {});
    if (res.status !== 201) throw await registryError(res, `manifest ${reference}`);
    return sha256(bytes);
  }
}

async function readText(body: Readable): Promise<string> {
  let s = '';
  for await (const c of body) s += c;
  return s;
}

/** `GET /v1/search` on the registry (Docker Hub's and distribution-compatible search). */
export async function searchRegistry(domain: string, term: string, limit: number, creds: Credentials, opts: RegistryOptions = {}): Promise<unknown[]> {
  const t = new RegistryTransport(domain, creds, opts);
  const res = await t.request('GET', `/v1/search?q=${encodeURIComponent(term)}&n=${limit}`);
  if (!res.ok) throw await registryError(res, 'search');
  const body = (await res.json()) as { results?: unknown[] };
  return body.results ?? [];
}
