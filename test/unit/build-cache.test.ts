import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildCache, cacheKey } from '../../src/builder/cache.js';
import { globToRegExp, hasWildcards } from '../../src/builder/glob.js';
import type { Digest } from '../../src/lib/digest.js';

const img = (n: number) => `sha256:${String(n).padStart(64, '0')}` as Digest;

test('cache keys change with parent, instruction, files and args, and not with file order', () => {
  const base = { parent: 'p', instruction: 'COPY a /a', files: { a: '1', b: '2' } };
  assert.equal(cacheKey(base), cacheKey({ ...base, files: { b: '2', a: '1' } }));
  assert.notEqual(cacheKey(base), cacheKey({ ...base, parent: 'q' }));
  assert.notEqual(cacheKey(base), cacheKey({ ...base, instruction: 'COPY a /b' }));
  assert.notEqual(cacheKey(base), cacheKey({ ...base, files: { a: '1', b: '3' } }));
  assert.notEqual(cacheKey(base), cacheKey({ ...base, args: { X: '1' } }));
});

test('the cache persists, ignores entries whose image is gone, and explains misses', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cache-unit-'));
  try {
    const live = new Set<Digest>([img(1), img(2)]);
    const c = new BuildCache(dir, (id) => live.has(id));
    const probe = { parent: 'p', instruction: '/bin/sh -c #(nop)  COPY app /app', files: { 'app/x': 'h1', 'app/y': 'h2' } };
    c.store(probe, img(1));
    const reopened = new BuildCache(dir, (id) => live.has(id));
    assert.equal(reopened.lookup(probe), img(1));
    assert.equal(reopened.explain({ ...probe, files: { 'app/x': 'h9', 'app/z': 'h3' } }), 'file app/x changed, file app/z added, file app/y removed');
    assert.equal(reopened.explain({ parent: 'p', instruction: '/bin/sh -c #(nop)  ENV A=1' }), 'instruction changed (was: COPY app /app)');
    assert.equal(reopened.explain({ parent: 'other', instruction: 'x' }), undefined);
    assert.equal(reopened.explain({ ...probe, parent: 'new-base' }), 'parent image changed');
    reopened.store({ parent: 'p', instruction: '|1 V=1 /bin/sh -c make', args: { V: '1' } }, img(2));
    assert.equal(reopened.explain({ parent: 'p', instruction: '|1 V=2 /bin/sh -c make', args: { V: '2' } }), 'build arg V changed');
    live.delete(img(1));
    assert.equal(reopened.lookup(probe), undefined);
    assert.deepEqual(reopened.clear().length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wildcards follow Go filepath.Match: * and ? stay within a path segment', () => {
  assert.ok(hasWildcards('*.txt') && !hasWildcards('a.txt'));
  assert.ok(globToRegExp('*.txt').test('a.txt'));
  assert.ok(!globToRegExp('*.txt').test('dir/a.txt'));
  assert.ok(globToRegExp('dir/?.txt').test('dir/a.txt'));
  assert.ok(globToRegExp('[a-c]x').test('bx') && !globToRegExp('[^a-c]x').test('bx'));
  assert.ok(globToRegExp('a\\*').test('a*') && !globToRegExp('a\\*').test('ab'));
});
