// Blob download throughput: `berth registry serve` beside distribution's registry
// (/usr/bin/docker-registry), the same blob pushed to each, then fetched by parallel clients over
// loopback by curl. Usage: node --import tsx bench/registry-blob.ts [sizeMiB=256] [clients=4] [rounds=3]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [sizeMiB = 256, clients = 4, rounds = 3] = process.argv.slice(2).map(Number);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`registry on ${port} did not come up`);
}

/**
 * Downloads the blob with `clients` curl processes at once; returns MiB/s over all bytes. curl, not
 * a Node client: a Node client tops out below either server and would measure itself.
 */
async function download(port: number, name: string, digest: string, size: number): Promise<number> {
  const one = () =>
    new Promise<void>((resolve, reject) => {
      execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download}', `http://127.0.0.1:${port}/v2/${name}/blobs/${digest}`], (err, stdout) => {
        if (err) return reject(err);
        Number(stdout) === size ? resolve() : reject(new Error(`short read ${stdout}`));
      });
    });
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, one));
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  return (size * clients) / (1 << 20) / s;
}

async function main(): Promise<void> {
  const top = mkdtempSync(path.join(os.tmpdir(), 'berth-regbench-'));
  const children: ChildProcess[] = [];
  try {
    const blob = randomBytes(sizeMiB << 20);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const berthPort = await freePort();
    children.push(spawn(process.execPath, [path.join(repo, 'bin/berth'), 'registry', 'serve', '--addr', `127.0.0.1:${berthPort}`, '--root', path.join(top, 'berth')], { stdio: 'ignore' }));
    const targets: [string, number][] = [['berth', berthPort]];
    if (existsSync('/usr/bin/docker-registry')) {
      const distPort = await freePort();
      const config = path.join(top, 'distribution.yml');
      writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(top, 'distribution')}\nhttp:\n  addr: 127.0.0.1:${distPort}\n`);
      children.push(spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' }));
      targets.push(['distribution', distPort]);
    }
    const results: Record<string, number[]> = {};
    for (const [name, port] of targets) {
      await waitUp(port);
      const put = await fetch(`http://127.0.0.1:${port}/v2/bench/blob/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(put.headers.get('location')!, `http://127.0.0.1:${port}`);
      loc.searchParams.set('digest', digest);
      const done = await fetch(loc, { method: 'PUT', body: blob, headers: { 'Content-Type': 'application/octet-stream' } });
      if (done.status !== 201) throw new Error(`${name}: push failed with ${done.status}`);
      await download(port, 'bench/blob', digest, blob.length); // warm the page cache
      results[name] = [];
      for (let i = 0; i < rounds; i++) results[name]!.push(await download(port, 'bench/blob', digest, blob.length));
    }
    console.log(`| registry | blob download, ${sizeMiB} MiB x ${clients} clients, best of ${rounds} |`);
    console.log('|---|---|');
    for (const [name, v] of Object.entries(results)) console.log(`| ${name} | ${Math.max(...v).toFixed(0)} MiB/s |`);
  } finally {
    for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(top, { recursive: true, force: true });
  }
}

await main();
