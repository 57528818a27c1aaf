// Volumes and container mounts against a real berthd, through the docker CLI and dockerode:
// named volumes outlive containers, anonymous volumes are filled from the image, binds, tmpfs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { extractBusybox } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;
let api: Docker;
let scratch: string;
let env: NodeJS.ProcessEnv;

/** The docker CLI against our berthd; returns status, stdout, stderr. */
function docker(...args: string[]): { status: number; out: string; err: string } {
  const r = spawnSync(dockerCli!, args, { env, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function ok(...args: string[]): string {
  const r = docker(...args);
  assert.equal(r.status, 0, `docker ${args.join(' ')} failed: ${r.err}\n${daemon.log().slice(-2000)}`);
  return r.out;
}

/**
 * `docker run --rm` without relying on attach (short-lived containers' output can be lost by the
 * attach path today): create, start, wait, logs, rm -v. Returns the exit code and both streams.
 */
function run(...args: string[]): { status: number; out: string; err: string } {
  const id = ok('create', ...args).trim();
  ok('start', id);
  const status = Number(ok('wait', id).trim());
  const logs = docker('logs', id);
  ok('rm', '-v', id);
  return { status, out: logs.out, err: logs.err };
}

before(async () => {
  daemon = await startDaemon();
  api = new Docker({ socketPath: daemon.socket });
  env = { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' };
  scratch = mkdtempSync(path.join(os.tmpdir(), 'berth-vol-'));
  // busybox plus /data/hello (owned 1000:1000, mode 0640) and a VOLUME there.
  const rootfs = path.join(scratch, 'rootfs');
  extractBusybox(rootfs);
  execFileSync('mkdir', ['-p', path.join(rootfs, 'data')]);
  writeFileSync(path.join(rootfs, 'data/hello'), 'from the image\n', { mode: 0o640 });
  execFileSync('chown', ['-R', '1000:1000', path.join(rootfs, 'data')]);
  const tar = execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 64 << 20 });
  execFileSync(dockerCli!, ['import', '-c', 'CMD ["sh"]', '-', 'vbox:1'], { env, input: tar });
  execFileSync(dockerCli!, ['import', '-c', 'CMD ["sh"]', '-c', 'VOLUME /data', '-', 'vbox:vol'], { env, input: tar });
});

after(async () => {
  await daemon?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('a named volume outlives its container and its data is seen by the next one', { skip: !dockerCli }, () => {
  assert.equal(ok('volume', 'create', 'keep').trim(), 'keep');
  ok('create', '--name', 'writer', '-v', 'keep:/store', 'vbox:1', 'sh', '-c', 'echo persisted > /store/f');
  ok('start', 'writer');
  assert.equal(ok('wait', 'writer'), '0\n');
  const info = JSON.parse(ok('inspect', 'writer'))[0];
  assert.deepEqual(info.Mounts, [{ Type: 'volume', Name: 'keep', Source: path.join(daemon.dataRoot, 'volumes/keep/_data'), Destination: '/store', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
  // In use (even by a stopped container): 409.
  const busy = docker('volume', 'rm', 'keep');
  assert.notEqual(busy.status, 0);
  assert.match(busy.err, new RegExp(`Error response from daemon: remove keep: volume is in use - \\[${info.Id}\\]`));
  ok('rm', '-v', 'writer');
  assert.equal(run('-v', 'keep:/other:ro', 'vbox:1', 'cat', '/other/f').out, 'persisted\n');
  const ro = run( '-v', 'keep:/other:ro', 'vbox:1', 'sh', '-c', 'echo x > /other/g');
  assert.notEqual(ro.status, 0);
  assert.match(ro.err, /Read-only file system/);
  assert.equal(ok('volume', 'rm', 'keep'), 'keep\n');
  assert.equal(existsSync(path.join(daemon.dataRoot, 'volumes/keep')), false);
});

test('an image VOLUME gets an anonymous volume filled from the image; rm -v removes it, not named ones', { skip: !dockerCli }, () => {
  ok('volume', 'create', 'named1');
  ok('create', '--name', 'anon', '-v', 'named1:/n', 'vbox:vol', 'sh', '-c', 'stat -c "%u:%g %a" /data/hello; cat /data/hello; echo new > /data/added');
  const info = JSON.parse(ok('inspect', 'anon'))[0];
  const anon = info.Mounts.find((m: { Destination: string }) => m.Destination === '/data');
  assert.match(anon.Name, /^[a-f0-9]{64}$/);
  assert.equal(anon.Type, 'volume');
  const vol = JSON.parse(ok('volume', 'inspect', anon.Name))[0];
  assert.deepEqual(vol.Labels, { 'com.docker.volume.anonymous': '' });
  ok('start', '-a', 'anon');
  assert.equal(ok('logs', 'anon'), '1000:1000 640\nfrom the image\n');
  assert.equal(readFileSync(path.join(vol.Mountpoint, 'added'), 'utf8'), 'new\n');
  assert.equal(statSync(path.join(vol.Mountpoint, 'hello')).uid, 1000);
  ok('rm', '-v', 'anon');
  assert.equal(docker('volume', 'inspect', anon.Name).status, 1, 'anonymous volume removed with rm -v');
  assert.equal(ok('volume', 'ls', '-q', '-f', 'name=named1'), 'named1\n');
  ok('volume', 'rm', 'named1');
});

test('AutoRemove (run --rm) removes anonymous volumes; -v /path makes one', { skip: !dockerCli }, async () => {
  const before = ok('volume', 'ls', '-q');
  const c = await api.createContainer({ Image: 'vbox:1', Cmd: ['sh', '-c', 'echo a > /scratch/a'], Volumes: { '/scratch': {} }, HostConfig: { AutoRemove: true } });
  const anon = (await c.inspect()).Mounts[0]!.Name!;
  assert.match(anon, /^[a-f0-9]{64}$/);
  assert.notEqual(ok('volume', 'ls', '-q'), before);
  const removed = c.wait({ condition: 'removed' });
  await c.start();
  await removed;
  assert.equal(ok('volume', 'ls', '-q'), before);
});

test('bind mounts: rw, :ro, and a missing --mount source is refused leaving nothing behind', { skip: !dockerCli }, async () => {
  const host = path.join(scratch, 'bind');
  execFileSync('mkdir', ['-p', host]);
  writeFileSync(path.join(host, 'in'), 'host file\n');
  assert.equal(run('-v', `${host}:/h`, 'vbox:1', 'sh', '-c', 'cat /h/in; echo out > /h/out').out, 'host file\n');
  assert.equal(readFileSync(path.join(host, 'out'), 'utf8'), 'out\n');
  const ro = run('-v', `${host}:/h:ro`, 'vbox:1', 'sh', '-c', 'echo x > /h/x');
  assert.notEqual(ro.status, 0);
  assert.match(ro.err, /Read-only file system/);
  assert.equal(existsSync(path.join(host, 'x')), false);
  const withMount = run('--mount', `type=bind,source=${host},target=/m,readonly`, 'vbox:1', 'cat', '/m/in');
  assert.equal(withMount.out, 'host file\n');

  const containersBefore = (await api.listContainers({ all: true })).length;
  const volumesBefore = ok('volume', 'ls', '-q');
  const missing = docker('create', '--name', 'nobind', '-v', '/anon', '--mount', 'type=bind,source=/no/such/dir,target=/x', 'vbox:1');
  assert.notEqual(missing.status, 0);
  assert.match(missing.err, /invalid mount config for type "bind": bind source path does not exist: \/no\/such\/dir/);
  assert.equal((await api.listContainers({ all: true })).length, containersBefore);
  assert.equal(ok('volume', 'ls', '-q'), volumesBefore);
  await assert.rejects(
    api.createContainer({ Image: 'vbox:1', HostConfig: { Mounts: [{ Type: 'volume', Source: 'v', Target: 'relative' }] } }),
    (err: { statusCode?: number; message: string }) => err.statusCode === 400 && /invalid mount path: 'relative' mount path must be absolute/.test(err.message),
  );
});

test('--tmpfs and --mount type=tmpfs; --read-only still lets volumes and tmpfs be written', { skip: !dockerCli }, () => {
  assert.match(run('--tmpfs', '/t:size=1m', 'vbox:1', 'sh', '-c', 'grep " /t " /proc/mounts').out, /^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/);
  const { out, err } = run('--read-only', '-v', 'rovol:/v', '--tmpfs', '/tmp', '--mount', 'type=tmpfs,target=/t2,tmpfs-size=65536', 'vbox:1', 'sh', '-c', 'echo a > /v/a && echo b > /tmp/b && echo c > /t2/c && cat /v/a /tmp/b /t2/c; echo x > /root-file || echo refused');
  assert.equal(out, 'a\nb\nc\nrefused\n');
  assert.match(err, /can't create \/root-file: Read-only file system/);
  ok('volume', 'rm', 'rovol');
});

test('dockerode: volume create/list/inspect/remove/prune and the 409', async () => {
  const v = await api.createVolume({ Name: 'dv', Labels: { team: 'a' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } } as never);
  assert.equal((v as unknown as { name: string }).name, 'dv');
  const inspected = (await api.getVolume('dv').inspect()) as unknown as Record<string, unknown>;
  assert.deepEqual({ ...inspected, CreatedAt: undefined }, {
    CreatedAt: undefined, Driver: 'local', Labels: { team: 'a' }, Mountpoint: path.join(daemon.dataRoot, 'volumes/dv/_data'), Name: 'dv',
    Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }, Scope: 'local',
  });
  assert.match(inspected['CreatedAt'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const c = await api.createContainer({ Image: 'vbox:1', Cmd: ['sh', '-c', 'grep " /v " /proc/mounts'], HostConfig: { Binds: ['dv:/v'] } });
  await c.start();
  await c.wait();
  const logs = (await c.logs({ stdout: true })).toString();
  assert.match(logs, /tmpfs \/v tmpfs/);
  await assert.rejects(api.getVolume('dv').remove(), (err: { statusCode?: number; message: string }) => err.statusCode === 409 && new RegExp(`remove dv: volume is in use - \\[${c.id}\\]`).test(err.message));
  const listed = await api.listVolumes({ filters: { label: ['team=a'] } });
  assert.deepEqual(listed.Volumes.map((x) => x.Name), ['dv']);
  assert.deepEqual((await api.listVolumes({ filters: { dangling: ['true'] } })).Volumes.map((x) => x.Name).includes('dv'), false);
  await c.remove();
  const anon = await api.createVolume({ Labels: { 'com.docker.volume.anonymous': '' } } as never);
  const anonName = (anon as unknown as { name: string }).name;
  // Default prune: anonymous volumes only; all=true: named ones too.
  const pruned = (await api.pruneVolumes()) as unknown as { VolumesDeleted: string[] };
  assert.deepEqual(pruned.VolumesDeleted, [anonName]);
  assert.ok((await api.listVolumes()).Volumes.some((x) => x.Name === 'dv'));
  const all = (await api.pruneVolumes({ filters: { all: ['true'] } } as never)) as unknown as { VolumesDeleted: string[] };
  assert.ok(all.VolumesDeleted.includes('dv'));
  assert.equal(existsSync(path.join(daemon.dataRoot, 'volumes/dv')), false);
  await assert.rejects(api.getVolume('dv').inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
});

test('docker CLI: volume prune prints what it removed; system df counts volumes', { skip: !dockerCli }, () => {
  ok('volume', 'create', 'dfvol');
  assert.equal(run('-v', 'dfvol:/d', 'vbox:1', 'sh', '-c', 'head -c 5000 /dev/zero > /d/z').status, 0);
  const df = JSON.parse(execFileSync(dockerCli!, ['system', 'df', '--format', '{{json .}}'], { env, encoding: 'utf8' }).split('\n').find((l) => l.includes('Local Volumes'))!);
  assert.equal(df.TotalCount, '1');
  assert.equal(df.Size, '5kB');
  const section = (text: string) => text.slice(text.indexOf('Local Volumes space usage:'), text.indexOf('Build cache usage'));
  const dockerDf = section(ok('system', 'df', '-v'));
  assert.equal(dockerDf, 'Local Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\ndfvol         0         5kB\n\n');
  assert.equal(section(execFileSync(berthBin, ['system', 'df', '-v'], { env, encoding: 'utf8' })), dockerDf);
  const out = ok('volume', 'prune', '-f', '-a');
  assert.equal(out, 'Deleted Volumes:\ndfvol\n\nTotal reclaimed space: 5kB\n');
});

test('volumes, their users and driver-option mounts across a daemon restart', { skip: !dockerCli }, async () => {
  ok('volume', 'create', 'survivor');
  ok('volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'tmpvol');
  const id = ok('create', '-v', 'survivor:/s', '-v', 'tmpvol:/t', 'vbox:1', 'sh', '-c', 'echo kept > /s/f; grep " /t " /proc/mounts').trim();
  ok('start', id);
  assert.equal(ok('wait', id).trim(), '0');
  assert.match(ok('logs', id), /^tmpfs \/t tmpfs /);
  const tmpData = path.join(daemon.dataRoot, 'volumes/tmpvol/_data');
  assert.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${tmpData} `), 'tmpfs volume mounted while in use');
  await daemon.restart();
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${tmpData} `), 'driver-option mount came off at shutdown');
  const busy = docker('volume', 'rm', 'survivor');
  assert.match(busy.err, new RegExp(`volume is in use - \\[${id}\\]`));
  assert.equal(readFileSync(path.join(daemon.dataRoot, 'volumes/survivor/_data/f'), 'utf8'), 'kept\n');
  ok('rm', '-v', id);
  assert.equal(ok('volume', 'rm', 'survivor', 'tmpvol'), 'survivor\ntmpvol\n');
});
