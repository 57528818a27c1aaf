// berthd's own flags and life cycle against real daemons: -H unix and tcp together, --pidfile,
// one daemon per data root, a busy socket refused before anything is built, a stale socket
// replaced, SIGTERM/SIGINT shutting down cleanly, API version negotiation with and without /v1.xx.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { berthBin, berthdBin, dockerCli, ping, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/distribution.js';
import { deleteLink, removeBridgeRules } from '../../src/network/host.js';

let daemon: TestDaemon;
let port: number;
let pidfile: string;
let tmp: string;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-flags-'));
  port = await freePort();
  pidfile = path.join(tmp, 'berthd.pid');
  daemon = await startDaemon(['-H', `tcp://127.0.0.1:${port}`, '--pidfile', pidfile, '--debug']);
});
after(async () => {
  await daemon?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function get(target: { socketPath: string } | { host: string; port: number }, p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, path: p, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs berthd to completion (for starts that must fail) and says whether a bridge was made. */
function failedStart(args: string[]): { code: number | null; err: string; bridgeLeft: boolean } {
  const bridge = `fou${randomBytes(3).toString('hex')}`;
  const r = spawnSync(process.execPath, [berthdBin, ...args, '--bridge', bridge, '--bip', '10.252.9.1/24'], { encoding: 'utf8', timeout: 20_000 });
  const bridgeLeft = spawnSync('ip', ['link', 'show', bridge]).status === 0;
  if (bridgeLeft) spawnSync('ip', ['link', 'del', bridge]);
  return { code: r.status, err: r.stderr, bridgeLeft };
}

test('one daemon serves -H unix:// and -H tcp:// together; the docker CLI works over tcp', { skip: !dockerCli }, async () => {
  assert.equal(await ping(daemon.socket), true);
  const overTcp = await get({ host: '127.0.0.1', port }, '/_ping');
  assert.equal(overTcp.status, 200);
  assert.equal(overTcp.body, 'OK');
  const v = JSON.parse(execFileSync(dockerCli!, ['version', '--format', '{{json .Server}}'], { env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_CONFIG: tmp }, encoding: 'utf8' }));
  assert.equal(v.ApiVersion, '1.47');
  // --debug shows in info, as dockerd's does.
  const info = await new Docker({ host: '127.0.0.1', port, protocol: 'http' }).info();
  assert.equal(info.Debug, true);
});

test('--pidfile holds the daemon\'s PID', () => {
  assert.equal(readFileSync(pidfile, 'utf8').trim(), String(daemon.pid));
});

test('API versions: negotiated through /_ping and /version; paths with and without /v1.xx', async () => {
  const s = { socketPath: daemon.socket };
  const pingRes = await get(s, '/_ping');
  assert.equal(pingRes.headers['api-version'], '1.47');
  for (const prefix of ['', '/v1.41', '/v1.44', '/v1.47']) {
    const r = await get(s, `${prefix}/version`);
    assert.equal(r.status, 200, prefix);
    const body = JSON.parse(r.body);
    assert.equal(body.ApiVersion, '1.47');
    assert.equal(body.MinAPIVersion, '1.24');
    const images = await get(s, `${prefix}/images/json`);
    assert.equal(images.status, 200, prefix);
    assert.ok(Array.isArray(JSON.parse(images.body)));
  }
  const tooNew = await get(s, '/v1.99/version');
  assert.equal(tooNew.status, 400);
  assert.equal(JSON.parse(tooNew.body).message, 'client version 1.99 is too new. Maximum supported API version is 1.47');
  const tooOld = await get(s, '/v1.12/version');
  assert.equal(tooOld.status, 400);
  assert.match(JSON.parse(tooOld.body).message, /^client version 1.12 is too old\. Minimum supported API version is 1.24/);
  // An old client (API 1.41) through the docker CLI's DOCKER_API_VERSION pin.
  if (dockerCli) {
    const out = execFileSync(dockerCli, ['version', '--format', '{{.Client.APIVersion}}'], { env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_API_VERSION: '1.41', DOCKER_CONFIG: tmp }, encoding: 'utf8' });
    assert.equal(out.trim(), '1.41');
  }
});

test('a second berthd on the same data root is refused with a clear message and builds nothing', () => {
  const r = failedStart(['-H', `unix://${path.join(tmp, 'second.sock')}`, '--data-root', daemon.dataRoot, '--exec-root', path.join(tmp, 'exec2')]);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`another berthd \\(pid ${daemon.pid}\\) is already using data root ${daemon.dataRoot.replace(/[/.]/g, '\\$&')}`));
  assert.equal(r.bridgeLeft, false);
  assert.equal(existsSync(path.join(tmp, 'second.sock')), false);
});

