import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, normalize, parseNamedReference, parseReference } from '../../src/images/reference.js';

const D = 'sha256:' + 'a'.repeat(64);

test('references normalise as Docker does', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app:v1', 'docker.io/user/app:v1'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b:t', '127.0.0.1:5000/a/b:t'],
    ['registry.example.com/team/app', 'registry.example.com/team/app:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    ['a_b.c-d__e/f', 'docker.io/a_b.c-d__e/f:latest'],
  ];
  for (const [input, want] of cases) assert.equal(normalize(input), want, input);
});

test('familiar names drop docker.io and library', () => {
  assert.equal(familiarString(parseReference('docker.io/library/busybox:latest')), 'busybox:latest');
  assert.equal(familiarString(parseReference('docker.io/user/app:v1')), 'user/app:v1');
  assert.equal(familiarString(parseReference('localhost:5000/library/x:1')), 'localhost:5000/library/x:1');
});

test('invalid references get Docker\'s messages', () => {
  assert.throws(() => parseReference('Busybox'), /invalid reference format: repository name \(library\/Busybox\) must be lowercase/);
  for (const bad of ['', ':tag', 'a//b', 'a/', '-a', 'a:b:c', 'busybox@sha256:abc', 'a:' + 't'.repeat(129), 'a b']) {
    assert.throws(() => parseReference(bad), /invalid reference format/, bad);
  }
  assert.throws(() => parseNamedReference('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
});
