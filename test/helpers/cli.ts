// Runs a docker-compatible CLI (berth's or docker's) against a test daemon and returns its exit
// code and output, for tests that compare the two clients' answers.
import { spawnSync } from 'node:child_process';

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export function runCli(bin: string, args: string[], opts: { host: string; config?: string; input?: Buffer | string; timeout?: number }): CliResult {
  const env = { ...process.env, DOCKER_HOST: opts.host, ...(opts.config ? { DOCKER_CONFIG: opts.config } : {}) };
  const r = spawnSync(bin, args, { input: opts.input, env, encoding: 'utf8', timeout: opts.timeout, maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
