// Who may do what: none (open registry), htpasswd (HTTP Basic, bcrypt entries) or token (Bearer
// JWTs from an external token service, RS256/ES256, checked against its certificate). Each request
// names the access it needs; a failure carries the WWW-Authenticate challenge a client follows.
import { X509Certificate, createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RegistryError } from './errcodes.js';
import { verifyBcrypt } from './bcrypt.js';

/** `repository:<name>:<actions>` or `registry:catalog:*`. */
export interface Access {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

export interface Authorizer {
  /** Throws UNAUTHORIZED/DENIED unless `authorization` grants all of `access`. */
  authorize(authorization: string | undefined, access: Access[]): void;
  /** True if the request's credentials grant `access` (used to decide whether a mount may happen). */
  allows(authorization: string | undefined, access: Access[]): boolean;
}

export const openAccess: Authorizer = { authorize() {}, allows: () => true };

// ---- htpasswd ----

export function parseHtpasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    users.set(line.slice(0, i), line.slice(i + 1));
  }
  return users;
}

/** `Basic base64(user:pass)` -> credentials; undefined when absent or malformed. */
export function parseBasic(authorization: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/** How long a verified Basic header is trusted without another bcrypt (tens of ms at cost 10). */
const VERIFIED_TTL_MS = 5 * 60 * 1000;
const VERIFIED_MAX = 1000;

export class HtpasswdAuthorizer implements Authorizer {
  private readonly users: Map<string, string>;
  /** sha256 of a Basic header that passed bcrypt -> when it stops being trusted. */
  private readonly verified = new Map<string, number>();

  constructor(file: string, private readonly realm = 'berth registry') {
    this.users = parseHtpasswd(readFileSync(file, 'utf8'));
  }

  private check(authorization: string | undefined): boolean {
    const creds = parseBasic(authorization);
    if (!creds) return false;
    // A push is dozens of requests with the same header; bcrypt each one and the CPU goes there.
    const key = createHash('sha256').update(authorization!).digest('hex');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const hash = this.users.get(creds.user);
    if (hash === undefined || !verifyBcrypt(creds.password, hash)) return false;
    if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
    this.verified.set(key, Date.now() + VERIFIED_TTL_MS);
    return true;
  }

  authorize(authorization: string | undefined): void {
    if (!this.check(authorization)) {
      throw new RegistryError('UNAUTHORIZED', 'authentication required', null, { headers: { 'WWW-Authenticate': `Basic realm="${this.realm}"` } });
    }
  }

  allows(authorization: string | undefined): boolean {
    return this.check(authorization);
  }
}

// ---- token ----

export interface TokenOptions {
  realm: string;
  service: string;
  issuer: string;
  /** PEM: a certificate (bundle) or a public key. */
  certFile: string;
}

interface TokenClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  access?: { type: string; name: string; actions: string[] }[];
}

function b64urlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** Public keys from a PEM file of certificates and/or public keys. */
export function loadTokenKeys(pem: string): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const block of pem.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? []) {
    if (block.includes('CERTIFICATE')) keys.push(new X509Certificate(block).publicKey);
    else if (block.includes('PUBLIC KEY')) keys.push(createPublicKey(block));
  }
  if (!keys.length) throw new Error('token certificate file holds no certificate or public key');
  return keys;
}

export type TokenFailure = 'invalid_token' | 'insufficient_scope' | undefined;

/** Verifies a compact JWS (RS256 or ES256) and its registered claims; returns the claims or throws. */
export function verifyJwt(token: string, keys: KeyObject[], expect: { issuer: string; audience: string; now?: number }): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('malformed token');
  const header = b64urlJson(parts[0]!);
  const claims = b64urlJson(parts[1]!) as TokenClaims;
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2]!, 'base64url');
  const alg = header['alg'];
  let ok = false;
  for (const key of keys) {
    if (alg === 'RS256' && key.asymmetricKeyType === 'rsa') ok = verifySignature('sha256', signed, key, signature);
    else if (alg === 'ES256' && key.asymmetricKeyType === 'ec') ok = verifySignature('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature);
    if (ok) break;
  }
  if (!ok) throw new Error(alg === 'RS256' || alg === 'ES256' ? 'bad token signature' : `unsupported token algorithm ${String(alg)}`);
  const now = expect.now ?? Math.floor(Date.now() / 1000);
  const leeway = 60;
  if (claims.iss !== expect.issuer) throw new Error('token issuer mismatch');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(expect.audience)) throw new Error('token audience mismatch');
  if (typeof claims.exp !== 'number' || claims.exp + leeway < now) throw new Error('token expired');
  if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) throw new Error('token not yet valid');
  return claims;
}

function grants(claims: TokenClaims, want: Access): boolean {
  return (claims.access ?? []).some((a) => a.type === want.type && a.name === want.name && want.actions.every((x) => a.actions.includes(x) || a.actions.includes('*')));
}

export function scopeString(access: Access[]): string {
  return access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' ');
}

export class TokenAuthorizer implements Authorizer {
  private readonly keys: KeyObject[];
  constructor(private readonly options: TokenOptions) {
    this.keys = loadTokenKeys(readFileSync(options.certFile, 'utf8'));
  }

  private failure(authorization: string | undefined, access: Access[]): TokenFailure | 'missing' {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return 'missing';
    let claims: TokenClaims;
    try {
      claims = verifyJwt(m[1]!, this.keys, { issuer: this.options.issuer, audience: this.options.service });
    } catch {
      return 'invalid_token';
    }
    return access.every((a) => grants(claims, a)) ? undefined : 'insufficient_scope';
  }

  authorize(authorization: string | undefined, access: Access[]): void {
    const failure = this.failure(authorization, access);
    if (failure === undefined) return;
    let challenge = `Bearer realm="${this.options.realm}",service="${this.options.service}"`;
    if (access.length) challenge += `,scope="${scopeString(access)}"`;
    if (failure !== 'missing') challenge += `,error="${failure}"`;
    throw new RegistryError('UNAUTHORIZED', failure === 'insufficient_scope' ? 'insufficient scope' : 'authentication required', access.length ? access : null, {
      headers: { 'WWW-Authenticate': challenge },
    });
  }

  allows(authorization: string | undefined, access: Access[]): boolean {
    return this.failure(authorization, access) === undefined;
  }
}
