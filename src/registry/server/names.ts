// Repository names, tags and digests as the distribution spec's grammar allows them. Anything else
// (`..`, percent-escapes, leading `_`, upper case) is refused before it can become a path.
import { isDigest, type Digest } from '../../lib/digest.js';
import { RegistryError } from './errcodes.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const MAX_NAME = 255;

export function isValidRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME && NAME_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function checkName(name: string): string {
  if (!isValidRepositoryName(name)) throw new RegistryError('NAME_INVALID', 'invalid repository name', { name });
  return name;
}

/** A digest from a URL or query: DIGEST_INVALID when malformed, UNSUPPORTED for unknown algorithms. */
export function checkDigest(value: string | null | undefined): Digest {
  if (!value) throw new RegistryError('DIGEST_INVALID', 'digest missing');
  if (isDigest(value)) return value;
  if (/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(value) && !/^sha(256|512):/.test(value)) {
    throw new RegistryError('UNSUPPORTED', `unsupported digest algorithm: ${value.split(':')[0]}`, { digest: value }, { status: 400 });
  }
  throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: value });
}

/** A manifest reference: a tag or a digest. */
export function parseReference(ref: string): { tag?: string; digest?: Digest } {
  if (ref.includes(':')) return { digest: checkDigest(ref) };
  if (!isValidTag(ref)) throw new RegistryError('MANIFEST_INVALID', 'invalid tag', { tag: ref });
  return { tag: ref };
}
