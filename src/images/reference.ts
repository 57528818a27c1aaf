// Image references as Docker normalises them: `busybox` is `docker.io/library/busybox:latest`,
// `localhost:5000/app` keeps its registry, a digest pins content. Familiar names drop
// `docker.io/` and `library/` for display, as `docker images` does.
import { InvalidArgument } from '../errdefs/index.js';
import { isDigest, type Digest } from '../lib/digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface Reference {
  domain: string;
  /** Path within the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: Digest;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const HEX64 = /^[a-f0-9]{64}$/;

function invalid(detail?: string): InvalidArgument {
  return new InvalidArgument(detail ? `invalid reference format: ${detail}` : 'invalid reference format');
}

function isDomain(s: string): boolean {
  if (s === 'localhost') return true;
  if (!s.includes('.') && !s.includes(':')) return false;
  const [host, port, extra] = s.split(':');
  if (extra !== undefined || (port !== undefined && !/^\d+$/.test(port))) return false;
  if (host!.startsWith('[')) return /^\[[0-9a-fA-F:.]+\]$/.test(host!);
  return host!.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Parses and normalises; with no tag or digest the tag is left undefined (see withDefaultTag). */
export function parseReference(input: string): Reference {
  if (!input) throw invalid();
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid();
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalid();
  }
  if (!rest) throw invalid();
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0 && isDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    path = rest.slice(slash + 1);
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (path.toLowerCase() !== path && path.split('/').every((c) => COMPONENT.test(c.toLowerCase()))) {
    throw invalid(`repository name (${path}) must be lowercase`);
  }
  if (!path.split('/').every((c) => COMPONENT.test(c))) throw invalid();
  if (`${domain}/${path}`.length > 255) throw invalid('repository name must not be more than 255 characters');
  return { domain, path, tag, digest };
}

/** Parses a name to store under (tag or target of `tag`): refuses a bare 64-hex ID, as Docker does. */
export function parseNamedReference(input: string): Reference {
  if (HEX64.test(input)) throw new InvalidArgument(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  return parseReference(input);
}

export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full form: `docker.io/library/busybox:latest`, `name@sha256:...`. */
export function formatReference(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** `busybox`, `user/app`, `localhost:5000/app`: the name as people write it. */
export function familiarRepository(ref: Pick<Reference, 'domain' | 'path'>): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice('library/'.length) : ref.path;
}

export function familiarString(ref: Reference): string {
  let s = familiarRepository(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Normalises a reference string for storage: tag defaulted, full form. */
export function normalize(input: string): string {
  return formatReference(withDefaultTag(parseReference(input)));
}
