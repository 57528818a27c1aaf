import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveBytes } from '../../src/images/live-bytes.js';

async function readAll(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

test('bytes pushed before and after attach reach the reader in order', async () => {
  const live = new LiveBytes(100);
  await live.push(Buffer.from('ab'));
  const reader = live.attach()!;
  assert.equal(live.attach(), undefined, 'one reader only');
  const got = readAll(reader);
  await live.push(Buffer.from('cd'));
  live.end();
  assert.equal((await got).toString(), 'abcd');
});

test('more than cap bytes before anyone attaches: the stream is given up', async () => {
  const live = new LiveBytes(3);
  await live.push(Buffer.from('ab'));
  await live.push(Buffer.from('cd'));
  assert.equal(live.attach(), undefined);
});

test('an attached reader that is behind holds the writer back until it catches up or drops', async () => {
  const live = new LiveBytes(3);
  const reader = live.attach()![Symbol.asyncIterator]();
  let done = false;
  const pushing = live.push(Buffer.from('abcd')).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false);
  assert.equal((await reader.next()).value!.toString(), 'abcd');
  await pushing;
  const blocked = live.push(Buffer.from('efgh'));
  live.drop();
  await blocked; // released by drop
});

test('a failed download fails the reader after the bytes it did deliver', async () => {
  const live = new LiveBytes(100);
  const reader = live.attach()![Symbol.asyncIterator]();
  await live.push(Buffer.from('x'));
  live.end(new Error('digest mismatch'));
  assert.equal((await reader.next()).value!.toString(), 'x');
  await assert.rejects(reader.next(), /digest mismatch/);
});
