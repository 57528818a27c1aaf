// Registry authentication: the client's X-Registry-Auth header, `WWW-Authenticate` challenges,
// and bearer tokens cached per (realm, service, scope) as the distribution token spec describes.
import { InvalidArgument } from '../../errdefs/index.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth refresh token returned by a previous login (`identitytoken`). */
  identityToken?: string;
  /** A ready bearer token (`registrytoken`). */
  registryToken?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth",service="reg",scope="repository:x:pull"` (and Basic). */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  const re = /\s*([A-Za-z][\w-]*)(?:\s+|$)((?:[\w-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) && m[0].length) {
    const params: Record<string, string> = {};
    const pre = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    let p: RegExpExecArray | null;
    while ((p = pre.exec(m[2] ?? ''))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    out.push({ scheme: m[1]!.toLowerCase(), params });
    if (re.lastIndex >= header.length) break;
  }
  return out;
}

/** Decodes the docker CLI's X-Registry-Auth: base64url (or base64) JSON. Empty -> anonymous. */
export function decodeRegistryAuth(header: string | undefined): Credentials {
  if (!header) return {};
  let json: Record<string, string>;
  try {
    json = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw new InvalidArgument('invalid X-Registry-Auth header');
  }
  if (!json || typeof json !== 'object') return {};
  return {
    username: json['username'] || undefined,
    password: json['password'] || undefined,
    identityToken: json['identitytoken'] || undefined,
    registryToken: json['registrytoken'] || undefined,
  };
}

export function encodeRegistryAuth(c: { username?: string; password?: string; serveraddress?: string; identitytoken?: string }): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function basicAuth(c: Credentials): string | undefined {
  if (c.username === undefined && c.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
}

/** Bearer tokens by realm+service+scope; expired ones are dropped (with a little slack). */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  static key(realm: string, service: string | undefined, scopes: string[]): string {
    return `${realm}|${service ?? ''}|${[...scopes].sort().join(' ')}`;
  }

  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (t.expires < Date.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return t.token;
  }

  set(key: string, token: string, expiresInSeconds = 60): void {
    this.tokens.set(key, { token, expires: Date.now() + Math.max(10, expiresInSeconds - 5) * 1000 });
  }

  delete(key: string): void {
    this.tokens.delete(key);
  }
}
