// Registry server bench: `berth registry serve` beside distribution's registry
// (/usr/bin/docker-registry), the same blob and manifest pushed to each; then blob downloads by
// parallel curl clients, and 200 concurrent manifest GETs by one `curl --parallel`. curl, not a Node
// client: a Node client tops out below either server and would measure itself.
// Alone: node --import tsx bench/registry-server.ts [sizeMiB=256] [clients=4] [rounds=3]
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry as startDistribution } from '../test/helpers/distribution.js';
import { startRegistry as startBerthRegistry } from '../test/helpers/registry.js';
import type { Result } from './scenarios.js';

const MANIFEST_GETS = 200;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile('curl', args, { maxBuffer: 1 << 24 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

async function upload(host: string, name: string, digest: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const start = await fetch(`http://${host}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location')!, `http://${host}`);
  loc.searchParams.set('digest', digest);
  const done = await fetch(loc, { method: 'PUT', body, headers: { 'Content-Type': 'application/octet-stream' } });
  if (done.status !== 201) throw new Error(`${host}: upload failed with ${done.status}`);
}

/** MiB/s over all bytes, `clients` curl processes downloading the blob at once. */
async function download(host: string, url: string, size: number, clients: number): Promise<number> {
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, async () => {
    const got = await curl(['-s', '-o', '/dev/null', '-w', '%{size_download}', url]);
    if (Number(got) !== size) throw new Error(`${host}: short read ${got}`);
  }));
  return (size * clients) / (1 << 20) / (Number(process.hrtime.bigint() - t) / 1e9);
}

/** Milliseconds for MANIFEST_GETS GETs, all in flight at once on separate connections. */
async function manifestGets(url: string, dir: string): Promise<number> {
  const cfg = path.join(dir, 'gets.curl');
  writeFileSync(cfg, Array.from({ length: MANIFEST_GETS }, () => `url = "${url}"\noutput = "/dev/null"\nheader = "Accept: application/vnd.docker.distribution.manifest.v2+json"\n`).join(''));
  const t = process.hrtime.bigint();
  const codes = await curl(['-s', '--parallel', '--parallel-immediate', '--parallel-max', String(MANIFEST_GETS), '-w', '%{http_code}\\n', '-K', cfg]);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const ok = codes.trim().split('\n').filter((c) => c === '200').length;
  if (ok !== MANIFEST_GETS) throw new Error(`${url}: ${ok}/${MANIFEST_GETS} manifest GETs answered 200`);
  return ms;
}

export async function scenarioRegistryServer(sizeMiB = 256, clients = 4, rounds = 3): Promise<Result[]> {
  const top = mkdtempSync(path.join(os.tmpdir(), 'berth-regbench-'));
  const blob = randomBytes(sizeMiB << 20);
  const digest = sha256(blob);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digest] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', size: blob.length, digest }],
  }));
  const berth = await startBerthRegistry({ root: path.join(top, 'berth') });
  const dist = await startDistribution().catch(async (err) => {
    await berth.stop();
    throw err;
  });
  // The "docker" column is distribution's registry: the reference a registry server is held to.
  const servers: [string, string][] = [['berth', berth.host], ['docker', dist.host]];
  const blobRate: Record<string, number> = {};
  const oneClient: Record<string, number> = {};
  const gets: Record<string, number> = {};
  try {
    for (const [name, host] of servers) {
      await upload(host, 'bench/blob', digest, blob);
      await upload(host, 'bench/blob', sha256(config), config as Uint8Array<ArrayBuffer>);
      const put = await fetch(`http://${host}/v2/bench/blob/manifests/1`, { method: 'PUT', body: manifest as Uint8Array<ArrayBuffer>, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' } });
      if (put.status !== 201) throw new Error(`${name}: manifest PUT ${put.status}`);
      const url = `http://${host}/v2/bench/blob/blobs/${digest}`;
      await download(host, url, blob.length, 1); // warm the page cache
      const best = async (fn: () => Promise<number>, better: (a: number, b: number) => number) => {
        let v = await fn();
        for (let i = 1; i < rounds; i++) v = better(v, await fn());
        return v;
      };
      oneClient[name] = await best(() => download(host, url, blob.length, 1), Math.max);
      blobRate[name] = await best(() => download(host, url, blob.length, clients), Math.max);
      gets[name] = await best(() => manifestGets(`http://${host}/v2/bench/blob/manifests/1`, top), Math.min);
    }
  } finally {
    await berth.stop();
    await dist.stop();
    rmSync(top, { recursive: true, force: true });
  }
  const note = `docker column: distribution registry; best of ${rounds}; higher is better`;
  return [
    { scenario: `registry serve: blob download, ${sizeMiB} MiB, 1 curl client`, unit: 'MiB/s', values: oneClient, note },
    { scenario: `registry serve: blob download, ${sizeMiB} MiB x ${clients} curl clients`, unit: 'MiB/s', values: blobRate, note },
    { scenario: `registry serve: ${MANIFEST_GETS} concurrent manifest GETs`, unit: 'ms', values: gets, note: `docker column: distribution registry; best of ${rounds}` },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [sizeMiB, clients, rounds] = process.argv.slice(2).map(Number);
  for (const r of await scenarioRegistryServer(sizeMiB || undefined, clients || undefined, rounds || undefined)) {
    console.log(`${r.scenario}: berth ${r.values['berth']?.toFixed(0)} ${r.unit}, distribution ${r.values['docker']?.toFixed(0)} ${r.unit}`);
  }
}
