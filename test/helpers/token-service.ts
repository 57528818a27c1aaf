// A token service on loopback for registries with `--token-realm`: Basic credentials in (one user,
// bob:pw), an RS256 JWT granting the asked scopes out; anonymous callers get a token granting
// nothing, wrong credentials a 401. Records the scopes it was asked for. Stopped with the test.
import { generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const TOKEN_USER = 'bob';
export const TOKEN_PASSWORD = 'pw';

export interface TokenService {
  /** The realm URL to give the registry. */
  realm: string;
  /** The public key (SPKI PEM) the registry checks tokens with. */
  publicKeyPem: string;
  /** The `scope` parameters of every request, space-joined, in order. */
  scopes: string[];
}

export async function startTokenService(t: { after(fn: () => void): void }, issuer = 'test-issuer'): Promise<TokenService> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const scopes: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const auth = req.headers.authorization ?? '';
    const ok = auth === `Basic ${Buffer.from(`${TOKEN_USER}:${TOKEN_PASSWORD}`).toString('base64')}`;
    scopes.push(url.searchParams.getAll('scope').join(' '));
    // Wrong credentials are refused as token servers do; no credentials get an anonymous token.
    if (auth && !ok) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ details: 'incorrect username or password' }));
    }
    const access = ok
      ? url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean).map((s) => {
          const [type, ...rest] = s.split(':');
          const actions = rest.pop()!.split(',');
          return { type, name: rest.join(':'), actions };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
    const claims = Buffer.from(JSON.stringify({ iss: issuer, sub: ok ? TOKEN_USER : '', aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 1, iat: now, access })).toString('base64url');
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), privateKey).toString('base64url');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ token: `${header}.${claims}.${signature}` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    scopes,
  };
}
