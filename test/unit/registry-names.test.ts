// The distribution spec's grammar for repository names, tags and digests, and the manifest reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDigest, isValidRepositoryName, isValidTag, parseReference } from '../../src/registry/server/names.js';
import { RegistryError } from '../../src/registry/server/errcodes.js';
import { acceptedTypes, parseManifest } from '../../src/registry/server/manifests.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RegistryError);
    return err.code;
  }
  return undefined;
};

test('repository names follow the spec grammar and refuse path tricks', () => {
  for (const ok of ['a', 'library/busybox', 'a.b/c-d/e__f', 'my-org/sub.team/img_1', 'x--y', '0']) assert.ok(isValidRepositoryName(ok), ok);
  for (const bad of ['', 'A', '..', 'a/..', '../a', 'a/../b', '/a', 'a/', 'a//b', '_a', 'a/_uploads', 'a.', '.a', 'a-', 'a%2f', 'a b', 'a:b', 'a\\b', 'a/./b']) {
    assert.equal(isValidRepositoryName(bad), false, bad);
  }
  assert.equal(isValidRepositoryName('a'.repeat(255)), true);
  assert.equal(isValidRepositoryName('a'.repeat(256)), false);
});

test('tags follow the spec grammar', () => {
  for (const ok of ['latest', 'v1.0', '_x', 'A-b_c.d', 'x'.repeat(128)]) assert.ok(isValidTag(ok), ok);
  for (const bad of ['', '.x', '-x', 'a/b', 'a:b', 'x'.repeat(129), '..']) assert.equal(isValidTag(bad), false, bad);
});

test('digests: malformed is DIGEST_INVALID, unknown algorithm UNSUPPORTED', () => {
  const good = `sha256:${'a'.repeat(64)}`;
  assert.equal(checkDigest(good), good);
  assert.equal(codeOf(() => checkDigest(`sha256:${'A'.repeat(64)}`)), 'DIGEST_INVALID');
  assert.equal(codeOf(() => checkDigest('sha256:abc')), 'DIGEST_INVALID');
  assert.equal(codeOf(() => checkDigest(undefined)), 'DIGEST_INVALID');
  assert.equal(codeOf(() => checkDigest(`md5:${'a'.repeat(32)}`)), 'UNSUPPORTED');
  assert.deepEqual(parseReference('v1'), { tag: 'v1' });
  assert.deepEqual(parseReference(good), { digest: good });
  assert.equal(codeOf(() => parseReference('-bad')), 'MANIFEST_INVALID');
});

test('parseManifest lists required blobs, skips foreign layers, reads subject and artifact type', () => {
  const d = (c: string) => `sha256:${c.repeat(64)}`;
  const m = parseManifest(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('1'), size: 1 },
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('2'), size: 1 },
      { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('3'), size: 1, urls: ['https://example.invalid/x'] },
    ],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('4'), size: 1 },
  })), 'application/vnd.docker.distribution.manifest.v2+json');
  assert.deepEqual(m.blobs, [d('1'), d('2')]);
  assert.equal(m.subject?.digest, d('4'));
  assert.equal(m.artifactType, 'application/vnd.docker.container.image.v1+json');
  // Without a mediaType field the Content-Type decides; without both, the shape does.
  const idx = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), undefined);
  assert.equal(idx.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(codeOf(() => parseManifest(Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}'), undefined)), 'MANIFEST_INVALID');
  assert.equal(codeOf(() => parseManifest(Buffer.from('{"schemaVersion":2,"mediaType":"text/plain"}'), undefined)), 'MANIFEST_INVALID');
  assert.deepEqual(acceptedTypes(['a/b; q=0.5, c/d', 'e/f']), ['a/b', 'c/d', 'e/f']);
});
