// Real clients against `berth registry serve`: skopeo copies an OCI layout in and back out, through
// an open server, an htpasswd-protected one, a token-auth one (a test token service on loopback
// signing with a test key) and one on TLS; `berth registry gc` sweeps what nothing references.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { berthBin } from '../helpers/daemon.js';
import { writeOciLayout } from '../helpers/oci-layout.js';
import { startRegistry } from '../helpers/registry.js';
import { startTokenService } from '../helpers/token-service.js';
import { cryptHash } from '../../src/registry/server/bcrypt.js';

const skopeo = ['/usr/bin/skopeo'].find((p) => existsSync(p));
const run = promisify(execFile);
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-reginterop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A bcrypt htpasswd line as `htpasswd -B` writes it, made with crypt(3). */
function htpasswdLine(user: string, password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = [...randomBytes(22)].map((b) => alphabet[b % 64]).join('').replace(/.$/, '.');
  return `${user}:${cryptHash(password, `$2y$05$${salt}`)}`;
}

test('skopeo copies an OCI layout into the registry and back out', { skip: !skopeo }, async (t) => {
  const dir = tmp(t);
  const { manifestDigest, layerDigest } = writeOciLayout(path.join(dir, 'src'), 'v1');
  const reg = await startRegistry();
  t.after(() => reg.stop());
  await run(skopeo!, ['copy', '-q', '--dest-tls-verify=false', `oci:${dir}/src:v1`, `docker://${reg.host}/interop/busybox:v1`]);
  const tags = await (await fetch(`${reg.url}/v2/interop/busybox/tags/list`)).json();
  assert.deepEqual(tags, { name: 'interop/busybox', tags: ['v1'] });
  const inspected = JSON.parse((await run(skopeo!, ['inspect', '--tls-verify=false', `docker://${reg.host}/interop/busybox:v1`])).stdout);
  assert.equal(inspected.Digest, manifestDigest);
  assert.deepEqual(inspected.Layers, [layerDigest]);
  // The blob is in the berthd content-store layout.
  assert.ok(existsSync(path.join(reg.root, 'content', 'blobs', 'sha256', layerDigest.slice(7))));
  await run(skopeo!, ['copy', '-q', '--src-tls-verify=false', `docker://${reg.host}/interop/busybox:v1`, `oci:${dir}/out:v1`]);
  const index = JSON.parse(readFileSync(path.join(dir, 'out', 'index.json'), 'utf8'));
  assert.equal(index.manifests[0].digest, manifestDigest);
  const layer = readFileSync(path.join(dir, 'out', 'blobs', 'sha256', layerDigest.slice(7)));
  assert.equal(sha(layer), layerDigest);
  // A second repository gets its layer by cross-repository mount; then the catalog lists both.
  await run(skopeo!, ['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${reg.host}/interop/busybox:v1`, `docker://${reg.host}/interop/copy:v1`]);
  // Docker schema2 as well: skopeo converts, the registry stores and serves it as such.
  await run(skopeo!, ['copy', '-q', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${dir}/src:v1`, `docker://${reg.host}/interop/schema2:v1`]);
  const raw = JSON.parse((await run(skopeo!, ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/interop/schema2:v1`])).stdout);
  assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const catalog = await (await fetch(`${reg.url}/v2/_catalog`)).json();
  assert.deepEqual(catalog.repositories, ['interop/busybox', 'interop/copy', 'interop/schema2']);
});

test('htpasswd: skopeo pushes with --dest-creds; wrong or missing credentials get 401 with a Basic challenge', { skip: !skopeo }, async (t) => {
  const dir = tmp(t);
  writeOciLayout(path.join(dir, 'src'), 'v1');
  writeFileSync(path.join(dir, 'htpasswd'), `# users\n${htpasswdLine('alice', 's3cret')}\n`);
  const reg = await startRegistry({ args: ['--htpasswd', path.join(dir, 'htpasswd')] });
  t.after(() => reg.stop());
  const anon = await fetch(`${reg.url}/v2/`);
  assert.equal(anon.status, 401);
  assert.equal(anon.headers.get('www-authenticate'), 'Basic realm="berth registry"');
  assert.equal((await anon.json()).errors[0].code, 'UNAUTHORIZED');
  const wrong = await fetch(`${reg.url}/v2/`, { headers: { Authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('www-authenticate'), 'Basic realm="berth registry"');
  const right = await fetch(`${reg.url}/v2/`, { headers: { Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` } });
  assert.equal(right.status, 200);
  await assert.rejects(
    run(skopeo!, ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', 'alice:wrong', `oci:${dir}/src:v1`, `docker://${reg.host}/private/img:v1`]),
    /401|unauthorized|authentication required/i,
  );
  await run(skopeo!, ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret', `oci:${dir}/src:v1`, `docker://${reg.host}/private/img:v1`]);
  const tags = await run(skopeo!, ['list-tags', '--tls-verify=false', '--creds', 'alice:s3cret', `docker://${reg.host}/private/img`]);
  assert.deepEqual(JSON.parse(tags.stdout).Tags, ['v1']);
});

test('token auth: Bearer challenge, skopeo round trip through a token service, bad tokens refused', { skip: !skopeo }, async (t) => {
  const dir = tmp(t);
  writeOciLayout(path.join(dir, 'src'), 'v1');
  const { realm, publicKeyPem, scopes } = await startTokenService(t);
  writeFileSync(path.join(dir, 'token.pem'), publicKeyPem);
  const reg = await startRegistry({ args: ['--token-realm', realm, '--token-service', 'berth-test', '--token-issuer', 'test-issuer', '--token-cert', path.join(dir, 'token.pem')] });
  t.after(() => reg.stop());

  const anon = await fetch(`${reg.url}/v2/tok/img/tags/list`);
  assert.equal(anon.status, 401);
  assert.equal(anon.headers.get('www-authenticate'), `Bearer realm="${realm}",service="berth-test",scope="repository:tok/img:pull"`);
  const forged = await fetch(`${reg.url}/v2/`, { headers: { Authorization: 'Bearer a.b.c' } });
  assert.equal(forged.status, 401);
  assert.match(forged.headers.get('www-authenticate')!, /error="invalid_token"/);

  await run(skopeo!, ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', 'bob:pw', `oci:${dir}/src:v1`, `docker://${reg.host}/tok/img:v1`]);
  assert.ok(scopes.some((s) => s.includes('repository:tok/img:') && s.includes('push')), scopes.join('\n'));
  await run(skopeo!, ['copy', '-q', '--src-tls-verify=false', '--src-creds', 'bob:pw', `docker://${reg.host}/tok/img:v1`, `oci:${dir}/out:v1`]);
  assert.ok(existsSync(path.join(dir, 'out', 'index.json')));
  // A token for another repository is not enough.
  const tokenRes = await fetch(`${realm}?service=berth-test&scope=repository:other/repo:pull`, { headers: { Authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` } });
  const { token } = await tokenRes.json();
  const wrongScope = await fetch(`${reg.url}/v2/tok/img/tags/list`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(wrongScope.status, 401);
  assert.match(wrongScope.headers.get('www-authenticate')!, /error="insufficient_scope"/);
  const rightToken = (await (await fetch(`${realm}?service=berth-test&scope=repository:tok/img:pull`, { headers: { Authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` } })).json()).token;
  const listed = await fetch(`${reg.url}/v2/tok/img/tags/list`, { headers: { Authorization: `Bearer ${rightToken}` } });
  assert.deepEqual((await listed.json()).tags, ['v1']);
  // Search shows only what the token could pull.
  const hidden = await (await fetch(`${reg.url}/v1/search?q=tok`, { headers: { Authorization: `Bearer ${token}` } })).json();
  assert.deepEqual(hidden, { num_results: 0, query: 'tok', results: [] });
  const found = await (await fetch(`${reg.url}/v1/search?q=tok`, { headers: { Authorization: `Bearer ${rightToken}` } })).json();
  assert.deepEqual(found.results.map((r: { name: string }) => r.name), ['tok/img']);
});

test('TLS: skopeo verifies the server against its CA', { skip: !skopeo }, async (t) => {
  const dir = tmp(t);
  writeOciLayout(path.join(dir, 'src'), 'v1');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const reg = await startRegistry({ scheme: 'https', args: ['--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')] });
  t.after(() => reg.stop());
  const certs = path.join(dir, 'certs.d');
  execFileSync('mkdir', ['-p', certs]);
  writeFileSync(path.join(certs, 'ca.crt'), readFileSync(path.join(dir, 'cert.pem')));
  await run(skopeo!, ['copy', '-q', '--dest-cert-dir', certs, `oci:${dir}/src:v1`, `docker://${reg.host}/secure/img:v1`]);
  const tags = await run(skopeo!, ['list-tags', '--cert-dir', certs, `docker://${reg.host}/secure/img`]);
  assert.deepEqual(JSON.parse(tags.stdout).Tags, ['v1']);
});

test('registry gc sweeps unreferenced blobs and keeps everything a manifest names', { skip: !skopeo }, async (t) => {
  const dir = tmp(t);
  const { layerDigest, manifestDigest } = writeOciLayout(path.join(dir, 'src'), 'v1');
  const root = path.join(dir, 'root');
  const reg = await startRegistry({ root });
  await run(skopeo!, ['copy', '-q', '--dest-tls-verify=false', `oci:${dir}/src:v1`, `docker://${reg.host}/gc/img:v1`]);
  const orphan = randomBytes(1000);
  const post = await fetch(`${reg.url}/v2/gc/img/blobs/uploads/?digest=${sha(orphan)}`, { method: 'POST', body: orphan });
  assert.equal(post.status, 201);
  await reg.stop();
  const blob = (d: string) => path.join(root, 'content', 'blobs', 'sha256', d.slice(7));
  const dry = execFileSync(process.execPath, [berthBin, 'registry', 'gc', '--root', root, '--dry-run'], { encoding: 'utf8' });
  assert.match(dry, new RegExp(`blob eligible for deletion: ${sha(orphan)}`));
  assert.ok(existsSync(blob(sha(orphan))));
  const real = execFileSync(process.execPath, [berthBin, 'registry', 'gc', '--root', root], { encoding: 'utf8' });
  assert.match(real, /1 blobs deleted \(1000 bytes\)/);
  assert.equal(existsSync(blob(sha(orphan))), false);
  assert.ok(existsSync(blob(layerDigest)));
  assert.ok(existsSync(blob(manifestDigest)));
  assert.equal(existsSync(path.join(root, 'repositories', 'gc', 'img', '_layers', 'sha256', sha(orphan).slice(7))), false);
  // The image still copies out after gc.
  const again = await startRegistry({ root });
  t.after(() => again.stop());
  await run(skopeo!, ['copy', '-q', '--src-tls-verify=false', `docker://${again.host}/gc/img:v1`, `oci:${dir}/out:v1`]);
});
