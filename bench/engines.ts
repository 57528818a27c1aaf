// The engines a bench run compares, each on private paths under one temp dir: berthd, a reference
// dockerd (its own data root, exec root, socket and bridge; never --bridge=none, which deletes the
// host's docker0) with the containerd it manages, and podman (no daemon; its own root and runroot).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { deleteLink, removeBridgeRules } from '../src/network/host.js';

// Bench runs may overlap (several people measuring at once): each run gets its own bridges and
// subnet, removed again when its engines stop.
const runTag = randomBytes(2).toString('hex');
export const BRIDGE = `bbd${runTag}`;
const BERTH_BRIDGE = `bbb${runTag}`;
const BERTH_SUBNET_PREFIX = `10.${180 + (randomBytes(1)[0]! % 20)}.${randomBytes(1)[0]!}`;

export interface Engine {
  name: 'berth' | 'docker' | 'podman';
  /** argv prefix for the docker-compatible CLI driving this engine. */
  cli: string[];
  /** Engine API socket (none for podman). */
  socket?: string;
  pids(): number[];
  stop(): Promise<void>;
}

function waitForSocket(socket: string, child: ChildProcess, what: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (child.exitCode !== null) return reject(new Error(`${what} exited (${child.exitCode}); see ${logFile}`));
      if (Date.now() > deadline) return reject(new Error(`${what} did not start; see ${logFile}`));
      const req = http.get({ socketPath: socket, path: '/_ping' }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else setTimeout(tick, 100);
      });
      req.on('error', () => setTimeout(tick, 100));
    };
    tick();
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Children of a process (dockerd's containerd), from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d), ...childPids(Number(d)));
    } catch {
      // process went away
    }
  }
  return out;
}

export function rssKiB(pids: number[]): number {
  let total = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return total;
}

export async function startBerth(repo: string, dir: string): Promise<Engine> {
  const socket = path.join(dir, 'berth.sock');
  const logFile = path.join(dir, 'berthd.log');
  mkdirSync(dir, { recursive: true });
  const log = (await import('node:fs')).openSync(logFile, 'a');
  const child = spawn(process.execPath, [
    path.join(repo, 'bin/berthd'), '-H', `unix://${socket}`, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
    '--bridge', BERTH_BRIDGE, '--bip', `${BERTH_SUBNET_PREFIX}.1/24`,
  ], { stdio: ['ignore', log, log] });
  await waitForSocket(socket, child, 'berthd', logFile);
  return {
    name: 'berth', cli: ['docker', '-H', `unix://${socket}`], socket, pids: () => [child.pid!],
    async stop() {
      await stopChild(child);
      removeBridgeRules(BERTH_BRIDGE, `${BERTH_SUBNET_PREFIX}.0/24`, false);
      deleteLink(BERTH_BRIDGE);
    },
  };
}

export async function startDocker(dir: string): Promise<Engine> {
  if (!existsSync('/usr/sbin/dockerd')) throw new Error('dockerd missing: apt-get install docker.io');
  const socket = path.join(dir, 'docker.sock');
  const logFile = path.join(dir, 'dockerd.log');
  mkdirSync(dir, { recursive: true });
  if (spawnSync('ip', ['link', 'show', BRIDGE]).status !== 0) execFileSync('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  execFileSync('ip', ['link', 'set', BRIDGE, 'up']);
  const log = (await import('node:fs')).openSync(logFile, 'a');
  const child = spawn('/usr/sbin/dockerd', [
    '-H', `unix://${socket}`, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
    // Without iptables, published ports go through docker-proxy (one process per port), as a
    // loopback publish needs anyway: the network scenario measures that path.
    '--pidfile', path.join(dir, 'dockerd.pid'), `--bridge=${BRIDGE}`, '--iptables=false', '--ip-masq=false',
    '--storage-driver=overlay2',
  ], { stdio: ['ignore', log, log] });
  await waitForSocket(socket, child, 'dockerd', logFile);
  return {
    name: 'docker', cli: ['docker', '-H', `unix://${socket}`], socket,
    pids: () => [child.pid!, ...childPids(child.pid!)],
    async stop() {
      await stopChild(child);
      spawnSync('ip', ['link', 'del', BRIDGE]);
    },
  };
}

export async function startPodman(dir: string): Promise<Engine> {
  if (!existsSync('/usr/bin/podman')) throw new Error('podman missing: apt-get install podman');
  mkdirSync(dir, { recursive: true });
  const cli = ['podman', '--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--storage-driver', 'overlay'];
  return {
    name: 'podman', cli, pids: () => [],
    async stop() {
      spawnSync(cli[0]!, [...cli.slice(1), 'system', 'reset', '--force'], { stdio: 'ignore' });
    },
  };
}
