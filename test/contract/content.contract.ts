// The content store contract, run against every implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContentStore } from '../../src/content/index.js';
import { sha256 } from '../../src/lib/digest.js';

async function put(store: ContentStore, ref: string, data: Buffer): Promise<string> {
  const w = await store.writer(ref);
  await w.write(data);
  return w.commit({ size: data.length, digest: sha256(data) });
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function contentStoreContract(name: string, make: () => { store: ContentStore; cleanup(): void }): void {
  test(`${name}: a committed blob is readable by digest, whole and by range`, async () => {
    const { store, cleanup } = make();
    try {
      const data = Buffer.from('hello, layered world');
      const d = await put(store, 'r1', data);
      assert.equal(d, sha256(data));
      assert.deepEqual(await store.readAll(sha256(data)), data);
      assert.deepEqual(await collect(await store.read(sha256(data), { start: 7, end: 13 })), data.subarray(7, 14));
      assert.equal((await store.info(sha256(data))).size, data.length);
      assert.equal(await store.has(sha256(data)), true);
    } finally {
      cleanup();
    }
  });

  test(`${name}: a digest or size mismatch is refused and nothing becomes visible`, async () => {
    const { store, cleanup } = make();
    try {
      const w = await store.writer('bad');
      await w.write(Buffer.from('actual bytes'));
      await assert.rejects(w.commit({ digest: sha256('other bytes') }), /unexpected commit digest/);
      assert.equal(await store.has(sha256('actual bytes')), false);
      assert.deepEqual(await store.ingests(), []);
      const w2 = await store.writer('bad-size');
      await w2.write(Buffer.from('abc'));
      await assert.rejects(w2.commit({ size: 4 }), /unexpected commit size/);
      assert.equal(await store.has(sha256('abc')), false);
    } finally {
      cleanup();
    }
  });

  test(`${name}: nothing is visible before commit; a ref has one writer at a time; ingests resume`, async () => {
    const { store, cleanup } = make();
    try {
      const w = await store.writer('resume');
      await w.write(Buffer.from('first half,'));
      assert.equal(await store.has(sha256('first half,')), false);
      await assert.rejects(store.writer('resume'), /locked/);
      assert.equal((await store.ingests())[0]?.offset, 11);
      // Simulate a client that went away: drop the writer without commit or abort.
      (w as unknown as { release(): void }).release?.();
      const again = await store.writer('resume');
      assert.equal(again.offset, 11);
      await again.write(Buffer.from(' second half'));
      assert.equal(await again.commit({ digest: sha256('first half, second half') }), sha256('first half, second half'));
    } finally {
      cleanup();
    }
  });

  test(`${name}: concurrent writers of one blob both succeed`, async () => {
    const { store, cleanup } = make();
    try {
      const data = Buffer.alloc(1 << 20, 7);
      const results = await Promise.all([put(store, 'a', data), put(store, 'b', data), put(store, 'c', data)]);
      assert.deepEqual(new Set(results), new Set([sha256(data)]));
      assert.deepEqual(await store.readAll(sha256(data)), data);
    } finally {
      cleanup();
    }
  });

  test(`${name}: delete, walk, labels, and NotFound for missing blobs`, async () => {
    const { store, cleanup } = make();
    try {
      const d1 = await put(store, 'x', Buffer.from('one'));
      await put(store, 'y', Buffer.from('two'));
      await store.setLabels(sha256('one'), { 'berth.gc.ref': 'keep' });
      assert.equal((await store.info(sha256('one'))).labels['berth.gc.ref'], 'keep');
      const seen: string[] = [];
      await store.walk((i) => void seen.push(i.digest));
      assert.deepEqual(seen.sort(), [sha256('one'), sha256('two')].sort());
      await store.delete(sha256('one'));
      await assert.rejects(store.info(sha256('one')), { name: 'NotFound' });
      await assert.rejects(store.read(d1 as never), { name: 'NotFound' });
      await assert.rejects(store.delete(sha256('one')), { name: 'NotFound' });
    } finally {
      cleanup();
    }
  });
}
