import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Digester, isDigest, parseDigest, sha256, shortId } from '../../src/lib/digest.js';

test('sha256 of empty input is the well-known digest', () => {
  assert.equal(sha256(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('Digester matches one-shot hashing and counts bytes', () => {
  const d = new Digester();
  d.update(Buffer.from('hello '));
  d.update(Buffer.from('world'));
  assert.equal(d.digest(), sha256('hello world'));
  assert.equal(d.size, 11);
});

test('digest validation refuses malformed and upper-case digests', () => {
  assert.equal(isDigest('sha256:' + 'a'.repeat(64)), true);
  assert.equal(isDigest('sha256:' + 'A'.repeat(64)), false);
  assert.equal(isDigest('sha256:abc'), false);
  assert.throws(() => parseDigest('md5:00'), /invalid digest/);
  assert.equal(shortId('sha256:0123456789abcdef' + '0'.repeat(48)), '0123456789ab');
});
