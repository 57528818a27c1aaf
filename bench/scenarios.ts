// Bench scenarios: each runs the same work on every engine and reports seconds (or MiB).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { rssKiB, type Engine } from './engines.js';

export interface Result {
  scenario: string;
  unit: 's' | 'ms' | 'MiB' | 'MiB/s';
  values: Partial<Record<string, number>>;
  note?: string;
}

export function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export function sh(argv: string[], input?: string | Buffer): string {
  return execFileSync(argv[0]!, argv.slice(1), { input, maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A ~300 MB root filesystem: busybox plus generated files of mixed sizes, cached between runs. */
export function bigRootfs(cache: string, repo: string): string {
  const tar = path.join(cache, 'rootfs-300m.tar');
  if (existsSync(tar)) return tar;
  const dir = path.join(cache, 'rootfs-300m');
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-C', dir, '-xf', '-'], { input: execFileSync(path.join(repo, 'scripts/busybox-rootfs.sh'), { maxBuffer: 1 << 26 }) });
  // 6,000 files across 60 directories, 1 KB to 100 KB, ~300 MB in all; random so compression is not free.
  for (let d = 0; d < 60; d++) {
    const sub = path.join(dir, 'usr', 'share', `pkg${d}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const size = 1024 + ((d * 100 + f) * 7919) % (99 * 1024);
      writeFileSync(path.join(sub, `file${f}.bin`), randomBytes(size));
    }
  }
  execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
  return tar;
}

function apiRequest(socket: string, method: string, p: string, body?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false: a pooled keep-alive socket the daemon already closed would fail with EPIPE.
    const req = http.request({ socketPath: socket, method, path: p, agent: false, headers: body ? { 'Content-Length': body.length } : {} }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: s }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function scenarioImport(engines: Engine[], rootfs: string): Promise<Result> {
  const values: Record<string, number> = {};
  for (const e of engines) values[e.name] = time(() => sh([...e.cli, 'import', rootfs, 'bench/big:1']));
  return { scenario: 'import ~300 MB rootfs', unit: 's', values };
}

export async function scenarioSaveLoad(engines: Engine[], dir: string): Promise<Result> {
  const values: Record<string, number> = {};
  for (const e of engines) {
    const file = path.join(dir, `${e.name}-save.tar`);
    values[e.name] = time(() => {
      sh([...e.cli, 'save', '-o', file, 'bench/big:1']);
      sh([...e.cli, 'rmi', 'bench/big:1']);
      sh([...e.cli, 'load', '-i', file]);
    });
  }
  return { scenario: 'save, rmi, load of that image', unit: 's', values };
}

/** 1,000 small distinct images, then one listing through each engine's CLI and through the API. */
export async function scenarioImages1000(engines: Engine[], repo: string, dir: string): Promise<Result[]> {
  const cli: Record<string, number> = {};
  const api: Record<string, number> = {};
  const tinyDir = path.join(dir, 'tiny');
  mkdirSync(tinyDir, { recursive: true });
  for (const e of engines) {
    for (let i = 0; i < 1000; i++) {
      writeFileSync(path.join(tinyDir, 'id'), String(i));
      const tar = execFileSync('tar', ['-C', tinyDir, '-cf', '-', 'id']);
      if (e.socket) {
        const r = await apiRequest(e.socket, 'POST', `/images/create?fromSrc=-&repo=bench/many&tag=t${i}`, tar).catch((err) => {
          throw new Error(`${e.name}: import ${i}: ${err.message}`);
        });
        if (r.status !== 200) throw new Error(`${e.name} import: ${r.status} ${r.body}`);
      } else {
        sh([...e.cli, 'import', '-', `bench/many:t${i}`], tar);
      }
    }
    const n = sh([...e.cli, 'images', '-q']).trim().split('\n').length;
    if (n < 1000) throw new Error(`${e.name}: only ${n} images listed`);
    cli[e.name] = time(() => sh([...e.cli, 'images'])) * 1000;
    if (e.socket) api[e.name] = (await timeAsync(async () => void (await apiRequest(e.socket!, 'GET', '/images/json')))) * 1000;
  }
  const berthCli = engines.find((e) => e.name === 'berth');
  if (berthCli) cli['berth (berth CLI)'] = time(() => sh([path.join(repo, 'bin/berth'), '-H', `unix://${berthCli.socket}`, 'images'])) * 1000;
  return [
    { scenario: '`images` with 1,000 images, via the CLI', unit: 'ms', values: cli },
    { scenario: '`GET /images/json` with 1,000 images', unit: 'ms', values: api },
  ];
}

export function scenarioIdleMemory(engines: Engine[]): Result {
  const values: Record<string, number> = {};
  for (const e of engines) if (e.pids().length) values[e.name] = rssKiB(e.pids()) / 1024;
  return { scenario: 'idle daemon memory (RSS; dockerd + containerd)', unit: 'MiB', values, note: 'podman has no daemon' };
}

export function commandAvailable(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
