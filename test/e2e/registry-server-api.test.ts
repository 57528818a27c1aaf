// `berth registry serve` against the distribution spec's HTTP contract: every endpoint, the error
// catalog, pagination, ranges, chunked and monolithic uploads, mounts, concurrency, restarts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
});

async function req(method: string, url: string, init: { body?: Buffer | string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${reg.url}${url}`, { method, body: init.body as unknown as RequestInit['body'], headers: init.headers, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString()) };
}

function errorCode(r: { json(): { errors: { code: string }[] } }): string {
  return r.json().errors[0]!.code;
}

async function pushBlob(name: string, data: Buffer): Promise<string> {
  const d = sha(data);
  const r = await req('POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201, r.body.toString());
  return d;
}

function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}, mediaType = OCI_MANIFEST): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: mediaType === OCI_MANIFEST ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', digest: sha(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(l), size: l.length })),
    ...extra,
  }));
}

async function pushImage(name: string, tag: string, mediaType = OCI_MANIFEST): Promise<{ digest: string; bytes: Buffer; layer: Buffer }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag, n: randomBytes(4).toString('hex') }));
  const layer = randomBytes(2048);
  await pushBlob(name, config);
  await pushBlob(name, layer);
  const bytes = imageManifest(config, [layer], {}, mediaType);
  const r = await req('PUT', `/v2/${name}/manifests/${tag}`, { body: bytes, headers: { 'Content-Type': mediaType } });
  assert.equal(r.status, 201, r.body.toString());
  assert.equal(r.headers.get('docker-content-digest'), sha(bytes));
  return { digest: sha(bytes), bytes, layer };
}

/** A raw request whose path is sent exactly as written (fetch would normalise `..`). */
function rawGet(p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(reg.url);
    const r = http.request({ host: u.hostname, port: u.port, path: p, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('base and errors', () => {
  test('/v2/ answers 200 with the API version header', async () => {
    const r = await req('GET', '/v2/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  test('invalid names are NAME_INVALID, path tricks included', async () => {
    for (const p of ['/v2/UPPER/tags/list', '/v2/a/../b/tags/list', '/v2/%2e%2e/x/tags/list', '/v2/_x/tags/list', '/v2/a//b/tags/list']) {
      const r = await rawGet(p);
      assert.equal(r.status, 400, p);
      assert.equal(JSON.parse(r.body).errors[0].code, 'NAME_INVALID', p);
    }
    assert.equal(existsSync(path.join(reg.root, 'repositories', 'b')), false);
  });

  test('errors use the spec shape', async () => {
    const r = await req('GET', `/v2/nothing/here/blobs/${sha('x')}`);
    assert.equal(r.status, 404);
    const body = r.json();
    assert.equal(body.errors.length, 1);
    assert.deepEqual(Object.keys(body.errors[0]).sort(), ['code', 'detail', 'message']);
    assert.equal(body.errors[0].code, 'BLOB_UNKNOWN');
  });

  test('unknown repository tags are NAME_UNKNOWN, malformed digests DIGEST_INVALID, odd algorithms UNSUPPORTED', async () => {
    assert.equal(errorCode(await req('GET', '/v2/never/pushed/tags/list')), 'NAME_UNKNOWN');
    const bad = await req('GET', '/v2/x/blobs/sha256:nothex');
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), 'DIGEST_INVALID');
    const odd = await req('GET', `/v2/x/blobs/md5:${'a'.repeat(32)}`);
    assert.equal(errorCode(odd), 'UNSUPPORTED');
    const method = await req('POST', '/v2/x/tags/list');
    assert.equal(method.status, 405);
    assert.equal(errorCode(method), 'UNSUPPORTED');
  });
});

describe('blobs', () => {
  test('monolithic upload, GET, HEAD, Range and DELETE', async () => {
    const data = randomBytes(100_000);
    const d = await pushBlob('blobs/mono', data);
    const head = await req('HEAD', `/v2/blobs/mono/blobs/${d}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
    assert.equal(head.headers.get('docker-content-digest'), d);
    assert.equal(head.body.length, 0);
    const get = await req('GET', `/v2/blobs/mono/blobs/${d}`);
    assert.ok(get.body.equals(data));
    const part = await req('GET', `/v2/blobs/mono/blobs/${d}`, { headers: { Range: 'bytes=10-19' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-19/${data.length}`);
    assert.ok(part.body.equals(data.subarray(10, 20)));
    const suffix = await req('GET', `/v2/blobs/mono/blobs/${d}`, { headers: { Range: 'bytes=-5' } });
    assert.ok(suffix.body.equals(data.subarray(data.length - 5)));
    const open = await req('GET', `/v2/blobs/mono/blobs/${d}`, { headers: { Range: 'bytes=99990-' } });
    assert.ok(open.body.equals(data.subarray(99990)));
    const beyond = await req('GET', `/v2/blobs/mono/blobs/${d}`, { headers: { Range: `bytes=${data.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${data.length}`);
    // Another repository has no link to it.
    assert.equal(errorCode(await req('GET', `/v2/blobs/other/blobs/${d}`)), 'BLOB_UNKNOWN');
    const del = await req('DELETE', `/v2/blobs/mono/blobs/${d}`);
    assert.equal(del.status, 202);
    assert.equal((await req('HEAD', `/v2/blobs/mono/blobs/${d}`)).status, 404);
    assert.equal(errorCode(await req('DELETE', `/v2/blobs/mono/blobs/${d}`)), 'BLOB_UNKNOWN');
  });

  test('a client that hangs up mid-download does not disturb the server', async () => {
    const data = randomBytes(16 << 20);
    const d = await pushBlob('blobs/hangup', data);
    const u = new URL(reg.url);
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve) => {
        const r = http.get({ host: u.hostname, port: u.port, path: `/v2/blobs/hangup/blobs/${d}` }, (res) => {
          res.once('data', () => {
            r.destroy();
            resolve();
          });
        });
        r.on('error', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    const full = await req('GET', `/v2/blobs/hangup/blobs/${d}`);
    assert.equal(full.status, 200);
    assert.ok(full.body.equals(data));
    assert.doesNotMatch(reg.log(), /Error|unhandled/i);
  });

  test('a digest mismatch is DIGEST_INVALID and stores nothing', async () => {
    const data = randomBytes(5000);
    const wrong = sha('something else');
    const before = readdirSync(path.join(reg.root, 'content', 'blobs', 'sha256')).length;
    const r = await req('POST', `/v2/blobs/bad/blobs/uploads/?digest=${wrong}`, { body: data });
    assert.equal(r.status, 400);
    assert.equal(errorCode(r), 'DIGEST_INVALID');
    assert.equal(existsSync(path.join(reg.root, 'content', 'blobs', 'sha256', sha(data).slice(7))), false);
    assert.equal(existsSync(path.join(reg.root, 'content', 'blobs', 'sha256', wrong.slice(7))), false);
    assert.equal(readdirSync(path.join(reg.root, 'content', 'blobs', 'sha256')).length, before);
    assert.deepEqual(readdirSync(path.join(reg.root, 'content', 'ingest')).length, 0);
    assert.equal((await req('HEAD', `/v2/blobs/bad/blobs/${wrong}`)).status, 404);
  });

  test('chunked upload with Content-Range, status, 416 on a bad range, PUT to finish', async () => {
    const data = randomBytes(300_000);
    const start = await req('POST', '/v2/blobs/chunked/blobs/uploads/');
    assert.equal(start.status, 202);
    const uuid = start.headers.get('docker-upload-uuid')!;
    let location = start.headers.get('location')!;
    assert.match(location, new RegExp(`/v2/blobs/chunked/blobs/uploads/${uuid}$`));
    const chunks = [data.subarray(0, 100_000), data.subarray(100_000, 250_000), data.subarray(250_000)];
    let offset = 0;
    for (const c of chunks.slice(0, 2)) {
      const r = await req('PATCH', location, { body: c, headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + c.length - 1}` } });
      assert.equal(r.status, 202, r.body.toString());
      offset += c.length;
      assert.equal(r.headers.get('range'), `0-${offset - 1}`);
      location = r.headers.get('location')!;
    }
    const status = await req('GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${offset - 1}`);
    // A chunk that does not start at the current offset is refused and changes nothing.
    const skip = await req('PATCH', location, { body: chunks[2]!, headers: { 'Content-Range': `${offset + 10}-${offset + 10 + chunks[2]!.length - 1}` } });
    assert.equal(skip.status, 416);
    assert.equal(errorCode(skip), 'BLOB_UPLOAD_INVALID');
    const garbled = await req('PATCH', location, { body: chunks[2]!, headers: { 'Content-Range': 'nonsense' } });
    assert.equal(garbled.status, 416);
    assert.equal((await req('GET', location)).headers.get('range'), `0-${offset - 1}`);
    const done = await req('PUT', `${location}?digest=${sha(data)}`, { body: chunks[2]!, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(done.status, 201, done.body.toString());
    assert.equal(done.headers.get('docker-content-digest'), sha(data));
    assert.ok((await req('GET', `/v2/blobs/chunked/blobs/${sha(data)}`)).body.equals(data));
    // The session is over.
    assert.equal(errorCode(await req('GET', location)), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('POST then one PUT carrying the whole blob (the spec\'s two-step monolithic upload)', async () => {
    const data = randomBytes(70_000);
    const s = await req('POST', '/v2/blobs/twostep/blobs/uploads/');
    assert.equal(s.status, 202);
    assert.equal(s.headers.get('range'), '0-0');
    const put = await req('PUT', `${s.headers.get('location')}?digest=${sha(data)}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('location'), `/v2/blobs/twostep/blobs/${sha(data)}`);
    assert.ok((await req('GET', `/v2/blobs/twostep/blobs/${sha(data)}`)).body.equals(data));
  });

  test('unknown upload sessions are BLOB_UPLOAD_UNKNOWN; DELETE cancels one', async () => {
    assert.equal(errorCode(await req('PATCH', '/v2/blobs/x/blobs/uploads/00000000-0000-0000-0000-000000000000', { body: 'x' })), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(errorCode(await req('GET', '/v2/blobs/x/blobs/uploads/not-a-session')), 'BLOB_UPLOAD_UNKNOWN');
    const start = await req('POST', '/v2/blobs/cancel/blobs/uploads/');
    const location = start.headers.get('location')!;
    await req('PATCH', location, { body: 'abc' });
    assert.equal((await req('DELETE', location)).status, 204);
    assert.equal(errorCode(await req('GET', location)), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(errorCode(await req('PUT', `${location}?digest=${sha('abc')}`)), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('PUT without a digest is DIGEST_INVALID; a mismatched Content-Range length is SIZE_INVALID', async () => {
    const start = await req('POST', '/v2/blobs/nodigest/blobs/uploads/');
    const location = start.headers.get('location')!;
    assert.equal(errorCode(await req('PUT', location)), 'DIGEST_INVALID');
    const again = await req('POST', '/v2/blobs/nodigest/blobs/uploads/');
    const r = await req('PATCH', again.headers.get('location')!, { body: 'abcd', headers: { 'Content-Range': '0-9' } });
    assert.equal(r.status, 416);
    assert.equal(errorCode(r), 'SIZE_INVALID');
  });

  test('cross-repository mount links without an upload; an unknown source falls back to an upload', async () => {
    const data = randomBytes(4096);
    const d = await pushBlob('mount/source', data);
    const m = await req('POST', `/v2/mount/target/blobs/uploads/?mount=${d}&from=mount/source`);
    assert.equal(m.status, 201);
    assert.equal(m.headers.get('location'), `/v2/mount/target/blobs/${d}`);
    assert.ok((await req('GET', `/v2/mount/target/blobs/${d}`)).body.equals(data));
    const fallback = await req('POST', `/v2/mount/target2/blobs/uploads/?mount=${sha('absent')}&from=mount/source`);
    assert.equal(fallback.status, 202);
    assert.ok(fallback.headers.get('docker-upload-uuid'));
  });

  test('two clients pushing the same blob at once both succeed', async () => {
    const data = randomBytes(2 << 20);
    const d = sha(data);
    const push = async (name: string) => {
      const s = await req('POST', `/v2/${name}/blobs/uploads/`);
      const loc = s.headers.get('location')!;
      const p = await req('PATCH', loc, { body: data });
      assert.equal(p.status, 202);
      return req('PUT', `${p.headers.get('location')}?digest=${d}`);
    };
    const results = await Promise.all([push('race/one'), push('race/two'), push('race/one'), pushBlob('race/three', data).then(() => ({ status: 201 }))]);
    for (const r of results) assert.equal(r.status, 201);
    for (const name of ['race/one', 'race/two', 'race/three']) assert.ok((await req('GET', `/v2/${name}/blobs/${d}`)).body.equals(data));
  });

  test('an upload cut off half way leaves nothing visible and can be retried', async () => {
    const data = randomBytes(4 << 20);
    const d = sha(data);
    const s = await req('POST', '/v2/cut/off/blobs/uploads/');
    const loc = new URL(s.headers.get('location')!, reg.url);
    // Send half the declared body, then drop the connection.
    await new Promise<void>((resolve) => {
      const r = http.request({ host: loc.hostname, port: loc.port, path: loc.pathname, method: 'PATCH', headers: { 'Content-Length': data.length, 'Content-Type': 'application/octet-stream' } });
      r.on('error', () => resolve());
      r.write(data.subarray(0, data.length / 2), () => setTimeout(() => {
        r.destroy();
        resolve();
      }, 200));
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await req('HEAD', `/v2/cut/off/blobs/${d}`)).status, 404);
    assert.equal(existsSync(path.join(reg.root, 'content', 'blobs', 'sha256', d.slice(7))), false);
    // Resume where the server says it got to.
    const status = await req('GET', loc.pathname);
    assert.equal(status.status, 204);
    const got = Number(status.headers.get('range')!.split('-')[1]) + 1;
    assert.ok(got <= data.length / 2);
    const rest = await req('PATCH', loc.pathname, { body: data.subarray(got), headers: { 'Content-Range': `${got}-${data.length - 1}` } });
    assert.equal(rest.status, 202, rest.body.toString());
    assert.equal((await req('PUT', `${loc.pathname}?digest=${d}`)).status, 201);
    assert.ok((await req('GET', `/v2/cut/off/blobs/${d}`)).body.equals(data));
    // A fresh retry of the whole blob works too.
    assert.equal(await pushBlob('cut/again', data), d);
  });
});

describe('manifests', () => {
  test('PUT by tag, GET/HEAD by tag and digest with Docker-Content-Digest and the stored media type', async () => {
    const { digest, bytes } = await pushImage('man/oci', 'v1');
    const byTag = await req('GET', '/v2/man/oci/manifests/v1', { headers: { Accept: OCI_MANIFEST } });
    assert.equal(byTag.status, 200);
    assert.ok(byTag.body.equals(bytes));
    assert.equal(byTag.headers.get('content-type'), OCI_MANIFEST);
    assert.equal(byTag.headers.get('docker-content-digest'), digest);
    const head = await req('HEAD', `/v2/man/oci/manifests/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    const schema2 = await pushImage('man/docker', 'v1', DOCKER_MANIFEST);
    const got = await req('GET', '/v2/man/docker/manifests/v1', { headers: { Accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}` } });
    assert.equal(got.headers.get('content-type'), DOCKER_MANIFEST);
    assert.equal(got.headers.get('docker-content-digest'), schema2.digest);
  });

  test('content negotiation: an OCI manifest is not served to a client that only takes schema2', async () => {
    await pushImage('man/neg', 'v1');
    const r = await req('GET', '/v2/man/neg/manifests/v1', { headers: { Accept: DOCKER_MANIFEST } });
    assert.equal(r.status, 404);
    assert.equal(errorCode(r), 'MANIFEST_UNKNOWN');
  });

  test('an index by tag resolves to the linux/amd64 image for a client without index support', async () => {
    const img = await pushImage('man/index', 'amd64');
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: img.digest, size: img.bytes.length, platform: { os: 'linux', architecture: 'amd64' } }],
    }));
    const put = await req('PUT', '/v2/man/index/manifests/multi', { body: index, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(put.status, 201);
    const asIndex = await req('GET', '/v2/man/index/manifests/multi', { headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
    assert.equal(asIndex.headers.get('content-type'), OCI_INDEX);
    const asImage = await req('GET', '/v2/man/index/manifests/multi', { headers: { Accept: OCI_MANIFEST } });
    assert.equal(asImage.headers.get('docker-content-digest'), img.digest);
    // An index naming a manifest the repository lacks is refused.
    const dangling = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha('nope'), size: 4 }] }));
    const r = await req('PUT', '/v2/man/index/manifests/bad', { body: dangling, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(errorCode(r), 'MANIFEST_BLOB_UNKNOWN');
  });

  test('MANIFEST_BLOB_UNKNOWN, MANIFEST_INVALID, DIGEST_INVALID and MANIFEST_UNKNOWN', async () => {
    const config = Buffer.from('{}');
    await pushBlob('man/bad', config);
    const missingLayer = imageManifest(config, [Buffer.from('never pushed')]);
    const r = await req('PUT', '/v2/man/bad/manifests/v1', { body: missingLayer, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(r.status, 400);
    assert.equal(errorCode(r), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(existsSync(path.join(reg.root, 'content', 'blobs', 'sha256', sha(missingLayer).slice(7))), false);
    assert.equal(errorCode(await req('PUT', '/v2/man/bad/manifests/v1', { body: 'not json', headers: { 'Content-Type': OCI_MANIFEST } })), 'MANIFEST_INVALID');
    assert.equal(errorCode(await req('PUT', '/v2/man/bad/manifests/v1', { body: '{"schemaVersion":1}', headers: { 'Content-Type': OCI_MANIFEST } })), 'MANIFEST_INVALID');
    const good = imageManifest(config, []);
    assert.equal(errorCode(await req('PUT', '/v2/man/bad/manifests/v1', { body: good, headers: { 'Content-Type': DOCKER_MANIFEST } })), 'MANIFEST_INVALID');
    assert.equal(errorCode(await req('PUT', `/v2/man/bad/manifests/${sha('other')}`, { body: good, headers: { 'Content-Type': OCI_MANIFEST } })), 'DIGEST_INVALID');
    assert.equal((await req('PUT', `/v2/man/bad/manifests/${sha(good)}`, { body: good, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);
    assert.equal(errorCode(await req('GET', '/v2/man/bad/manifests/v1')), 'MANIFEST_UNKNOWN');
    assert.equal(errorCode(await req('GET', `/v2/man/bad/manifests/${sha('x')}`)), 'MANIFEST_UNKNOWN');
  });

  test('DELETE by tag removes the tag; by digest removes the manifest and its tags', async () => {
    const { digest } = await pushImage('man/del', 'a');
    await req('PUT', '/v2/man/del/manifests/b', { body: (await req('GET', `/v2/man/del/manifests/${digest}`)).body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal((await req('DELETE', '/v2/man/del/manifests/a')).status, 202);
    assert.deepEqual((await req('GET', '/v2/man/del/tags/list')).json().tags, ['b']);
    assert.equal((await req('GET', `/v2/man/del/manifests/${digest}`)).status, 200);
    assert.equal((await req('DELETE', `/v2/man/del/manifests/${digest}`)).status, 202);
    assert.equal(errorCode(await req('GET', '/v2/man/del/manifests/b')), 'MANIFEST_UNKNOWN');
    assert.deepEqual((await req('GET', '/v2/man/del/tags/list')).json().tags, []);
    assert.equal(errorCode(await req('DELETE', `/v2/man/del/manifests/${digest}`)), 'MANIFEST_UNKNOWN');
  });

  test('referrers: subject gives OCI-Subject, listed with artifactType filtering', async () => {
    const subject = await pushImage('ref/repo', 'v1');
    const empty = Buffer.from('{}');
    await pushBlob('ref/repo', empty);
    const mk = (artifactType: string, note: string) => Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(empty), size: 2 },
      layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.bytes.length },
      annotations: { note },
    }));
    const sig = mk('application/vnd.example.signature', 'sig');
    const sbom = mk('application/vnd.example.sbom', 'sbom');
    for (const m of [sig, sbom]) {
      const r = await req('PUT', `/v2/ref/repo/manifests/${sha(m)}`, { body: m, headers: { 'Content-Type': OCI_MANIFEST } });
      assert.equal(r.status, 201);
      assert.equal(r.headers.get('oci-subject'), subject.digest);
    }
    const all = await req('GET', `/v2/ref/repo/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), OCI_INDEX);
    const list = all.json().manifests as { digest: string; artifactType: string; annotations: Record<string, string>; size: number }[];
    assert.deepEqual(list.map((m) => m.digest).sort(), [sha(sig), sha(sbom)].sort());
    assert.equal(list.find((m) => m.digest === sha(sig))!.annotations.note, 'sig');
    const filtered = await req('GET', `/v2/ref/repo/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(filtered.json().manifests.map((m: { digest: string }) => m.digest), [sha(sbom)]);
    const none = await req('GET', `/v2/ref/repo/referrers/${sha('nothing')}`);
    assert.deepEqual(none.json().manifests, []);
    await req('DELETE', `/v2/ref/repo/manifests/${sha(sig)}`);
    assert.deepEqual((await req('GET', `/v2/ref/repo/referrers/${subject.digest}`)).json().manifests.map((m: { digest: string }) => m.digest), [sha(sbom)]);
  });
});

describe('listing', () => {
  test('tags/list paginates with n, last and a Link header', async () => {
    const { bytes } = await pushImage('list/tags', 't0');
    const tags = ['t0', 't1', 't2', 't3', 't4'];
    for (const t of tags.slice(1)) await req('PUT', `/v2/list/tags/manifests/${t}`, { body: bytes, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.deepEqual((await req('GET', '/v2/list/tags/tags/list')).json(), { name: 'list/tags', tags });
    const p1 = await req('GET', '/v2/list/tags/tags/list?n=2');
    assert.deepEqual(p1.json().tags, ['t0', 't1']);
    assert.equal(p1.headers.get('link'), '</v2/list/tags/tags/list?n=2&last=t1>; rel="next"');
    const p2 = await req('GET', '/v2/list/tags/tags/list?n=2&last=t1');
    assert.deepEqual(p2.json().tags, ['t2', 't3']);
    const p3 = await req('GET', '/v2/list/tags/tags/list?n=2&last=t3');
    assert.deepEqual(p3.json().tags, ['t4']);
    assert.equal(p3.headers.get('link'), null);
    assert.deepEqual((await req('GET', '/v2/list/tags/tags/list?n=0')).json().tags, []);
  });

  test('_catalog paginates; search answers Docker search JSON', async () => {
    for (const n of ['cat/a', 'cat/b', 'cat/c']) await pushImage(n, 'latest');
    const all = (await req('GET', '/v2/_catalog')).json().repositories as string[];
    assert.ok(['cat/a', 'cat/b', 'cat/c'].every((n) => all.includes(n)));
    assert.deepEqual(all, [...all].sort());
    const p1 = await req('GET', '/v2/_catalog?n=1&last=cat/a');
    assert.deepEqual(p1.json().repositories, ['cat/b']);
    assert.equal(p1.headers.get('link'), '</v2/_catalog?n=1&last=cat%2Fb>; rel="next"');
    const s = await req('GET', '/v1/search?q=cat/&n=2');
    const body = s.json();
    assert.equal(body.query, 'cat/');
    assert.equal(body.num_results, 3);
    assert.equal(body.results.length, 2);
    assert.deepEqual(body.results[0], { name: 'cat/a', description: '', star_count: 0, is_official: false, is_automated: false });
  });
});

test('a restarted server keeps its repositories, blobs and upload sessions', async () => {
  const { digest, layer } = await pushImage('keep/me', 'v1');
  const s = await req('POST', '/v2/keep/me/blobs/uploads/');
  const loc = s.headers.get('location')!;
  const data = randomBytes(10_000);
  await req('PATCH', loc, { body: data.subarray(0, 4000) });
  await reg.restart();
  assert.equal((await req('GET', `/v2/keep/me/manifests/${digest}`)).status, 200);
  assert.ok((await req('GET', `/v2/keep/me/blobs/${sha(layer)}`)).body.equals(layer));
  assert.deepEqual((await req('GET', '/v2/keep/me/tags/list')).json().tags, ['v1']);
  assert.equal((await req('GET', loc)).headers.get('range'), '0-3999');
  await req('PATCH', loc, { body: data.subarray(4000), headers: { 'Content-Range': `4000-${data.length - 1}` } });
  assert.equal((await req('PUT', `${loc}?digest=${sha(data)}`)).status, 201);
});
