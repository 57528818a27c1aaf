// Login, push and pull against an htpasswd-protected distribution registry, with the berth CLI
// and the docker CLI sharing one config.json; wrong passwords and logged-out pushes are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/distribution.js';

let daemon: TestDaemon;
let registry: TestRegistry;
let tmp: string;

/** A bcrypt htpasswd line, made with python's crypt (no apache2-utils on the machine). */
function htpasswdLine(user: string, password: string): string {
  const hash = execFileSync('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))', password], { encoding: 'utf8' }).trim();
  return `${user}:${hash}\n`;
}

before(async () => {
  registry = await startRegistry({ htpasswd: htpasswdLine('alice', 's3cret') });
  daemon = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-auth-'));
});
after(async () => {
  await daemon?.stop();
  await registry?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const run = (bin: string, args: string[], input?: Buffer | string) => runCli(bin, args, { host: daemon.host, config: tmp, input });
const berth = (...args: string[]) => run(berthBin, args);

test('login refuses a wrong password and stores nothing', () => {
  const r = run(berthBin, ['login', '-u', 'alice', '--password-stdin', registry.host], 'wrong\n');
  assert.equal(r.code, 1);
  assert.match(r.err, /Error response from daemon: .*(unauthorized|401)/i);
  assert.throws(() => readFileSync(path.join(tmp, 'config.json')));
});

test('berth login, push, pull; docker CLI uses the same credentials; logout', () => {
  const r = run(berthBin, ['login', '-u', 'alice', '--password-stdin', registry.host], 's3cret\n');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Login Succeeded\n');
  const cfg = JSON.parse(readFileSync(path.join(tmp, 'config.json'), 'utf8'));
  assert.equal(cfg.auths[registry.host].auth, Buffer.from('alice:s3cret').toString('base64'));

  const name = `${registry.host}/private/busybox`;
  assert.equal(run(berthBin, ['import', '-c', 'CMD ["sh"]', '-', `${name}:v1`], busyboxTar()).code, 0);
  const push = berth('push', `${name}:v1`);
  assert.equal(push.code, 0, push.err);
  const lines = push.out.trim().split('\n');
  assert.equal(lines[0], `The push refers to repository [${name}]`);
  assert.match(lines[1]!, /^[a-f0-9]{12}: Preparing$/);
  assert.match(push.out, /^[a-f0-9]{12}: Pushed$/m);
  assert.match(lines[lines.length - 1]!, /^v1: digest: sha256:[a-f0-9]{64} size: \d+$/);
  const id = berth('inspect', '--format', '{{.Id}}', `${name}:v1`).out.trim();

  assert.equal(berth('rmi', `${name}:v1`).code, 0);
  const pull = berth('pull', '-q', `${name}:v1`);
  assert.equal(pull.code, 0, pull.err);
  assert.equal(pull.out, `${name}:v1\n`);
  assert.equal(berth('inspect', '--format', '{{.Id}}', `${name}:v1`).out.trim(), id);

  if (dockerCli) {
    assert.equal(berth('rmi', `${name}:v1`).code, 0);
    const d = run(dockerCli, ['pull', `${name}:v1`]);
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /Pull complete|Already exists/);
  }

  const out = berth('logout', registry.host);
  assert.equal(out.out, `Removing login credentials for ${registry.host}\n`);
  assert.equal(berth('logout', registry.host).out, `Not logged in to ${registry.host}\n`);
  const denied = berth('push', `${name}:v1`);
  assert.notEqual(denied.code, 0);
  assert.match(denied.err, /unauthorized|authentication required|no basic auth credentials/i);
});

test('docker login through berthd', { skip: !dockerCli }, () => {
  const bad = run(dockerCli!, ['login', '-u', 'alice', '--password-stdin', registry.host], 'nope\n');
  assert.notEqual(bad.code, 0);
  const ok = run(dockerCli!, ['login', '-u', 'alice', '--password-stdin', registry.host], 's3cret\n');
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /Login Succeeded/);
  run(dockerCli!, ['logout', registry.host]);
});
