// A real distribution registry (`/usr/bin/docker-registry`) on 127.0.0.1 with a free port and a
// temporary storage dir, optionally behind htpasswd; stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startRegistry(opts: { htpasswd?: string } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-registry-'));
  const port = await freePort();
  let auth = '';
  if (opts.htpasswd) {
    writeFileSync(path.join(dir, 'htpasswd'), opts.htpasswd);
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: ${path.join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${auth}`);
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`registry exited: ${log}`);
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`registry did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
