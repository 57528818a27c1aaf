// Archives cross between berth and a real dockerd (the bench harness's: own data root, socket and
// bridge, no iptables): `docker load` takes what `berth save` writes, and berth loads what dockerd's
// `docker save` writes, keeping the image ID, tags and history both ways.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDocker, type Engine } from '../../bench/engines.js';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';

const canRun = !!dockerCli && existsSync('/usr/sbin/dockerd');
let daemon: TestDaemon;
let dockerd: Engine | undefined;
let tmp: string;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-dockerd-'));
  daemon = await startDaemon();
  if (canRun) dockerd = await startDocker(path.join(tmp, 'dockerd'));
});
after(async () => {
  await dockerd?.stop();
  await daemon?.stop();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(tmp));
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(mounts, [], 'dockerd left mounts behind');
});

function run(bin: string, args: string[], input?: Buffer) {
  const r = spawnSync(bin, args, { input, env: { ...process.env, DOCKER_CONFIG: tmp }, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `${bin} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const berth = (args: string[], input?: Buffer) => run(berthBin, ['-H', daemon.host, ...args], input);
const docker = (args: string[], input?: Buffer) => run(dockerCli!, ['-H', `unix://${dockerd!.socket}`, ...args], input);

test('docker load (real dockerd) takes berth save; berth load takes dockerd\'s docker save', { skip: !canRun }, () => {
  const id = berth(['import', '-c', 'CMD ["sh"]', '-c', 'ENV FROM=berth', '-m', 'made by berth', '-', 'cross/berth:1'], busyboxTar()).trim();
  berth(['tag', 'cross/berth:1', 'cross/berth:2']);
  const saved = path.join(tmp, 'from-berth.tar');
  berth(['save', '-o', saved, 'cross/berth']);
  assert.equal(docker(['load', '-i', saved]).trim().split('\n').sort().join('\n'), 'Loaded image: cross/berth:1\nLoaded image: cross/berth:2');
  assert.equal(docker(['inspect', '-f', '{{.Id}} {{json .Config.Env}} {{json .Config.Cmd}}', 'cross/berth:2']).trim(), `${id} ["FROM=berth"] ["sh"]`);
  assert.match(docker(['history', '--format', '{{.Comment}}', 'cross/berth:1']), /^made by berth\n$/);

  // The other way: an image dockerd made itself (import + commit-free change), saved by dockerd.
  const dockerId = docker(['import', '-c', 'WORKDIR /data', '-m', 'made by dockerd', '-', 'cross/dockerd:1'], busyboxTar()).trim();
  const fromDocker = path.join(tmp, 'from-dockerd.tar');
  docker(['save', '-o', fromDocker, 'cross/dockerd:1']);
  assert.equal(berth(['load', '-i', fromDocker]), 'Loaded image: cross/dockerd:1\n');
  assert.equal(berth(['inspect', '-f', '{{.Id}} {{.Config.WorkingDir}}', 'cross/dockerd:1']).trim(), `${dockerId} /data`);
  assert.equal(berth(['history', '--format', '{{.Comment}}', 'cross/dockerd:1']), docker(['history', '--format', '{{.Comment}}', 'cross/dockerd:1']));
  // Same root filesystem, same diff ID, whichever engine unpacked it.
  assert.equal(berth(['inspect', '-f', '{{json .RootFS.Layers}}', 'cross/dockerd:1']), berth(['inspect', '-f', '{{json .RootFS.Layers}}', 'cross/berth:1']));
});
