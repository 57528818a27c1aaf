// Pull of what registries hold besides schema2: an OCI index with two platforms (gzip and zstd
// layers) pushed by skopeo from a hand-built OCI layout, chosen by host arch or `platform`; and a
// registry (a tiny node server) whose layer does not match its digest: refused, nothing stored;
// a pull cut by kill -9 of berthd leaves nothing behind and a rerun completes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import { busyboxTar } from '../helpers/busybox.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startRegistry, type TestRegistry } from '../helpers/distribution.js';
import { hostArch, serveImage, sha } from '../helpers/fake-registry.js';

let daemon: TestDaemon;
let registry: TestRegistry;
let docker: Docker;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-regfmt-'));

before(async () => {
  registry = await startRegistry();
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
});
after(async () => {
  await daemon?.stop();
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const otherArch = hostArch === 'amd64' ? 'arm64' : 'amd64';

async function pull(ref: string, platform?: string): Promise<Array<Record<string, unknown>>> {
  const s = (await docker.pull(ref, platform ? { platform } : {})) as NodeJS.ReadableStream;
  let text = '';
  for await (const c of s) text += c;
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function ociLayout(dir: string): { hostConfig: string; otherConfig: string } {
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer | string) => {
    const d = sha(b);
    writeFileSync(path.join(dir, 'blobs/sha256', d.slice(7)), b);
    return { digest: d, size: Buffer.byteLength(b) };
  };
  const tar = busyboxTar();
  const diffID = sha(tar);
  const gz = put(gzipSync(tar));
  const zst = put(execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 64 << 20 }));
  const manifestFor = (arch: string, layer: { digest: string; size: number }, mt: string) => {
    const config = put(JSON.stringify({ architecture: arch, os: 'linux', config: { Cmd: ['sh'], Env: [`ARCH=${arch}`] }, rootfs: { type: 'layers', diff_ids: [diffID] } }));
    const m = put(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: mt, ...layer }] }));
    return { m, config };
  };
  const host = manifestFor(hostArch, gz, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const other = manifestFor(otherArch, zst, 'application/vnd.oci.image.layer.v1.tar+zstd');
  const index = put(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...other.m, platform: { os: 'linux', architecture: otherArch } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...host.m, platform: { os: 'linux', architecture: hostArch } },
    ],
  }));
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  return { hostConfig: host.config.digest, otherConfig: other.config.digest };
}

test('OCI index: host platform by default, another with platform=, zstd layer', async () => {
  const dir = path.join(tmp, 'layout');
  const { hostConfig, otherConfig } = ociLayout(dir);
  execFileSync('skopeo', ['copy', '--all', '--quiet', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${registry.host}/test/multi:v1`]);
  const name = `${registry.host}/test/multi:v1`;
  const msgs = await pull(name);
  assert.ok(!msgs.some((m) => m['error']), JSON.stringify(msgs));
  assert.equal((await docker.getImage(name).inspect()).Id, hostConfig);

  const other = await pull(name, `linux/${otherArch}`);
  assert.ok(!other.some((m) => m['error']), JSON.stringify(other));
  const img = await docker.getImage(name).inspect();
  assert.equal(img.Id, otherConfig);
  assert.equal(img.Architecture, otherArch);
  // Same diff ID under both: the zstd layer's content was verified against it and reused.
  assert.ok(other.some((m) => m['status'] === 'Already exists'), JSON.stringify(other));

  const bad = await pull(name, 'linux/s390x').then((m) => m.find((x) => x['error']), (e: Error) => ({ error: e.message }));
  assert.match(String(bad?.['error']), /no matching manifest for linux\/s390x/);
});

/** A registry that serves one image; `layer` decides the bytes sent for the layer blob. */
async function fakeRegistry(layer: (res: http.ServerResponse, good: Buffer) => void): Promise<{ host: string; layerDigest: string; close(): Promise<void> }> {
  // A layer no other test has: a random file big enough for the download to be cut in the middle.
  const src = mkdtempSync(path.join(tmp, 'layer-'));
  writeFileSync(path.join(src, 'random.bin'), randomBytes(4 << 20));
  const tar = execFileSync('tar', ['-C', src, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
  const served = await serveImage([tar], (res, _i, good) => layer(res, good));
  return { host: served.host, layerDigest: served.digests[0]!, close: served.close };
}

function blobsIn(root: string): string[] {
  const dir = path.join(root, 'content/blobs/sha256');
  return existsSync(dir) ? readdirSync(dir) : [];
}
function ingestsIn(root: string): string[] {
  const dir = path.join(root, 'content/ingest');
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('a layer that does not match its digest is refused and nothing is stored', async () => {
  const fake = await fakeRegistry((res, good) => {
    // Same length, one byte flipped in the middle.
    const bad = Buffer.from(good);
    bad[bad.length >> 1] ^= 0xff;
    res.writeHead(200, { 'Content-Length': String(good.length) });
    res.end(bad);
  });
  try {
    const before = blobsIn(daemon.dataRoot);
    const msgs = await pull(`${fake.host}/evil/image:latest`);
    const err = msgs.find((m) => m['error']);
    assert.match(String(err?.['error']), /digest/);
    await assert.rejects(docker.getImage(`${fake.host}/evil/image:latest`).inspect());
    assert.ok(!blobsIn(daemon.dataRoot).includes(fake.layerDigest.slice(7)));
    assert.deepEqual(blobsIn(daemon.dataRoot).filter((b) => !before.includes(b)).length <= 1, true); // the config at most
    assert.deepEqual(ingestsIn(daemon.dataRoot), []);
  } finally {
    await fake.close();
  }
});

test('kill -9 of berthd mid-pull leaves no leftovers; the rerun completes', async () => {
  let stall = true;
  let started!: () => void;
  const midway = new Promise<void>((r) => (started = r));
  const fake = await fakeRegistry((res, good) => {
    res.writeHead(200, { 'Content-Length': String(good.length) });
    if (stall) {
      res.write(good.subarray(0, good.length >> 1));
      started();
      return; // never finishes
    }
    res.end(good);
  });
  try {
    const name = `${fake.host}/slow/image:latest`;
    const p = pull(name).catch(() => []);
    await midway;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(ingestsIn(daemon.dataRoot).length > 0, 'the download was in progress');
    await daemon.kill9();
    await p;
    await daemon.restart();
    docker = new Docker({ socketPath: daemon.socket });
    assert.deepEqual(ingestsIn(daemon.dataRoot), []);
    assert.ok(!blobsIn(daemon.dataRoot).includes(fake.layerDigest.slice(7)));
    const snaps = readdirSync(path.join(daemon.dataRoot, 'snapshots')).join(' ');
    assert.doesNotMatch(snaps, /extract-/);
    stall = false;
    const msgs = await pull(name);
    assert.ok(!msgs.some((m) => m['error']), JSON.stringify(msgs));
    assert.ok((await docker.getImage(name).inspect()).Id.startsWith('sha256:'));
  } finally {
    await fake.close();
  }
});
