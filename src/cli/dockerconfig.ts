// Credentials in the docker CLI's `config.json` (`$DOCKER_CONFIG` or `~/.docker`), shared with
// docker: `auths: { server: { auth: base64(user:pass) } }`. Docker Hub's key is its v1 URL.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  [k: string]: unknown;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env['DOCKER_CONFIG'] ?? path.join(os.homedir(), '.docker'), 'config.json');
}

function read(file: string): ConfigFile {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8') || '{}') as ConfigFile) : {};
}

function write(file: string, cfg: ConfigFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** `docker.io`, `index.docker.io`, `https://index.docker.io/v1/` -> the Hub key; others: host[:port]. */
export function serverKey(server: string | undefined): string {
  if (!server) return DOCKER_HUB_SERVER;
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host)) return DOCKER_HUB_SERVER;
  return host;
}

export function saveAuth(server: string, username: string, password: string, env?: NodeJS.ProcessEnv): void {
  const file = configPath(env);
  const cfg = read(file);
  cfg.auths ??= {};
  cfg.auths[serverKey(server)] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  write(file, cfg);
}

/** Returns false when there was nothing to remove. */
export function removeAuth(server: string, env?: NodeJS.ProcessEnv): boolean {
  const file = configPath(env);
  const cfg = read(file);
  const key = serverKey(server);
  const keys = Object.keys(cfg.auths ?? {}).filter((k) => serverKey(k) === key);
  if (!keys.length) return false;
  for (const k of keys) delete cfg.auths![k];
  write(file, cfg);
  return true;
}

/** The X-Registry-Auth header for `domain` (a reference's registry), or undefined. */
export function registryAuthHeader(domain: string, env?: NodeJS.ProcessEnv): string | undefined {
  const cfg = read(configPath(env));
  const key = serverKey(domain);
  const entry = Object.entries(cfg.auths ?? {}).find(([k]) => serverKey(k) === key)?.[1];
  if (!entry?.auth) return undefined;
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  // As the docker CLI sends it: base64url of the JSON AuthConfig.
  return Buffer.from(JSON.stringify({ username: plain.slice(0, colon), password: plain.slice(colon + 1), serveraddress: key })).toString('base64url');
}
