// Registry auth pieces: challenge parsing, X-Registry-Auth decoding, scheme choice, server keys,
// and the bearer token flow (token cached per scope, fetched again after a 401) against a small
// loopback server that plays registry and token service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeRegistryAuth, encodeRegistryAuth, endpointFor, isInsecure, parseChallenges, RepositoryClient } from '../../src/registry/client/index.js';
import { serverKey } from '../../src/cli/dockerconfig.js';
import { serverDomain } from '../../src/daemon/registry.js';
import { parsePlatform } from '../../src/images/index.js';
import { progressBar } from '../../src/images/progress.js';

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseChallenges('Bearer realm="a,b", scope="x y"')[0]!.params, { realm: 'a,b', scope: 'x y' });
  assert.deepEqual(parseChallenges(''), []);
  assert.deepEqual(parseChallenges(undefined), []);
});

test('X-Registry-Auth: base64url JSON, as the docker CLI sends it', () => {
  const h = encodeRegistryAuth({ username: 'u', password: 'p?>', serveraddress: 'r' });
  assert.doesNotMatch(h, /[+/]/);
  assert.deepEqual(decodeRegistryAuth(h), { username: 'u', password: 'p?>', identityToken: undefined, registryToken: undefined });
  assert.deepEqual(decodeRegistryAuth(Buffer.from('{}').toString('base64')), { username: undefined, password: undefined, identityToken: undefined, registryToken: undefined });
  assert.deepEqual(decodeRegistryAuth(undefined), {});
  assert.throws(() => decodeRegistryAuth('!!!notjson'), /X-Registry-Auth/);
});

test('plain HTTP for loopback and --insecure-registry, https otherwise; Hub endpoint', () => {
  assert.equal(isInsecure('127.0.0.1:5000'), true);
  assert.equal(isInsecure('127.5.6.7'), true);
  assert.equal(isInsecure('localhost:5000'), true);
  assert.equal(isInsecure('registry.example:5000'), false);
  assert.equal(isInsecure('registry.example:5000', ['registry.example:5000']), true);
  assert.equal(isInsecure('128.0.0.1:5000'), false);
  assert.equal(endpointFor('docker.io'), 'https://registry-1.docker.io');
  assert.equal(endpointFor('10.0.0.1:5000', { insecureRegistries: ['10.0.0.1:5000'] }), 'http://10.0.0.1:5000');
});

test('server names: config.json keys and registry domains', () => {
  assert.equal(serverKey(undefined), 'https://index.docker.io/v1/');
  assert.equal(serverKey('docker.io'), 'https://index.docker.io/v1/');
  assert.equal(serverKey('https://index.docker.io/v1/'), 'https://index.docker.io/v1/');
  assert.equal(serverKey('http://localhost:5000/'), 'localhost:5000');
  assert.equal(serverDomain('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(serverDomain('127.0.0.1:5000'), '127.0.0.1:5000');
});

test('platforms and progress bars', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.throws(() => parsePlatform('linux'), /unknown operating system or architecture/);
  assert.equal(progressBar(0, 1000), `[${' '.repeat(50)}]       0B/1kB`);
  assert.equal(progressBar(500, 1000), `[${'='.repeat(24)}>${' '.repeat(25)}]     500B/1kB`);
});

test('bearer flow: token per scope, cached, refreshed after a 401', async () => {
  let tokensIssued = 0;
  let revoked = false;
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/token') {
      assert.equal(req.headers.authorization, `Basic ${Buffer.from('bob:pw').toString('base64')}`);
      seen.push(url.searchParams.getAll('scope').join(' '));
      tokensIssued++;
      res.setHeader('Content-Type', 'application/json');
      return res.end(JSON.stringify({ token: `tok${tokensIssued}`, expires_in: 300 }));
    }
    const want = `Bearer tok${tokensIssued}`;
    if (!tokensIssued || req.headers.authorization !== want || revoked) {
      revoked = false;
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${(server.address() as AddressInfo).port}/token",service="test",scope="repository:a/b:pull"` });
      return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end('{"schemaVersion":2,"config":{},"layers":[]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const repo = new RepositoryClient(`127.0.0.1:${(server.address() as AddressInfo).port}`, 'a/b', { username: 'bob', password: 'pw' });
    await repo.getManifest('latest');
    await repo.getManifest('latest');
    assert.equal(tokensIssued, 1, 'second request reuses the token');
    assert.deepEqual(seen, ['repository:a/b:pull']);
    revoked = true;
    await repo.getManifest('latest');
    assert.equal(tokensIssued, 2, 'a refused token is fetched again');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
