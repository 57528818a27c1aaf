// Which daemon the berth CLI talks to: -H, then DOCKER_HOST, then BERTH_HOST, then the default
// socket, where berth (as root) starts berthd itself when nobody answers. The auto-start runs in
// private mount and network namespaces, so the default socket, data root, log and bridge it uses
// are the namespace's own and vanish with it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { berthBin, startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;
let tmp: string;

before(async () => {
  daemon = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-host-'));
});
after(async () => {
  await daemon?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const nowhere = () => `unix://${path.join(tmp, 'nobody-here.sock')}`;

function berth(args: string[], env: Record<string, string | undefined>) {
  const base = { ...process.env };
  delete base['DOCKER_HOST'];
  delete base['BERTH_HOST'];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  const r = spawnSync(berthBin, args, { env: base, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('-H beats DOCKER_HOST, which beats BERTH_HOST; an empty DOCKER_HOST counts as unset', () => {
  const ok = (r: ReturnType<typeof berth>) => {
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${daemon.dataRoot}\n`);
    assert.doesNotMatch(r.err, /started berthd/);
  };
  const root = ['info', '--format', '{{.DockerRootDir}}'];
  ok(berth(['-H', daemon.host, ...root], { DOCKER_HOST: nowhere(), BERTH_HOST: nowhere() }));
  ok(berth(root, { DOCKER_HOST: daemon.host, BERTH_HOST: nowhere() }));
  ok(berth(root, { BERTH_HOST: daemon.host }));
  ok(berth(root, { DOCKER_HOST: '', BERTH_HOST: daemon.host }));
  ok(berth(['--host', daemon.socket, ...root], {})); // a bare path is a unix socket
});

test('an explicit host nobody answers on is an error, never an auto-start', () => {
  for (const env of [{ DOCKER_HOST: nowhere() }, { BERTH_HOST: nowhere() }]) {
    const r = berth(['images'], env);
    assert.equal(r.code, 1);
    assert.equal(r.err, `Cannot connect to the berth daemon at ${nowhere()}. Is the berth daemon running?\n`);
  }
  const h = berth(['-H', nowhere(), 'images'], {});
  assert.equal(h.code, 1);
  assert.doesNotMatch(h.err, /started berthd/);
});

test('with no host given and nothing on the default socket, berth (root) starts berthd and says so', { skip: !existsSync('/usr/bin/unshare') }, () => {
  const errFile = path.join(tmp, 'first.err');
  // tmpfs over /run, /var/lib and /var/log inside the namespace: the default socket, data root
  // and log file are fresh and private; the new network namespace holds berth0 and its rules.
  const script = `set -e
mount -t tmpfs berth-test /run; mount -t tmpfs berth-test /var/lib; mount -t tmpfs berth-test /var/log
"$1" images 2>"$2"
pid=$(sed -n 's/.*started berthd (pid \\([0-9]*\\)).*/\\1/p' "$2")
trap 'kill -TERM $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done' EXIT
echo "second:"; "$1" images 2>&1
echo "root: $("$1" info --format '{{.DockerRootDir}}')"
test -S /run/berth/berth.sock && echo "socket: yes"
grep -c 'Daemon has completed initialization' /var/log/berthd.log`;
  const r = spawnSync('unshare', ['-m', '-n', '--propagation', 'private', 'sh', '-c', script, 'auto', berthBin, errFile], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env['PATH'] } });
  const first = existsSync(errFile) ? spawnSync('cat', [errFile], { encoding: 'utf8' }).stdout : '';
  assert.equal(r.status, 0, r.stderr + first);
  assert.match(first, /^berth: no daemon was running; started berthd \(pid \d+\), logging to \/var\/log\/berthd\.log\n$/);
  assert.equal(r.stdout, [
    'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE',
    'second:',
    'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE', // the daemon answers now: no second start
    'root: /var/lib/berth',
    'socket: yes',
    '1',
    '',
  ].join('\n'));
});
