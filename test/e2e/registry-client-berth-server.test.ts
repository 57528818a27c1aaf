// berthd's registry client against berth's own server (`berth registry serve`): a layer above the
// 64 MB chunk threshold goes up in PATCH chunks (seen by a recording proxy in between) and comes
// back with the same image ID; a token-auth server is logged into, pushed to and pulled from
// through the berth CLI, and refused with a wrong password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startRegistry } from '../helpers/registry.js';
import { startTokenService, TOKEN_PASSWORD, TOKEN_USER } from '../helpers/token-service.js';

type T = { after(fn: () => void | Promise<void>): void };

function tmp(t: T): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-regclient-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function daemonFor(t: T): Promise<TestDaemon> {
  const d = await startDaemon();
  t.after(() => d.stop());
  return d;
}

/** Runs the berth CLI without blocking this process, which serves the proxy and token service. */
function berth(daemon: TestDaemon, config: string, args: string[], input?: Buffer | string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(berthBin, args, { env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: config } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });
}

/** Forwards every request to `target` and records `METHOD path` and Content-Range of each. */
async function recordingProxy(t: T, target: string): Promise<{ host: string; seen: Array<{ method: string; path: string; range?: string }> }> {
  const seen: Array<{ method: string; path: string; range?: string }> = [];
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, path: req.url!.split('?')[0]!, range: req.headers['content-range'] });
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      // Locations stay absolute paths, so the client keeps talking to the proxy.
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test('a layer above 64 MB is pushed in chunks into berth registry serve and pulled back intact', async (t) => {
  const dir = tmp(t);
  const reg = await startRegistry();
  t.after(() => reg.stop());
  const proxy = await recordingProxy(t, reg.url);
  const daemon = await daemonFor(t);
  // Random bytes do not compress: the gzip blob stays above the threshold.
  const layerDir = path.join(dir, 'layer');
  spawnSync('mkdir', ['-p', layerDir]);
  writeFileSync(path.join(layerDir, 'big.bin'), randomBytes(80 << 20));
  const tar = spawnSync('tar', ['-C', layerDir, '-cf', '-', '.'], { maxBuffer: 1 << 27 }).stdout;
  const name = `${proxy.host}/big/image:v1`;
  assert.equal((await berth(daemon, dir, ['import', '-', name], tar)).code, 0);
  const id = (await berth(daemon, dir, ['image', 'inspect', '--format', '{{.Id}}', name])).out.trim();

  const push = await berth(daemon, dir, ['push', name]);
  assert.equal(push.code, 0, push.err);
  const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.out)?.[1];
  assert.ok(digest, push.out);
  const patches = proxy.seen.filter((r) => r.method === 'PATCH');
  assert.ok(patches.length >= 5, `expected 16 MiB chunks, saw ${patches.length} PATCHes`);
  // Chunks follow each other without gaps, from offset 0.
  let next = 0;
  for (const p of patches) {
    const [from, to] = p.range!.split('-').map(Number);
    assert.equal(from, next);
    next = to! + 1;
  }
  assert.ok(next > 64 << 20, `only ${next} bytes in chunks`);
  // Nothing is left in the registry's upload area.
  const uploads = spawnSync('find', [path.join(reg.root, 'repositories'), '-path', '*_uploads/*', '-type', 'f'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(uploads, '');

  assert.equal((await berth(daemon, dir, ['rmi', name])).code, 0);
  const pull = await berth(daemon, dir, ['pull', name]);
  assert.equal(pull.code, 0, pull.err);
  assert.match(pull.out, new RegExp(`Digest: ${digest}`));
  assert.equal((await berth(daemon, dir, ['image', 'inspect', '--format', '{{.Id}}', name])).out.trim(), id);
});

test('token auth: berth login, push and pull through a token service; a wrong password is refused', async (t) => {
  const dir = tmp(t);
  const tokens = await startTokenService(t);
  writeFileSync(path.join(dir, 'token.pem'), tokens.publicKeyPem);
  const reg = await startRegistry({ args: ['--token-realm', tokens.realm, '--token-service', 'berth-test', '--token-issuer', 'test-issuer', '--token-cert', path.join(dir, 'token.pem')] });
  t.after(() => reg.stop());
  const daemon = await daemonFor(t);
  const name = `${reg.host}/tok/busybox:v1`;
  assert.equal((await berth(daemon, dir, ['import', '-c', 'CMD ["sh"]', '-', name], busyboxTar())).code, 0);

  const anonymous = await berth(daemon, dir, ['push', name]);
  assert.notEqual(anonymous.code, 0);
  assert.match(anonymous.err, /unauthorized|authentication required/i);
  const wrong = await berth(daemon, dir, ['login', '-u', TOKEN_USER, '--password-stdin', reg.host], 'nope\n');
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /Error response from daemon: .*unauthorized/i);

  const login = await berth(daemon, dir, ['login', '-u', TOKEN_USER, '--password-stdin', reg.host], `${TOKEN_PASSWORD}\n`);
  assert.equal(login.code, 0, login.err);
  const push = await berth(daemon, dir, ['push', name]);
  assert.equal(push.code, 0, push.err);
  assert.ok(tokens.scopes.some((s) => s.includes('repository:tok/busybox:pull,push')), tokens.scopes.join('\n'));
  const id = (await berth(daemon, dir, ['image', 'inspect', '--format', '{{.Id}}', name])).out.trim();
  assert.equal((await berth(daemon, dir, ['rmi', name])).code, 0);
  const pull = await berth(daemon, dir, ['pull', name]);
  assert.equal(pull.code, 0, pull.err);
  assert.equal((await berth(daemon, dir, ['image', 'inspect', '--format', '{{.Id}}', name])).out.trim(), id);
  assert.ok(tokens.scopes.some((s) => s === 'repository:tok/busybox:pull'), tokens.scopes.join('\n'));
});