test('a socket another daemon answers on is refused before any bridge is made; so is a busy tcp port', () => {
  const unix = failedStart(['-H', daemon.host, '--data-root', path.join(tmp, 'd3'), '--exec-root', path.join(tmp, 'e3')]);
  assert.equal(unix.code, 1);
  assert.match(unix.err, new RegExp(`socket ${daemon.socket.replace(/[/.]/g, '\\$&')} is in use by another process`));
  assert.equal(unix.bridgeLeft, false);
  const tcp = failedStart(['-H', `unix://${path.join(tmp, 'd4.sock')}`, '-H', `tcp://127.0.0.1:${port}`, '--data-root', path.join(tmp, 'd4'), '--exec-root', path.join(tmp, 'e4')]);
  assert.equal(tcp.code, 1);
  assert.match(tcp.err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
  assert.equal(tcp.bridgeLeft, false);
  // The running daemon was not disturbed.
  assert.equal(existsSync(daemon.socket), true);
});

test('bad flags: exit 125 and a pointer to --help; a bad log level is named', () => {
  const unknown = spawnSync(process.execPath, [berthdBin, '--bogus'], { encoding: 'utf8' });
  assert.equal(unknown.status, 125);
  assert.match(unknown.stderr, /unknown flag.*--bogus[\s\S]*See 'berthd --help'/);
  const level = spawnSync(process.execPath, [berthdBin, '--log-level', 'loud'], { encoding: 'utf8' });
  assert.equal(level.status, 125);
  assert.match(level.stderr, /unable to parse logging level: loud/);
  const help = spawnSync(process.execPath, [berthdBin, '--help'], { encoding: 'utf8' });
  for (const flag of ['--host', '--data-root', '--exec-root', '--pidfile', '--log-level', '--debug']) assert.match(help.stdout, new RegExp(flag));
});

test('a stale socket file (left by kill -9) is replaced; SIGTERM and SIGINT remove socket and pidfile', async () => {
  const pid2 = path.join(tmp, 'second.pid');
  const d = await startDaemon(['--pidfile', pid2]);
  try {
    await d.kill9();
    assert.equal(existsSync(d.socket), true, 'kill -9 leaves the socket file');
    assert.equal(await ping(d.socket), false);
    await d.restart();
    assert.equal(await ping(d.socket), true);
    assert.equal(readFileSync(pid2, 'utf8').trim(), String(d.pid));
    await d.shutdown(); // SIGTERM
    assert.equal(existsSync(d.socket), false);
    assert.equal(existsSync(pid2), false);
    // SIGINT (Ctrl-C in a terminal) does the same, and the exit code is 0.
    const bridge = `fou${randomBytes(3).toString('hex')}`;
    const child = spawn(process.execPath, [berthdBin, '-H', d.host, '--data-root', d.dataRoot, '--exec-root', d.execRoot, '--pidfile', pid2, '--bridge', bridge, '--bip', '10.252.10.1/24'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!(await ping(d.socket)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await ping(d.socket), true);
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      removeBridgeRules(bridge, '10.252.10.0/24', false);
      deleteLink(bridge);
    }
    assert.equal(existsSync(d.socket), false);
    assert.equal(existsSync(pid2), false);
  } finally {
    await d.stop();
  }
});

test('berth -H tcp:// reaches the tcp listener', () => {
  const r = spawnSync(berthBin, ['-H', `tcp://127.0.0.1:${port}`, 'version', '--format', '{{.Server.APIVersion}}'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1.47\n');
});
