// The image service on real stores (root, overlay): import, tag, rmi semantics, save -> load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalContentStore } from '../../src/content/index.js';
import { OverlaySnapshotter } from '../../src/snapshots/index.js';
import { ImageService, loadImages, saveImages, selectForSave } from '../../src/images/index.js';
import { busyboxTar } from '../helpers/busybox.js';
import { sha256 } from '../../src/lib/digest.js';

function makeService(root: string): ImageService {
  return new ImageService({ root: path.join(root, 'images'), content: new LocalContentStore(path.join(root, 'content')), snapshotter: new OverlaySnapshotter(path.join(root, 'snapshots')) });
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('import, tag, list and Docker rmi semantics', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'berth-images-'));
  try {
    const images = makeService(root);
    const id = await images.importImage(Readable.from([busyboxTar()]), { repo: 'busybox', changes: ['CMD ["sh"]'] });
    const [summary] = images.list();
    assert.equal(summary!.Id, id);
    assert.deepEqual(summary!.RepoTags, ['busybox:latest']);
    assert.ok(summary!.Size > 1_000_000);
    const inspect = await images.inspect('busybox');
    assert.deepEqual(inspect.Config?.Cmd, ['sh']);
    assert.deepEqual(inspect.RootFS.Layers, [sha256(busyboxTar())]);
    // The image ID is the digest of the stored config, and the layer blob is the tar as given.
    assert.equal(sha256(await images.content.readAll(id)), id);
    assert.deepEqual(await images.content.readAll(sha256(busyboxTar())), busyboxTar());
    images.tag('busybox', 'other/repo:v1');
    await assert.rejects(images.remove(id), /must be forced\) - image is referenced in multiple repositories/);
    assert.deepEqual(await images.remove('other/repo:v1'), [{ Untagged: 'other/repo:v1' }]);
    // Re-importing the same rootfs under the same name makes a new image; the old one dangles.
    const id2 = await images.importImage(Readable.from([busyboxTar()]), { repo: 'busybox' });
    assert.notEqual(id2, id);
    assert.deepEqual(images.list({ filters: { dangling: ['true'] } }).map((i) => i.Id), [id]);
    const removed = await images.remove(id.slice(7, 19));
    assert.deepEqual(removed, [{ Deleted: id }]); // the layer is shared with id2, so it stays
    const last = await images.remove('busybox:latest');
    assert.deepEqual(last.map((i) => Object.keys(i)[0]), ['Untagged', 'Deleted', 'Deleted']);
    assert.deepEqual(images.list(), []);
    await assert.rejects(images.inspect('busybox'), /No such image: busybox/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('save -> load into a fresh store keeps the ID, tags and history', async () => {
  const a = mkdtempSync(path.join(os.tmpdir(), 'berth-images-'));
  const b = mkdtempSync(path.join(os.tmpdir(), 'berth-images-'));
  try {
    const src = makeService(a);
    const id = await src.importImage(Readable.from([busyboxTar()]), { repo: 'busybox', tag: '1.0', message: 'from busybox-static' });
    src.tag('busybox:1.0', 'busybox:latest');
    const archive = await collect(saveImages(src, selectForSave(src, ['busybox'])));
    const dst = makeService(b);
    const lines = await loadImages(dst, Readable.from([archive]), path.join(b, 'tmp'));
    assert.deepEqual(lines, ['Loaded image: busybox:1.0', 'Loaded image: busybox:latest']);
    assert.equal(dst.resolve('busybox:1.0').id, id);
    assert.deepEqual((await dst.history('busybox')).map((h) => h.Comment), ['from busybox-static']);
    // Loading again changes nothing and reuses the layer.
    assert.deepEqual(await loadImages(dst, Readable.from([archive]), path.join(b, 'tmp')), lines);
    assert.equal(dst.list().length, 1);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});
