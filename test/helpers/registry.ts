// A real `berth registry serve` for a test: its own temporary root and a loopback port chosen by
// the kernel; stopped by PID. restart() keeps the root, to show data survives the process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { berthBin } from './daemon.js';

export interface TestRegistry {
  root: string;
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, as skopeo's docker:// references want it. */
  host: string;
  log(): string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRegistry(options: { root?: string; args?: string[]; scheme?: 'http' | 'https' } = {}): Promise<TestRegistry> {
  const root = options.root ?? mkdtempSync(path.join(os.tmpdir(), 'berth-registry-'));
  let child!: ChildProcess;
  let logText = '';
  let port = 0;
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      // The same port across restarts once known, so clients keep their URLs.
      child = spawn(process.execPath, [berthBin, 'registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', root, ...(options.args ?? [])], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => reject(new Error(`registry did not start:\n${logText}`)), 10_000);
      child.stdout!.on('data', (d) => {
        logText += d;
        const m = /listening on [^\s]+:(\d+)/.exec(logText);
        if (m) {
          clearTimeout(timer);
          port = Number(m[1]);
          resolve();
        }
      });
      child.stderr!.on('data', (d) => (logText += d));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`registry exited with ${code}:\n${logText}`));
      });
    });
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(child.pid!, 'SIGTERM');
    await gone;
  };
  await launch();
  const reg: TestRegistry = {
    root,
    url: `${options.scheme ?? 'http'}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    log: () => logText,
    async restart() {
      await halt();
      logText = '';
      await launch();
    },
    async stop() {
      await halt();
      if (!options.root) rmSync(root, { recursive: true, force: true });
    },
  };
  return reg;
}
