// The daemon's registry face: pull, push, login and search over registry/client, with the
// credentials each request brings (X-Registry-Auth). `pullIfMissing` is what container create
// (and `run`) call for an image that is not here yet.
import { Forbidden, InvalidArgument, NotFound } from '../errdefs/index.js';
import { RepositoryClient, RegistryTransport, searchRegistry, decodeRegistryAuth, type Credentials } from '../registry/client/index.js';
import {
  ImageService, pullImage, pushImage, parseReference, withDefaultTag, repositoryName, formatReference, DEFAULT_DOMAIN,
  type Reference,
} from '../images/index.js';
import type { ProgressSink } from '../images/index.js';
import type { Digest } from '../lib/digest.js';

export interface LoginRequest {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

export class RegistryBackend {
  constructor(
    private readonly images: ImageService,
    private readonly insecureRegistries: string[] = [],
    private readonly onEvent: (action: 'pull' | 'push', id: string, name: string) => void = () => {},
    private readonly blockedRegistries: string[] = [],
  ) {}

  /** `--block-registry`: a daemon that must never reach a registry (tests, air-gapped hosts) says so. */
  private allow(domain: string): void {
    if (this.blockedRegistries.some((b) => serverDomain(b) === domain)) {
      throw new Forbidden(`registry ${domain} is blocked on this daemon (--block-registry)`);
    }
  }

  private repo(ref: Reference, creds: Credentials): RepositoryClient {
    this.allow(ref.domain);
    return new RepositoryClient(ref.domain, ref.path, creds, { insecureRegistries: this.insecureRegistries });
  }

  /** POST /images/create?fromImage=&tag= */
  async pull(fromImage: string, tag: string | undefined, opts: { platform?: string; auth?: string }, progress: ProgressSink): Promise<Digest> {
    let ref = parseReference(fromImage);
    if (tag) {
      if (tag.startsWith('sha256:')) ref = { ...ref, tag: undefined, digest: tag as Digest };
      else ref = { ...ref, tag };
    }
    ref = withDefaultTag(ref);
    const id = await pullImage(this.images, this.images.compressed, this.repo(ref, decodeRegistryAuth(opts.auth)), ref, { platform: opts.platform }, progress);
    this.onEvent('pull', id, formatReference(ref));
    return id;
  }

  /** For container create/run: pulls `name` unless it is already present; returns the image ID. */
  async pullIfMissing(name: string, opts: { platform?: string; auth?: string } = {}, progress: ProgressSink = () => {}): Promise<Digest> {
    try {
      return this.images.resolve(name).id;
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
    return this.pull(name, undefined, opts, progress);
  }

  /** POST /images/{name}/push?tag= : with no tag, every tag of the repository goes up. */
  async push(name: string, tag: string | undefined, auth: string | undefined, progress: ProgressSink): Promise<void> {
    const ref = parseReference(name);
    if (ref.digest) throw new InvalidArgument('cannot push a digest reference');
    const wanted = tag ?? ref.tag;
    const repoName = repositoryName(ref);
    const tags = wanted
      ? [wanted]
      : this.images.records.allRefs().map(([r]) => r).filter((r) => r.startsWith(`${repoName}:`) && !r.includes('@')).map((r) => r.slice(repoName.length + 1));
    if (tags.length === 0) throw new NotFound(`An image does not exist locally with the tag: ${name}`);
    for (const t of tags) {
      try {
        this.images.resolve(`${repoName}:${t}`);
      } catch {
        throw new NotFound(`An image does not exist locally with the tag: ${formatReference({ ...ref, tag: t })}`);
      }
    }
    progress({ status: `The push refers to repository [${repoName}]` });
    const client = this.repo(ref, decodeRegistryAuth(auth));
    for (const t of tags) {
      await pushImage(this.images, this.images.compressed, client, { ...ref, tag: t }, progress);
      this.onEvent('push', this.images.resolve(`${repoName}:${t}`).id, `${repoName}:${t}`);
    }
  }

  /** POST /auth: checks the credentials against the registry's /v2/. */
  async login(req: LoginRequest): Promise<{ Status: string; IdentityToken: string }> {
    const domain = serverDomain(req.serveraddress);
    this.allow(domain);
    const t = new RegistryTransport(domain, { username: req.username, password: req.password, identityToken: req.identitytoken }, { insecureRegistries: this.insecureRegistries });
    await t.ping();
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }

  /** GET /images/search */
  async search(term: string, limit: number | undefined, auth: string | undefined): Promise<unknown[]> {
    if (!term) throw new InvalidArgument('term is required');
    const slash = term.indexOf('/');
    let domain = DEFAULT_DOMAIN;
    let q = term;
    if (slash > 0 && /[.:]|^localhost$/.test(term.slice(0, slash))) {
      domain = term.slice(0, slash);
      q = term.slice(slash + 1);
    }
    if (limit !== undefined && (limit < 1 || limit > 100)) throw new InvalidArgument('limit must be between 1 and 100');
    this.allow(domain);
    return searchRegistry(domain === DEFAULT_DOMAIN ? 'index.docker.io' : domain, q, limit ?? 25, decodeRegistryAuth(auth), { insecureRegistries: this.insecureRegistries });
  }
}

/** `https://index.docker.io/v1/`, `localhost:5000`, `http://127.0.0.1:5000` -> registry domain. */
export function serverDomain(server: string | undefined): string {
  if (!server) return DEFAULT_DOMAIN;
  let s = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (s === 'index.docker.io' || s === 'registry-1.docker.io') s = DEFAULT_DOMAIN;
  return s;
}
