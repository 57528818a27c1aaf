// `berth volume ...` against a real berthd prints what the docker CLI prints against the same daemon.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;

before(async () => {
  daemon = await startDaemon();
});
after(async () => {
  await daemon?.stop();
});

function run(bin: string, args: string[], input?: string): { status: number; out: string; err: string } {
  const env = { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: path.join(daemon.dataRoot, 'cli-config') };
  const r = spawnSync(bin, args, { input, env, encoding: 'utf8' });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const berth = (...args: string[]) => run(berthBin, args);

test('volume create, ls, inspect, rm: berth prints what docker prints', { skip: !dockerCli }, () => {
  assert.deepEqual(berth('volume', 'create', '--label', 'tier=db', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'v10'), { status: 0, out: 'v10\n', err: '' });
  assert.equal(berth('volume', 'create', 'v2').out, 'v2\n');
  const generated = berth('volume', 'create').out.trim();
  assert.match(generated, /^[a-f0-9]{64}$/);
  const same = (...args: string[]) => {
    const b = berth(...args);
    const d = run(dockerCli!, args);
    assert.deepEqual(b, d, `berth ${args.join(' ')}`);
    return b.out;
  };
  assert.equal(same('volume', 'ls'), `DRIVER    VOLUME NAME\nlocal     ${generated}\nlocal     v2\nlocal     v10\n`);
  assert.equal(same('volume', 'ls', '-q', '-f', 'label=tier=db'), 'v10\n');
  same('volume', 'ls', '--format', 'table {{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Labels}}\t{{.Mountpoint}}');
  same('volume', 'ls', '--format', 'json');
  same('volume', 'ls', '-f', 'dangling=true', '-f', 'name=v');
  const inspected = same('volume', 'inspect', 'v10', 'v2');
  const parsed = JSON.parse(inspected);
  assert.deepEqual(parsed[0].Options, { device: 'tmpfs', type: 'tmpfs' });
  assert.deepEqual(parsed[0].Labels, { tier: 'db' });
  assert.equal(parsed[1].Mountpoint, path.join(daemon.dataRoot, 'volumes/v2/_data'));
  same('volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Scope}}', 'v2');
  const missing = same('volume', 'inspect', 'nope');
  assert.equal(missing, '[]\n');
  assert.deepEqual(berth('volume', 'rm', 'v2', 'nope'), { status: 1, out: 'v2\n', err: 'Error response from daemon: get nope: no such volume\n' });
  assert.equal(existsSync(path.join(daemon.dataRoot, 'volumes/v2')), false);
  assert.deepEqual(berth('volume', 'rm', generated, 'v10'), { status: 0, out: `${generated}\nv10\n`, err: '' });
});

test('volume prune asks first, removes anonymous volumes only unless --all', { skip: !dockerCli }, () => {
  const anon = JSON.parse(spawnSync('curl', ['-s', '--unix-socket', daemon.socket, '-XPOST', '-H', 'Content-Type: application/json', '-d', '{"Labels":{"com.docker.volume.anonymous":""}}', 'http://x/volumes/create'], { encoding: 'utf8' }).stdout).Name as string;
  assert.match(anon, /^[a-f0-9]{64}$/);
  berth('volume', 'create', 'kept');
  const declined = berth('volume', 'prune', '--filter', 'label=none');
  assert.equal(declined.out, 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ');
  assert.equal(berth('volume', 'ls', '-q').out.split('\n').filter(Boolean).length, 2);
  const pruned = run(berthBin, ['volume', 'prune'], 'y\n');
  assert.equal(pruned.out, `WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 0B\n`);
  assert.equal(berth('volume', 'ls', '-q').out, 'kept\n');
  assert.equal(berth('volume', 'prune', '-f').out, 'Total reclaimed space: 0B\n');
  assert.deepEqual(run(dockerCli!, ['volume', 'prune', '-f', '-a']), { status: 0, out: 'Deleted Volumes:\nkept\n\nTotal reclaimed space: 0B\n', err: '' });
});
