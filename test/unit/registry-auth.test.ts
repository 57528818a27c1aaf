// Registry auth parsing: htpasswd files, Basic headers, bcrypt through crypt(3), and JWT checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { loadTokenKeys, parseBasic, parseHtpasswd, scopeString, verifyJwt } from '../../src/registry/server/auth.js';
import { isBcryptHash, verifyBcrypt } from '../../src/registry/server/bcrypt.js';

test('htpasswd lines and Basic headers', () => {
  const users = parseHtpasswd('# comment\nalice:$2y$05$abc\n\n  bob:hash:with:colons  \nbroken\n');
  assert.deepEqual([...users], [['alice', '$2y$05$abc'], ['bob', 'hash:with:colons']]);
  assert.deepEqual(parseBasic(`Basic ${Buffer.from('u:p:q').toString('base64')}`), { user: 'u', password: 'p:q' });
  assert.deepEqual(parseBasic(`basic ${Buffer.from('u:').toString('base64')}`), { user: 'u', password: '' });
  assert.equal(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  assert.equal(parseBasic('Bearer x'), undefined);
  assert.equal(parseBasic(undefined), undefined);
});

test('bcrypt verification matches the crypt_blowfish test vector', () => {
  const hash = '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
  assert.ok(isBcryptHash(hash));
  assert.equal(verifyBcrypt('U*U', hash), true);
  assert.equal(verifyBcrypt('U*V', hash), false);
  assert.equal(verifyBcrypt('U*U', hash.replace('$2a$', '$2y$')), true);
  // Other crypt(3) schemes are not accepted from an htpasswd file.
  assert.equal(verifyBcrypt('x', '$1$salt$hash'), false);
  assert.equal(verifyBcrypt('x', 'plaintext'), false);
});

function jwt(alg: string, claims: object, key: KeyObject, ieee = false): string {
  const h = Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url');
  const c = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = sign('sha256', Buffer.from(`${h}.${c}`), ieee ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${h}.${c}.${sig.toString('base64url')}`;
}

test('JWT: RS256 and ES256 verified; wrong key, issuer, audience, expiry and alg none refused', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = loadTokenKeys(`${rsa.publicKey.export({ type: 'spki', format: 'pem' })}${ec.publicKey.export({ type: 'spki', format: 'pem' })}`);
  assert.equal(keys.length, 2);
  const now = 1_700_000_000;
  const claims = { iss: 'iss', aud: 'svc', exp: now + 60, nbf: now - 10, access: [{ type: 'repository', name: 'a', actions: ['pull'] }] };
  const expect = { issuer: 'iss', audience: 'svc', now };
  assert.deepEqual(verifyJwt(jwt('RS256', claims, rsa.privateKey), keys, expect).access, claims.access);
  assert.equal(verifyJwt(jwt('ES256', claims, ec.privateKey, true), keys, expect).iss, 'iss');
  assert.throws(() => verifyJwt(jwt('RS256', claims, other.privateKey), keys, expect), /signature/);
  assert.throws(() => verifyJwt(jwt('RS256', { ...claims, iss: 'x' }, rsa.privateKey), keys, expect), /issuer/);
  assert.throws(() => verifyJwt(jwt('RS256', { ...claims, aud: ['x'] }, rsa.privateKey), keys, expect), /audience/);
  assert.throws(() => verifyJwt(jwt('RS256', { ...claims, exp: now - 120 }, rsa.privateKey), keys, expect), /expired/);
  assert.throws(() => verifyJwt(jwt('RS256', { ...claims, nbf: now + 120 }, rsa.privateKey), keys, expect), /not yet/);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
  assert.throws(() => verifyJwt(none, keys, expect), /unsupported token algorithm/);
  assert.throws(() => verifyJwt('not-a-jwt', keys, expect), /malformed/);
  assert.throws(() => loadTokenKeys('nothing here'), /no certificate/);
  assert.equal(scopeString([{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }, { type: 'registry', name: 'catalog', actions: ['*'] }]), 'repository:a/b:pull,push registry:catalog:*');
});
