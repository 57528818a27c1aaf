// Bad input and crashes: hostile and mismatched layers are refused without touching the store,
// a kill -9 in the middle of an import leaves a consistent store, and a 150-layer image mounts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { TarWriter, type TarHeader } from '../../src/lib/tar/index.js';
import { sha256 } from '../../src/lib/digest.js';
import { LocalContentStore } from '../../src/content/index.js';
import { OverlaySnapshotter } from '../../src/snapshots/index.js';
import { ImageService, loadImages } from '../../src/images/index.js';
import { mountAll, unmount } from '../../src/lib/sys/index.js';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, startDaemon, type TestDaemon } from '../helpers/daemon.js';

async function tarOf(entries: Array<Partial<TarHeader> & { name: string; body?: string }>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = new TarWriter({ write: (c) => void chunks.push(c) });
  for (const e of entries) {
    const body = e.body !== undefined ? Buffer.from(e.body) : undefined;
    await w.add({ type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, linkname: '', devmajor: 0, devminor: 0, ...e, size: body?.length ?? 0 }, body);
  }
  await w.finish();
  return Buffer.concat(chunks);
}

/** A docker-save style archive of one image with the given layer tars. */
async function archiveOf(layers: Buffer[], tag: string, diffIDs = layers.map((l) => sha256(l))): Promise<Buffer> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2020-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: diffIDs } }));
  const entries: Array<Partial<TarHeader> & { name: string; body?: string }> = [];
  layers.forEach((l, i) => entries.push({ name: `layer${i}.tar`, body: l.toString('latin1') }));
  entries.push({ name: 'config.json', body: config.toString('latin1') });
  entries.push({ name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: layers.map((_, i) => `layer${i}.tar`) }]) });
  // Bodies above went through latin1 to keep bytes; re-encode them as such.
  const chunks: Buffer[] = [];
  const w = new TarWriter({ write: (c) => void chunks.push(c) });
  for (const e of entries) {
    const body = Buffer.from(e.body!, 'latin1');
    await w.add({ name: e.name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, linkname: '', devmajor: 0, devminor: 0, size: body.length }, body);
  }
  await w.finish();
  return Buffer.concat(chunks);
}

function service(root: string): ImageService {
  return new ImageService({ root: path.join(root, 'images'), content: new LocalContentStore(path.join(root, 'content')), snapshotter: new OverlaySnapshotter(path.join(root, 'snapshots')) });
}

let top: string;
before(() => {
  top = mkdtempSync(path.join(os.tmpdir(), 'berth-robust-'));
});
after(() => rmSync(top, { recursive: true, force: true }));

test('a hostile layer in a loaded archive is refused and the store is unchanged', async () => {
  const root = path.join(top, 'hostile');
  const images = service(root);
  const canary = path.join(top, 'canary');
  mkdirSync(canary);
  const evil = await tarOf([{ name: 'ok', body: 'fine' }, { name: '../../../../canary/owned', body: 'x' }]);
  await assert.rejects(loadImages(images, Readable.from([await archiveOf([evil], 'evil:1')]), path.join(root, 'tmp')), /path escapes the root/);
  assert.deepEqual(readdirSync(canary), []);
  assert.deepEqual(images.list({ all: true }), []);
  assert.equal(images.records.layers.size, 0);
  let snapshots = 0;
  await images.snapshotter.walk(() => void snapshots++);
  assert.equal(snapshots, 0);
});

test('a layer whose content does not match its diff ID is refused', async () => {
  const root = path.join(top, 'mismatch');
  const images = service(root);
  const layer = await tarOf([{ name: 'a', body: 'a' }]);
  const archive = await archiveOf([layer], 'bad:1', [sha256('something else')]);
  await assert.rejects(loadImages(images, Readable.from([archive]), path.join(root, 'tmp')), /does not match its diff ID/);
  assert.deepEqual(images.list({ all: true }), []);
  const blobs: string[] = [];
  await images.content.walk((b) => void blobs.push(b.digest));
  assert.deepEqual(blobs, []);
});

test('an image of 150 layers loads, and its rootfs mounts with the bottom and top layers visible', async () => {
  const root = path.join(top, 'deep');
  const images = service(root);
  const layers: Buffer[] = [];
  for (let i = 0; i < 150; i++) layers.push(await tarOf([{ name: `l${i}`, body: `layer ${i}` }]));
  const lines = await loadImages(images, Readable.from([await archiveOf(layers, 'deep:150')]), path.join(root, 'tmp'));
  assert.deepEqual(lines, ['Loaded image: deep:150']);
  const id = images.resolve('deep:150').id;
  await images.snapshotter.view('deep-view', images.topChainID(id));
  const target = path.join(top, 'deep-mnt');
  mkdirSync(target);
  mountAll(await images.snapshotter.mounts('deep-view'), target);
  try {
    assert.equal(readFileSync(path.join(target, 'l0'), 'utf8'), 'layer 0');
    assert.equal(readFileSync(path.join(target, 'l149'), 'utf8'), 'layer 149');
  } finally {
    unmount(target);
    await images.snapshotter.remove('deep-view');
  }
});

test('import from a URL (served on loopback)', async () => {
  const d = await startDaemon();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    res.end(busyboxTar());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const out = await new Promise<string>((resolve) => {
      const p = spawn(berthBin, ['-H', d.host, 'import', `http://127.0.0.1:${port}/rootfs.tar`, 'from-url:1']);
      let s = '';
      p.stdout.on('data', (x) => (s += x));
      p.on('close', () => resolve(s));
    });
    assert.match(out, /^sha256:[a-f0-9]{64}\n$/);
    const img = await new Docker({ socketPath: d.socket }).getImage('from-url:1').inspect();
    assert.match(String(img.Comment ?? ''), /Imported from http:\/\/127\.0\.0\.1/);
  } finally {
    server.close();
    await d.stop();
  }
});

test('kill -9 of berthd in the middle of an import leaves a consistent store; the import then succeeds', async () => {
  const d = await startDaemon();
  try {
    // Feed the import slowly so the daemon is killed while unpacking.
    const req = http.request({ socketPath: d.socket, method: 'POST', path: '/images/create?fromSrc=-&repo=crash&tag=1', headers: { 'Transfer-Encoding': 'chunked' } });
    req.on('error', () => {});
    const tar = busyboxTar();
    req.write(tar.subarray(0, tar.length >> 1));
    await new Promise((r) => setTimeout(r, 300));
    await d.kill9();
    req.destroy();
    const ingest = path.join(d.dataRoot, 'content', 'ingest');
    assert.equal(readdirSync(ingest).length, 1, 'the import was in flight when berthd died');
    const snapshotDirs = path.join(d.dataRoot, 'snapshots', 'snapshots');
    assert.equal(readdirSync(snapshotDirs).length, 1, 'a half-unpacked layer was on disk');
    await d.restart();
    assert.deepEqual(readdirSync(snapshotDirs), []);
    const docker = new Docker({ socketPath: d.socket });
    assert.deepEqual(await docker.listImages({ all: true }), []);
    assert.deepEqual(readdirSync(ingest), []);
    assert.deepEqual(readdirSync(path.join(d.dataRoot, 'content', 'blobs', 'sha256')), []);
    const stream = (await docker.importImage(Readable.from([tar]) as unknown as NodeJS.ReadableStream, { repo: 'crash', tag: '1' } as never)) as unknown as NodeJS.ReadableStream;
    for await (const _ of stream as AsyncIterable<Buffer>) void _;
    const list = await docker.listImages();
    assert.deepEqual(list.map((i) => i.RepoTags), [['crash:1']]);
  } finally {
    await d.stop();
  }
});
