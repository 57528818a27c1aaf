// Pull unpacks every layer at once (each on a worker thread, into a snapshot of its own) and
// commits them in order. These tests hold the guarantees on that path: a bottom layer failing its
// digest while the layers above it have already unpacked leaves nothing committed and the rerun
// stacks the layers in order (whiteouts included); kill -9 of berthd with layers unpacked but not
// committed leaves no snapshot after restart; a hostile layer is refused without a file written
// outside the layer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import Docker from 'dockerode';
import { TarWriter, type TarHeader } from '../../src/lib/tar/index.js';
import { busyboxTar } from '../helpers/busybox.js';
import { serveImage, sha } from '../helpers/fake-registry.js';
import { berthBin, startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;
let docker: Docker;

before(async () => {
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
});
after(async () => {
  await daemon?.stop();
});


type Entry = Partial<TarHeader> & { name: string; body?: Buffer };
async function tarOf(entries: Entry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = new TarWriter({ write: (c) => void chunks.push(c) });
  for (const e of entries) {
    const type = e.type ?? (e.body ? 'file' : 'dir');
    await w.add({ mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 946684800, linkname: '', devmajor: 0, devminor: 0, ...e, type, size: e.body?.length ?? 0 }, e.body);
  }
  await w.finish();
  return Buffer.concat(chunks);
}

/** The image every test here pulls: its layers, and a shell to run in it. */
const imageRegistry = (tars: Buffer[], send: Parameters<typeof serveImage>[1]) => serveImage(tars, send, { config: { Cmd: ['sh'] } });

async function pull(ref: string): Promise<Array<Record<string, unknown>>> {
  const s = (await docker.pull(ref)) as NodeJS.ReadableStream;
  let text = '';
  for await (const c of s) text += c;
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Snapshot names the daemon records, and snapshot directories on disk. */
function snapshots(): { names: string[]; dirs: string[] } {
  const root = `${daemon.dataRoot}/snapshots`;
  const meta = existsSync(`${root}/metadata.json`) ? JSON.parse(readFileSync(`${root}/metadata.json`, 'utf8')) : { snapshots: {} };
  return { names: Object.keys(meta.snapshots), dirs: existsSync(`${root}/snapshots`) ? readdirSync(`${root}/snapshots`) : [] };
}
const ingests = () => (existsSync(`${daemon.dataRoot}/content/ingest`) ? readdirSync(`${daemon.dataRoot}/content/ingest`) : []);

test('a bottom layer failing its digest while the layers above unpack leaves nothing committed; the rerun stacks them in order', async () => {
  const tars = [
    busyboxTar(),
    await tarOf([{ name: 'data/' }, { name: 'data/a', body: randomBytes(3 << 20) }, { name: 'data/gone', body: Buffer.from('old') }]),
    await tarOf([{ name: 'data/' }, { name: 'data/b', body: randomBytes(3 << 20) }, { name: 'data/gone', body: Buffer.from('newer') }]),
    await tarOf([{ name: 'data/' }, { name: 'data/.wh.gone', body: Buffer.alloc(0), type: 'file' }, { name: 'data/c', body: Buffer.from('top') }]),
  ];
  let corrupt = true;
  let othersServed = 0;
  let othersDone!: () => void;
  const allOthers = new Promise<void>((r) => (othersDone = r));
  const served = await imageRegistry(tars, (res, i, good) => {
    res.writeHead(200, { 'Content-Length': String(good.length) });
    if (i > 0 || !corrupt) {
      res.end(good, () => ++othersServed === tars.length - 1 && othersDone());
      return;
    }
    // The bottom layer: a byte flipped, and its end held back until the layers above are sent
    // (and have had time to unpack), so the failure lands while they wait to be committed.
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 0xff;
    res.write(bad.subarray(0, bad.length >> 2));
    allOthers.then(() => setTimeout(() => res.end(bad.subarray(bad.length >> 2)), 1500));
  });
  try {
    const name = `${served.host}/parallel/image:1`;
    const msgs = await pull(name);
    assert.match(String(msgs.find((m) => m['error'])?.['error']), /digest/, JSON.stringify(msgs));
    assert.equal(othersServed, tars.length - 1, 'the layers above were downloaded alongside');
    await assert.rejects(docker.getImage(name).inspect());
    assert.deepEqual(snapshots(), { names: [], dirs: [] });
    assert.deepEqual(ingests(), []);

    corrupt = false;
    const again = await pull(name);
    assert.ok(!again.some((m) => m['error']), JSON.stringify(again));
    // Pull complete comes once per layer and in the manifest's order.
    const complete = again.filter((m) => m['status'] === 'Pull complete').map((m) => m['id']);
    assert.deepEqual(complete, served.digests.map((d) => d.slice(7, 19)));
    const out = execFileSync(berthBin, ['-H', daemon.host, 'run', '--rm', '--network', 'none', name, 'sh', '-c',
      'wc -c < /data/a; wc -c < /data/b; echo $(cat /data/c); test -e /data/gone && echo still there || echo whited out'], { encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n').map((l) => l.trim()), [String(3 << 20), String(3 << 20), 'top', 'whited out']);
    assert.equal(snapshots().names.filter((n) => n.startsWith('extract-')).length, 0);
  } finally {
    await served.close();
  }
});

test('kill -9 of berthd while layers wait, unpacked, for their parent leaves no snapshot; the rerun completes', async () => {
  const tars = [
    await tarOf([{ name: 'base/' }, { name: 'base/file', body: randomBytes(2 << 20) }]),
    await tarOf([{ name: 'one/' }, { name: 'one/file', body: randomBytes(2 << 20) }]),
    await tarOf([{ name: 'two/' }, { name: 'two/file', body: randomBytes(2 << 20) }]),
  ];
  let stall = true;
  let aboveServed = 0;
  let aboveDone!: () => void;
  const above = new Promise<void>((r) => (aboveDone = r));
  const served = await imageRegistry(tars, (res, i, good) => {
    res.writeHead(200, { 'Content-Length': String(good.length) });
    if (i > 0) return res.end(good, () => ++aboveServed === tars.length - 1 && aboveDone());
    if (!stall) return res.end(good);
    res.write(good.subarray(0, good.length >> 1)); // the bottom layer never finishes
  });
  try {
    const before = snapshots();
    const name = `${served.host}/killed/image:1`;
    const p = pull(name).catch(() => []);
    await above;
    await new Promise((r) => setTimeout(r, 1000)); // the layers above unpack meanwhile
    assert.ok(snapshots().names.some((n) => n.startsWith('extract-')), 'unpacks were in flight');
    await daemon.kill9();
    await p;
    await daemon.restart();
    docker = new Docker({ socketPath: daemon.socket });
    assert.deepEqual(snapshots(), before);
    assert.deepEqual(ingests(), []);
    stall = false;
    const msgs = await pull(name);
    assert.ok(!msgs.some((m) => m['error']), JSON.stringify(msgs));
    const layers = (await docker.getImage(name).inspect()).RootFS.Layers;
    assert.deepEqual(layers, tars.map(sha));
    assert.equal(snapshots().names.length, before.names.length + tars.length);
  } finally {
    await served.close();
  }
});

test('a hostile layer pulled alongside good ones is refused; nothing is written outside it or committed', async () => {
  const marker = `berth-escape-${randomBytes(4).toString('hex')}`;
  const tars = [
    await tarOf([{ name: 'ok/' }, { name: 'ok/file', body: randomBytes(1 << 20) }]),
    await tarOf([
      { name: 'up', type: 'symlink', linkname: '/tmp' },
      { name: `up/${marker}-via-link`, body: Buffer.from('x') },
      { name: `../../../../tmp/${marker}`, body: Buffer.from('x') },
    ]),
    await tarOf([{ name: 'more/' }, { name: 'more/file', body: randomBytes(1 << 20) }]),
  ];
  const served = await imageRegistry(tars, (res, _i, good) => res.end(good));
  try {
    const before = snapshots().names;
    const name = `${served.host}/hostile/image:1`;
    const msgs = await pull(name);
    assert.match(String(msgs.find((m) => m['error'])?.['error']), /refusing tar entry .*path escapes the root/, JSON.stringify(msgs));
    await assert.rejects(docker.getImage(name).inspect());
    assert.ok(!existsSync(`/tmp/${marker}`) && !existsSync(`/tmp/${marker}-via-link`));
    // The good bottom layer may be committed (its own chain is sound); nothing above it is, and no
    // half-made snapshot is left.
    const added = snapshots().names.filter((n) => !before.includes(n));
    assert.ok(added.every((n) => n === sha(tars[0]!)), added.join(' '));
    assert.deepEqual(ingests(), []);
  } finally {
    await served.close();
    rmSync(`/tmp/${marker}`, { force: true });
    rmSync(`/tmp/${marker}-via-link`, { force: true });
  }
});
