// Which daemon to talk to (-H, DOCKER_HOST, BERTH_HOST, the default socket), and starting berthd
// in the background when it is the default daemon, nobody answers, and we are root.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineClient } from '../client/index.js';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
const LOG_FILE = '/var/log/berthd.log';

export function selectHost(flagHost: string | undefined, env: NodeJS.ProcessEnv): { host: string; explicit: boolean } {
  // An empty variable counts as unset, as in the docker CLI (`DOCKER_HOST= docker ...`).
  const explicit = flagHost || env['DOCKER_HOST'] || env['BERTH_HOST'];
  return explicit ? { host: normalizeHost(explicit), explicit: true } : { host: DEFAULT_HOST, explicit: false };
}

function normalizeHost(h: string): string {
  return h.startsWith('/') ? `unix://${h}` : h;
}

/** Starts berthd detached (it outlives this command) and waits for it to answer. */
export async function startDaemon(client: EngineClient, stderr: NodeJS.WritableStream): Promise<void> {
  const bundle = path.join(path.dirname(fileURLToPath(import.meta.url)), 'berthd.js');
  mkdirSync(path.dirname(LOG_FILE), { recursive: true });
  const log = openSync(LOG_FILE, 'a');
  const child = spawn(process.execPath, [bundle], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  stderr.write(`berth: no daemon was running; started berthd (pid ${child.pid}), logging to ${LOG_FILE}\n`);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await client.ping()) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  stderr.write(`berth: berthd did not start; see ${LOG_FILE}\n`);
}
