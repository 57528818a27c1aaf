// The distribution API over node:http(s): routing, auth, and one error writer. Blobs stream from
// their files with large reads; nothing here buffers a blob in memory.
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { MediaType, isIndexMediaType, type Index } from '../../lib/oci.js';
import type { Digest } from '../../lib/digest.js';
import { openAccess, type Access, type Authorizer } from './auth.js';
import { RegistryError } from './errcodes.js';
import { MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, acceptedTypes } from './manifests.js';
import { checkDigest, checkName, isValidRepositoryName, parseReference } from './names.js';
import { sendFileRange } from './send-range.js';
import { RegistryStorage, rangeHeader, uploadLocation } from './storage.js';

export interface ServerOptions {
  root: string;
  authorizer?: Authorizer;
  tls?: { cert: string; key: string };
  maxOpenUploads?: number;
  /** Serve pulls only; writes are DENIED (for exposing a berthd data root, or maintenance). */
  readOnly?: boolean;
  log?: (line: string) => void;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 10000;

type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'search' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; ref: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string; uuid?: string }
  | { kind: 'referrers'; name: string; digest: string };

const ROUTES: [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^\/v2\/?$/, () => ({ kind: 'base' })],
  [/^\/v2\/_catalog$/, () => ({ kind: 'catalog' })],
  [/^\/v1\/search$/, () => ({ kind: 'search' })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, ref: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'uploads', name: m[1]!, uuid: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

function route(pathname: string): Route | undefined {
  for (const [re, make] of ROUTES) {
    const m = re.exec(pathname);
    if (m) return make(m);
  }
  return undefined;
}

function accessFor(r: Route, method: string): Access[] {
  if (r.kind === 'base' || r.kind === 'search') return [];
  if (r.kind === 'catalog') return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
  const actions = method === 'GET' || method === 'HEAD' ? ['pull'] : method === 'DELETE' ? ['delete'] : ['pull', 'push'];
  return [{ type: 'repository', name: r.name, actions }];
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new RegistryError('SIZE_INVALID', `body exceeds ${limit} bytes`, null, { status: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v === undefined ? undefined : Number(v);
}

/** `n` and `last` pagination over a sorted list, with the Link header for the next page. */
function paginate(all: string[], url: URL, base: string): { page: string[]; link?: string } {
  const nRaw = url.searchParams.get('n');
  const last = url.searchParams.get('last');
  let n = nRaw === null ? undefined : Number(nRaw);
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new RegistryError('UNSUPPORTED', 'invalid page size', { n: nRaw }, { status: 400 });
  if (n !== undefined) n = Math.min(n, MAX_PAGE);
  let start = 0;
  if (last !== null) {
    start = all.findIndex((x) => x > last);
    if (start < 0) start = all.length;
  }
  const limit = n ?? all.length;
  const page = all.slice(start, start + limit);
  let link: string | undefined;
  if (n !== undefined && n > 0 && start + limit < all.length) {
    link = `<${base}?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
  }
  return { page, link };
}

export class RegistryServer {
  readonly storage: RegistryStorage;
  private readonly authorizer: Authorizer;
  private server?: http.Server;

  constructor(private readonly options: ServerOptions) {
    this.storage = new RegistryStorage(options.root, { maxOpenUploads: options.maxOpenUploads });
    this.authorizer = options.authorizer ?? openAccess;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = this.options.tls
      ? https.createServer({ cert: readFileSync(this.options.tls.cert), key: readFileSync(this.options.tls.key) }, handler)
      : http.createServer(handler);
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    await this.storage.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      const raw = req.url ?? '/';
      const url = new URL(raw, 'http://registry');
      // Routed on the path exactly as sent: URL would resolve `a/../b` into another valid name.
      const pathname = raw.split('?')[0]!;
      const r = route(pathname);
      if (!r) throw new RegistryError('UNSUPPORTED', 'no such endpoint', { path: pathname }, { status: 404 });
      if ('name' in r) checkName(r.name);
      this.authorizer.authorize(req.headers.authorization, accessFor(r, method));
      if (this.options.readOnly && !['GET', 'HEAD'].includes(method)) throw new RegistryError('DENIED', 'the registry is read-only', { method });
      await this.dispatch(r, method, url, req, res);
    } catch (err) {
      this.fail(req, res, err);
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    // A client that hung up is not a server fault: nothing to log, nobody to answer.
    const clientGone = res.destroyed || !res.socket || res.socket.destroyed;
    if (!(err instanceof RegistryError) && !clientGone) this.options.log?.(`${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
    if (res.headersSent || clientGone) {
      res.destroy();
      return;
    }
    const e = err instanceof RegistryError ? err : new RegistryError('UNKNOWN', (err as Error)?.message);
    const body = e.body();
    res.statusCode = e.status;
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    // A body we did not read (a refused upload) must not be parsed as the next request.
    if (!req.complete) res.setHeader('Connection', 'close');
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private send(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: string | Buffer, head = false): void {
    res.statusCode = status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (body !== undefined) {
      if (!('Content-Length' in headers)) res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(head ? undefined : body);
    } else {
      if (!('Content-Length' in headers)) res.setHeader('Content-Length', 0);
      res.end();
    }
  }

  private json(res: ServerResponse, value: unknown, headers: Record<string, string> = {}, head = false): void {
    this.send(res, 200, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value), head);
  }

  private async dispatch(r: Route, method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = method === 'HEAD';
    const is = (...methods: string[]) => {
      if (!methods.includes(method)) throw new RegistryError('UNSUPPORTED', `method ${method} not allowed`, null, { headers: { Allow: methods.join(', ') } });
    };
    switch (r.kind) {
      case 'base':
        is('GET', 'HEAD');
        return this.json(res, {}, {}, head);
      case 'catalog': {
        is('GET');
        const { page, link } = paginate(this.storage.repositories(), url, '/v2/_catalog');
        return this.json(res, { repositories: page }, link ? { Link: link } : {});
      }
      case 'search':
        is('GET');
        return this.search(url, req, res);
      case 'tags': {
        is('GET');
        if (!this.storage.repositoryExists(r.name)) throw new RegistryError('NAME_UNKNOWN', undefined, { name: r.name });
        const { page, link } = paginate(this.storage.tags(r.name), url, `/v2/${r.name}/tags/list`);
        return this.json(res, { name: r.name, tags: page }, link ? { Link: link } : {});
      }
      case 'manifest':
        is('GET', 'HEAD', 'PUT', 'DELETE');
        if (method === 'PUT') return this.putManifest(r.name, r.ref, req, res);
        if (method === 'DELETE') {
          await this.storage.deleteManifest(r.name, parseReference(r.ref));
          return this.send(res, 202, {});
        }
        return this.getManifest(r.name, r.ref, req, res, head);
      case 'blob': {
        is('GET', 'HEAD', 'DELETE');
        const digest = checkDigest(r.digest);
        if (method === 'DELETE') {
          if (!this.storage.unlinkBlob(r.name, digest)) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest });
          return this.send(res, 202, { 'Docker-Content-Digest': digest });
        }
        return this.getBlob(r.name, digest, req, res, head);
      }
      case 'uploads':
        if (!r.uuid) {
          is('POST');
          return this.startUpload(r.name, url, req, res);
        }
        is('GET', 'PATCH', 'PUT', 'DELETE');
        return this.continueUpload(r.name, r.uuid, method, url, req, res);
      case 'referrers': {
        is('GET');
        const digest = checkDigest(r.digest);
        let manifests = await this.storage.referrers(r.name, digest);
        const artifactType = url.searchParams.get('artifactType');
        const headers: Record<string, string> = { 'Content-Type': MediaType.OciIndex };
        if (artifactType) {
          manifests = manifests.filter((m) => m.artifactType === artifactType);
          headers['OCI-Filters-Applied'] = 'artifactType';
        }
        const index: Index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
        return this.send(res, 200, headers, JSON.stringify(index));
      }
    }
  }

  private search(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const n = Math.min(Math.max(Number(url.searchParams.get('n') ?? 25) || 25, 1), 100);
    // Only what the caller could pull: a search must not reveal private repository names.
    const pullable = (name: string) => this.authorizer.allows(req.headers.authorization, [{ type: 'repository', name, actions: ['pull'] }]);
    const hits = this.storage.repositories().filter((name) => name.includes(q) && pullable(name));
    const results = hits.slice(0, n).map((name) => ({ name, description: '', star_count: 0, is_official: false, is_automated: false }));
    this.json(res, { num_results: hits.length, query: url.searchParams.get('q') ?? '', results });
  }

  // ---- blobs ----

  private async getBlob(name: string, digest: Digest, req: IncomingMessage, res: ServerResponse, head: boolean): Promise<void> {
    const size = await this.storage.blobSize(name, digest);
    if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest });
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      ETag: `"${digest}"`,
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'max-age=31536000',
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === '' && m[2] === '')) throw rangeNotSatisfiable(size);
      if (m[1] === '') {
        start = Math.max(0, size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
      }
      if (start > end || start >= size) throw rangeNotSatisfiable(size);
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = end - start + 1;
    res.writeHead(status, headers);
    if (head || size === 0) {
      res.end();
      return;
    }
    await sendFileRange(this.storage.blobs.path(digest), start, end, res);
  }

  private async startUpload(name: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const mount = url.searchParams.get('mount');
    const from = url.searchParams.get('from');
    if (mount && from) {
      const digest = checkDigest(mount);
      // A mount needs pull access to the source; without it (or without the blob) it is a plain upload.
      if (isValidRepositoryName(from) && this.authorizer.allows(req.headers.authorization, [{ type: 'repository', name: from, actions: ['pull'] }])) {
        if (await this.storage.mountBlob(name, from, digest)) {
          return this.send(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
        }
      }
    }
    const digestParam = url.searchParams.get('digest');
    const digest = digestParam !== null ? checkDigest(digestParam) : undefined;
    const uuid = this.storage.startUpload(name);
    if (digest) {
      // Monolithic upload: the whole blob in this request.
      await this.storage.finishUpload(name, uuid, digest, req, contentLength(req));
      return this.send(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
    }
    this.send(res, 202, { Location: uploadLocation(name, uuid), Range: '0-0', 'Docker-Upload-UUID': uuid });
  }

  private async continueUpload(name: string, uuid: string, method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const progress = (offset: number) => ({ Location: uploadLocation(name, uuid), Range: rangeHeader(offset), 'Docker-Upload-UUID': uuid });
    if (method === 'GET') return this.send(res, 204, progress(await this.storage.uploadOffset(name, uuid)));
    if (method === 'DELETE') {
      await this.storage.cancelUpload(name, uuid);
      return this.send(res, 204, {});
    }
    if (method === 'PATCH') {
      const length = contentLength(req);
      let start: number | undefined;
      const cr = req.headers['content-range'];
      if (cr !== undefined) {
        const m = /^(?:bytes[= ])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(cr.trim());
        if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', 'malformed Content-Range', { contentRange: cr }, { status: 416 });
        start = Number(m[1]);
        const end = Number(m[2]);
        if (end < start) throw new RegistryError('BLOB_UPLOAD_INVALID', 'Content-Range end before start', { contentRange: cr }, { status: 416 });
        if (length !== undefined && end - start + 1 !== length) throw new RegistryError('SIZE_INVALID', 'Content-Range does not match Content-Length', { contentRange: cr, contentLength: length }, { status: 416 });
      }
      const offset = await this.storage.appendUpload(name, uuid, req, start, length);
      return this.send(res, 202, progress(offset));
    }
    // PUT: the last chunk (possibly empty) and the digest that closes the upload.
    const digest = checkDigest(url.searchParams.get('digest'));
    const length = contentLength(req);
    const hasBody = (length ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    await this.storage.finishUpload(name, uuid, digest, hasBody ? req : undefined, hasBody ? length : undefined);
    this.send(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  }

  // ---- manifests ----

  private async putManifest(name: string, refText: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ref = parseReference(refText);
    const bytes = await readBody(req, MAX_MANIFEST_BYTES);
    const { digest, parsed } = await this.storage.putManifest(name, ref, bytes, req.headers['content-type']);
    const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
    if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
    this.send(res, 201, headers);
  }

  private async getManifest(name: string, refText: string, req: IncomingMessage, res: ServerResponse, head: boolean): Promise<void> {
    let ref: { tag?: string; digest?: Digest };
    try {
      ref = parseReference(refText);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'MANIFEST_INVALID') throw new RegistryError('MANIFEST_UNKNOWN', undefined, { tag: refText });
      throw err;
    }
    let m = await this.storage.getManifest(name, ref);
    const accepted = acceptedTypes(req.headers.accept);
    const takesAnything = accepted.length === 0 || accepted.includes('*/*') || accepted.includes(m.mediaType);
    if (!takesAnything && ref.tag) {
      // Like distribution: a client that cannot read an index gets the linux/amd64 image from it.
      if (isIndexMediaType(m.mediaType)) {
        const index = JSON.parse(m.bytes.toString('utf8')) as Index;
        const pick = index.manifests.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === 'amd64' && accepted.includes(d.mediaType));
        if (pick) m = await this.storage.getManifest(name, { digest: pick.digest });
      }
      if (!accepted.includes(m.mediaType) && MANIFEST_MEDIA_TYPES.includes(m.mediaType)) {
        throw new RegistryError('MANIFEST_UNKNOWN', `manifest is ${m.mediaType}, which the Accept header does not allow`, { tag: ref.tag, mediaType: m.mediaType });
      }
    }
    this.send(res, 200, { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"` }, m.bytes, head);
  }
}

function rangeNotSatisfiable(size: number): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', 'requested range not satisfiable', { size }, { status: 416, headers: { 'Content-Range': `bytes */${size}` } });
}
