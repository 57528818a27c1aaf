// A real berthd for a test: its own temporary socket, data root and exec root; stopped by PID and
// cleaned up (no leftover mounts under the data root) by stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteLink, removeBridgeRules } from '../../src/network/host.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const berthdBin = path.join(repoRoot, 'bin/berthd');
export const berthBin = path.join(repoRoot, 'bin/berth');

export interface TestDaemon {
  socket: string;
  host: string;
  dataRoot: string;
  execRoot: string;
  pid: number;
  log(): string;
  /** SIGTERM and wait; the data root stays for restart(). */
  shutdown(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export async function startDaemon(extraArgs: string[] = []): Promise<TestDaemon> {
  const top = mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));
  // Daemons of concurrent test files must not share a bridge or an address pool: each gets its
  // own (removed again by stop()) unless the test chose one.
  let ownBridge: { name: string; subnet: string } | undefined;
  if (!extraArgs.includes('--bridge') && !extraArgs.includes('-b')) {
    const [a, b] = [200 + Math.floor(Math.random() * 50), Math.floor(Math.random() * 256)];
    ownBridge = { name: `bt${randomBytes(3).toString('hex')}`, subnet: `10.${a}.${b}.0/24` };
    extraArgs = [...extraArgs, '--bridge', ownBridge.name, '--bip', `10.${a}.${b}.1/24`];
  }
  // Tests never reach the internet: a missing docker.io image fails at once instead of asking DNS.
  extraArgs = ['--block-registry', 'docker.io', ...extraArgs];
  const socket = path.join(top, 'berth.sock');
  const dataRoot = path.join(top, 'data');
  const execRoot = path.join(top, 'exec');
  const logFile = path.join(top, 'berthd.log');
  let child!: ChildProcess;
  let logText = '';
  let stopping = false;

  const launch = async () => {
    child = spawn(process.execPath, [berthdBin, '-H', `unix://${socket}`, '--data-root', dataRoot, '--exec-root', execRoot, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (logText += d));
    child.stderr!.on('data', (d) => (logText += d));
    // A daemon that dies under a test is the real failure: show why, or CI only sees ECONNREFUSED.
    child.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`berthd ${socket} exited unexpectedly (${code ?? signal}):\n${logText}\n`);
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}:\n${logText}`);
      if (await ping(socket)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    throw new Error(`berthd did not answer on ${socket}:\n${logText}`);
  };
  await launch();

  const d: TestDaemon = {
    socket,
    host: `unix://${socket}`,
    dataRoot,
    execRoot,
    get pid() {
      return child.pid!;
    },
    log: () => logText,
    async shutdown() {
      stopping = true;
      child.kill('SIGTERM');
      await exited(child);
    },
    async kill9() {
      stopping = true;
      child.kill('SIGKILL');
      await exited(child);
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) await d.shutdown();
      stopping = false;
      await launch();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) await d.shutdown();
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(top));
      rmSync(top, { recursive: true, force: true });
      if (ownBridge) {
        removeBridgeRules(ownBridge.name, ownBridge.subnet, false);
        deleteLink(ownBridge.name);
      }
      if (mounts.length) throw new Error(`mounts left under ${top}:\n${mounts.join('\n')}`);
    },
  };
  return d;
}

export const dockerCli = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
