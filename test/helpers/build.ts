// Helpers for build tests: contexts from a map of files, POST /build over the daemon's socket
// with the stream parsed, and the busybox base image imported as busybox:latest.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { importBusyboxImage } from './busybox.js';
import { dockerCli, type TestDaemon } from './daemon.js';

export type FileSpec = string | { content: string; mode?: number } | { symlink: string } | { dir: true };

/** Writes `files` into a fresh temporary directory and returns it. */
export function makeContext(files: Record<string, FileSpec>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-build-ctx-'));
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, FileSpec>): void {
  for (const [name, spec] of Object.entries(files)) {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    if (typeof spec === 'string') writeFileSync(p, spec);
    else if ('symlink' in spec) symlinkSync(spec.symlink, p);
    else if ('dir' in spec) mkdirSync(p, { recursive: true });
    else {
      writeFileSync(p, spec.content);
      if (spec.mode !== undefined) chmodSync(p, spec.mode);
    }
  }
}

/** A tar of a directory's contents (GNU tar, sorted, owners kept as they are). */
export function tarOf(dir: string): Buffer {
  return execFileSync('tar', ['-C', dir, '--sort=name', '-cf', '-', '.'], { maxBuffer: 256 << 20 });
}

export interface BuildResult {
  status: number;
  messages: Array<{ stream?: string; aux?: { ID?: string }; error?: string; errorDetail?: { code?: number; message: string } }>;
  /** All `stream` text joined. */
  output: string;
  id?: string;
  error?: string;
  errorCode?: number;
  /** The body of a non-200 answer. */
  body?: string;
}

export function postBuild(d: TestDaemon, body: Buffer, query: Record<string, string | string[]> = {}): Promise<BuildResult> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: `/v1.47/build?${q}`, method: 'POST', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve({ status: res.statusCode!, messages: [], output: '', body: text });
        const messages = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
        const r: BuildResult = { status: 200, messages, output: messages.map((m) => m.stream ?? '').join('') };
        for (const m of messages) {
          if (m.aux?.ID) r.id = m.aux.ID;
          if (m.error) {
            r.error = m.error;
            r.errorCode = m.errorDetail?.code;
          }
        }
        resolve(r);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Builds a context made of `files`. */
export async function buildFiles(d: TestDaemon, files: Record<string, FileSpec>, query: Record<string, string | string[]> = {}): Promise<BuildResult> {
  const dir = makeContext(files);
  try {
    return await postBuild(d, tarOf(dir), query);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Imports the test busybox as busybox:latest (CMD ["sh"]), returning its ID. */
/** The busybox base image (`busybox:latest`, CMD ["sh"]) in the test daemon. */
export function importBusybox(d: TestDaemon): Promise<string> {
  return importBusyboxImage(d.socket);
}

/** Runs a command in a new container from `image` through the docker CLI; returns its stdout. */
export function runIn(env: NodeJS.ProcessEnv, image: string, ...cmd: string[]): string {
  // Not --rm: the runtime's attach is the containers' subject; here only the output matters.
  const name = `b${Math.random().toString(36).slice(2, 10)}`;
  const r = spawnSync(dockerCli!, ['run', '--name', name, image, ...cmd], { env, encoding: 'utf8' });
  spawnSync(dockerCli!, ['rm', '-f', name], { env });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** GET a JSON endpoint on the daemon. */
export function getJson<T = any>(d: TestDaemon, p: string): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: `/v1.47${p}`, method: 'GET' }, (r) => {
      let t = '';
      r.on('data', (c) => (t += c));
      r.on('end', () => resolve({ status: r.statusCode!, body: t ? JSON.parse(t) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}
