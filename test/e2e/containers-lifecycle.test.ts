// The container lifecycle against a real berthd on runc: through the docker CLI (as users run it)
// and dockerode (as programs do). Exit codes, stdout/stderr kept apart, stop/kill/rm, names,
// isolation, limits, and what is left behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import Docker from 'dockerode';
import { importBusyboxImage } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { haveScript, openTerminal, runInTerminal } from '../helpers/terminal.js';

let daemon: TestDaemon;
let docker: Docker;

before(async () => {
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
  await importBusyboxImage(daemon.socket, 'busybox:latest');
});
after(async () => {
  for (const c of await docker.listContainers({ all: true }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  await daemon?.stop();
});

function cli(args: string[], input?: string, timeout = 60_000) {
  const r = spawnSync(dockerCli!, args, { input, encoding: 'utf8', env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' }, timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a container to completion with dockerode; returns exit code and the two streams apart. */
async function runToEnd(cmd: string[], opts: Record<string, unknown> = {}) {
  const c = await docker.createContainer({ Image: 'busybox', Cmd: cmd, ...opts });
  await c.start();
  const { StatusCode } = await c.wait();
  const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const out = { stdout: '', stderr: '' };
  for (let i = 0; i + 8 <= logs.length;) {
    const n = logs.readUInt32BE(i + 4);
    const s = logs.subarray(i + 8, i + 8 + n).toString();
    if (logs[i] === 1) out.stdout += s;
    else out.stderr += s;
    i += 8 + n;
  }
  const info = await c.inspect();
  await c.remove({ force: true });
  return { code: StatusCode as number, ...out, info };
}

test('docker CLI: run --rm prints output and returns the exit code', { skip: !dockerCli }, () => {
  const ok = cli(['run', '--rm', 'busybox', 'echo', 'hello']);
  assert.equal(ok.stdout, 'hello\n');
  assert.equal(ok.status, 0);
  const three = cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(three.status, 3);
  assert.equal(three.stdout, 'out\n');
  assert.equal(three.stderr, 'err\n');
  const missing = cli(['run', '--rm', 'busybox', 'no-such-binary']);
  assert.equal(missing.status, 127, missing.stderr);
  assert.match(missing.stderr, /no-such-binary/);
  const notExec = cli(['run', '--rm', 'busybox', '/etc']);
  assert.equal(notExec.status, 126, notExec.stderr);
  const noImage = cli(['run', '--rm', 'no-such-image:v1', 'true']);
  assert.equal(noImage.status, 125);
  assert.match(noImage.stderr, /^Unable to find image 'no-such-image:v1' locally\n/);
  // Test daemons run with --block-registry docker.io: the pull fails without asking DNS for Docker Hub.
  assert.match(noImage.stderr, /registry docker\.io is blocked on this daemon/);
  // --rm removed every one of them.
  assert.equal(cli(['ps', '-aq']).stdout, '');
});

test('docker CLI: run -i passes stdin through', { skip: !dockerCli }, () => {
  const r = cli(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], 'hello stdin\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'HELLO STDIN\n');
});

test('docker CLI: stdin piped into a short-lived run -i always arrives, and its end ends the container', { skip: !dockerCli }, () => {
  for (let i = 0; i < 50; i++) {
    const r = cli(['run', '--rm', '-i', 'busybox', 'cat'], 'hi\n', 20_000);
    assert.equal(r.stdout, 'hi\n', `run ${i}: ${r.stderr}`);
    assert.equal(r.status, 0);
  }
  assert.equal(cli(['ps', '-aq']).stdout, '');
});

test('docker CLI: Ctrl-P Ctrl-Q detaches from run -it and leaves the container running; berth run -t gets a terminal', { skip: !dockerCli || !haveScript }, async () => {
  const env = { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' };
  const term = openTerminal(`${dockerCli} run -it --name detacher busybox sh`, env);
  try {
    await term.waitFor(/\/ # /);
    // One key at a time: the first must be held back, not typed into the shell.
    term.type('\x10');
    await new Promise((r) => setTimeout(r, 200));
    term.type('\x11');
    assert.equal(await term.exited, 0, term.output());
    // Closing the client's connection after a detach must not end a TTY container's input.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(cli(['inspect', '-f', '{{.State.Running}}', 'detacher']).stdout, 'true\n', 'detached, still running');
    const again = openTerminal(`${dockerCli} attach detacher`, env);
    again.type('echo back-$((40+2))\r');
    await again.waitFor(/back-42/);
    again.type('exit 5\r');
    assert.equal(await again.exited, 5, again.output());
    assert.doesNotMatch(again.output(), /\^P|\x10/, 'the held-back key never reached the shell');
  } finally {
    term.kill();
    cli(['rm', '-f', 'detacher']);
  }
  const tty = await runInTerminal(`stty cols 77 rows 22; ${berthBin} run --rm -it busybox sh -c 'tty; stty size'`, { ...process.env, BERTH_HOST: daemon.host });
  assert.match(tty.output, /^\/dev\/pts\/\d+\r\n22 77\r\n$/, "raw output as the docker CLI's: no \\r\\r\\n");
  const dockerTty = await runInTerminal(`stty cols 81 rows 24; ${dockerCli} run --rm -t busybox stty size`, env);
  assert.match(dockerTty.output, /^24 81\r*\n$/, 'the docker CLI\'s ConsoleSize is applied before the process starts');
});

test('docker CLI: `exit 3` typed into run -it sh ends the client with 3 and the container exits', { skip: !dockerCli || !haveScript }, async () => {
  const env = { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' };
  const term = openTerminal(`${dockerCli} run -it --name exiter busybox sh`, env);
  try {
    await term.waitFor(/\/ # /);
    term.type('exit 3\n');
    assert.equal(await term.exited, 3, term.output());
    assert.equal(cli(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'exiter']).stdout, 'exited 3\n');
  } finally {
    term.kill();
    cli(['rm', '-f', 'exiter']);
  }
});

test('input still arriving as a container exits is dropped quietly: no unhandled error in berthd', async () => {
  for (let round = 0; round < 3; round++) {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['head', '-c', '1'], OpenStdin: true, AttachStdin: true, AttachStdout: true });
    const stream = await c.attach({ stream: true, stdin: true, stdout: true, hijack: true });
    stream.on('error', () => {});
    stream.on('data', () => {});
    await c.start();
    // Keep typing past the exit: the writes after it hit a monitor that has gone.
    for (let i = 0; i < 60; i++) {
      stream.write(Buffer.alloc(4096, 'x'));
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal((await c.wait()).StatusCode, 0);
    (stream as unknown as import('node:stream').Duplex).destroy();
    await c.remove();
  }
  assert.equal(String(await docker.ping()), 'OK');
  assert.doesNotMatch(daemon.log(), /unhandled rejection|unexpected error/);
});

test('docker CLI: detached container, ps, logs, stop, rm', { skip: !dockerCli }, () => {
  const id = cli(['run', '-d', '--name', 'sleeper', 'busybox', 'sh', '-c', 'echo started; exec sleep 300']).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = cli(['ps', '--format', '{{.Names}} {{.Image}} {{.State}}']);
  assert.match(ps.stdout, /^sleeper busybox running$/m);
  for (let i = 0; i < 50 && !cli(['logs', 'sleeper']).stdout.includes('started'); i++) spawnSync('sleep', ['0.1']);
  assert.equal(cli(['logs', 'sleeper']).stdout, 'started\n');
  const dup = cli(['run', '-d', '--name', 'sleeper', 'busybox', 'true']);
  assert.equal(dup.status, 125);
  assert.match(dup.stderr, /Conflict. The container name "\/sleeper" is already in use/);
  const rmRunning = cli(['rm', 'sleeper']);
  assert.notEqual(rmRunning.status, 0);
  assert.match(rmRunning.stderr, /container is running/);
  const t0 = Date.now();
  assert.equal(cli(['stop', '-t', '5', 'sleeper']).stdout, 'sleeper\n');
  // sleep as PID 1 has no handler for SIGTERM, so the kernel ignores it: SIGKILL comes after 5 s.
  assert.ok(Date.now() - t0 >= 4500, 'stop waited for the timeout');
  assert.match(cli(['ps', '-a', '--format', '{{.Status}}', '-f', 'name=sleeper']).stdout, /^Exited \(137\)/);
  assert.equal(cli(['rm', 'sleeper']).stdout, 'sleeper\n');
  assert.equal(cli(['ps', '-aq']).stdout, '');
});

test('dockerode: stdout and stderr are kept apart; exit code and state recorded', async () => {
  const r = await runToEnd(['sh', '-c', 'echo to-out; echo to-err >&2; exit 5']);
  assert.equal(r.code, 5);
  assert.equal(r.stdout, 'to-out\n');
  assert.equal(r.stderr, 'to-err\n');
  assert.equal(r.info.State.Status, 'exited');
  assert.equal(r.info.State.ExitCode, 5);
  assert.notEqual(r.info.State.FinishedAt, '0001-01-01T00:00:00Z');
});

test('dockerode: environment, working dir, user and hostname reach the process', async () => {
  const r = await runToEnd(['sh', '-c', 'echo "$FOO|$(pwd)|$(id -u):$(id -g)|$(hostname)"'], { Env: ['FOO=bar'], WorkingDir: '/tmp/work', User: '1000:1000', Hostname: 'myhost' });
  assert.equal(r.stdout, 'bar|/tmp/work|1000:1000|myhost\n');
});

test('an unknown user name is refused at create and leaves no container', async () => {
  const before = (await docker.listContainers({ all: true })).length;
  await assert.rejects(docker.createContainer({ Image: 'busybox', User: 'nosuchuser', Cmd: ['true'] }), (err: { statusCode?: number; message: string }) => err.statusCode === 400 && /unable to find user nosuchuser/.test(err.message));
  assert.equal((await docker.listContainers({ all: true })).length, before);
  const named = await runToEnd(['id', '-un'], { User: 'nobody' });
  assert.equal(named.stdout, 'nobody\n');
});

test('isolation: own PID namespace, masked /proc paths, no mount without --privileged', async () => {
  const ps = await runToEnd(['sh', '-c', 'ls /proc | grep -E "^[0-9]+$" | wc -l']);
  assert.ok(Number(ps.stdout.trim()) <= 4, `container sees only its own processes, saw ${ps.stdout}`);
  const pid1 = await runToEnd(['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "']);
  assert.equal(pid1.stdout.trim(), 'sh -c cat /proc/1/cmdline | tr "\\0" " "');
  // /proc/timer_list is masked (an empty device); /proc/sys is read-only.
  const masked = await runToEnd(['sh', '-c', 'cat /proc/timer_list | wc -c; echo x > /proc/sys/kernel/domainname || echo read-only']);
  assert.equal(masked.stdout, '0\nread-only\n');
  const mount = await runToEnd(['sh', '-c', 'mkdir -p /mnt/x && mount -t tmpfs none /mnt/x']);
  assert.notEqual(mount.code, 0, 'mount is refused without --privileged');
  const priv = await runToEnd(['sh', '-c', 'mkdir -p /mnt/x && mount -t tmpfs none /mnt/x && echo mounted'], { HostConfig: { Privileged: true } });
  assert.equal(priv.stdout, 'mounted\n');
  const seccomp = await runToEnd(['grep', 'Seccomp:', '/proc/self/status']);
  assert.match(seccomp.stdout, /Seccomp:\s+2/, 'the default seccomp filter is on');
  const unconfined = await runToEnd(['grep', 'Seccomp:', '/proc/self/status'], { HostConfig: { SecurityOpt: ['seccomp=unconfined'] } });
  assert.match(unconfined.stdout, /Seccomp:\s+0/);
  const capAdmin = await runToEnd(['sh', '-c', 'mkdir -p /mnt/y && mount -t tmpfs none /mnt/y && echo mounted'], { HostConfig: { CapAdd: ['SYS_ADMIN'] } });
  assert.equal(capAdmin.stdout, 'mounted\n', '--cap-add SYS_ADMIN lifts the filter on mount');
  const net = await runToEnd(['sh', '-c', 'ls /sys/class/net'], { HostConfig: { NetworkMode: 'none' } });
  assert.equal(net.stdout.trim(), 'lo');
  const bridged = await runToEnd(['sh', '-c', 'ls /sys/class/net | tr "\\n" " "']);
  assert.equal(bridged.stdout.trim(), 'eth0 lo');
});

test('--init runs tini as PID 1 in front of the command', async () => {
  const r = await runToEnd(['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'], { HostConfig: { Init: true } });
  assert.match(r.stdout, /^\/sbin\/docker-init -- sh -c/);
  assert.equal(r.code, 0);
});

test('two containers of one image never see each other\'s writes', async () => {
  const a = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo a > /marker; cat /marker'] });
  await a.start();
  await a.wait();
  const b = await runToEnd(['sh', '-c', 'cat /marker 2>&1 || echo absent']);
  assert.match(b.stdout, /absent/);
  await a.remove();
});

test('limits: memory limit OOM-kills, pids limit stops a fork bomb', async () => {
  const oom = await runToEnd(['sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1'], { HostConfig: { Memory: 16 << 20, MemorySwap: 16 << 20 } });
  assert.equal(oom.code, 137);
  assert.equal(oom.info.State.OOMKilled, true);
  const bomb = await runToEnd(['sh', '-c', 'for i in $(seq 30); do sleep 2 & done 2>&1; wait'], { HostConfig: { PidsLimit: 8 } });
  assert.match(bomb.stdout + bomb.stderr, /can't fork|Resource temporarily unavailable/);
});

test('kill with a signal, and name conflicts over the API are 409', async () => {
  const c = await docker.createContainer({ Image: 'busybox', name: 'trapper', Cmd: ['sh', '-c', 'trap "exit 42" USR1; while true; do sleep 0.1; done'] });
  await c.start();
  await new Promise((r) => setTimeout(r, 300));
  await c.kill({ signal: 'SIGUSR1' });
  assert.equal((await c.wait()).StatusCode, 42);
  await assert.rejects(docker.createContainer({ Image: 'busybox', name: 'trapper' }), (err: { statusCode?: number }) => err.statusCode === 409);
  await assert.rejects(docker.createContainer({ Image: 'nope:nope' }), (err: { statusCode?: number }) => err.statusCode === 404);
  await c.remove();
});

test('a kill -9 of berthd leaves containers running; exits while it is down are recorded', async () => {
  const long = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo before; sleep 300'] });
  await long.start();
  const short = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 1; exit 7'] });
  await short.start();
  const pid = (await long.inspect()).State.Pid;
  await daemon.kill9();
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(existsSync(`/proc/${pid}`), 'the container outlived its daemon');
  await daemon.restart();
  docker = new Docker({ socketPath: daemon.socket });
  const li = await long.inspect();
  assert.equal(li.State.Running, true);
  assert.equal(li.State.Pid, pid);
  const si = await short.inspect();
  assert.equal(si.State.Status, 'exited');
  assert.equal(si.State.ExitCode, 7);
  const logs = String(await long.logs({ stdout: true }));
  assert.match(logs, /before/);
  await long.stop({ t: 1 });
  assert.equal((await long.inspect()).State.Running, false);
  await long.remove();
  await short.remove();
});

test('100 run --rm leave no mounts, cgroups, monitors or bundles behind', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true } });
    ids.push(c.id);
    // Wait is asked before start, as the docker CLI does: `true` can be gone before a later request.
    const removed = c.wait({ condition: 'removed' } as never) as unknown as Promise<unknown>;
    await c.start();
    await removed;
  }
  for (let i = 0; i < 50 && (await docker.listContainers({ all: true })).length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await docker.listContainers({ all: true })).length, 0);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(daemon.dataRoot));
  assert.deepEqual(mounts, []);
  assert.deepEqual(readdirSync(`${daemon.dataRoot}/containers`), []);
  const cgroups = ids.flatMap((id) => ['memory', 'pids', 'cpu', 'freezer'].map((ctl) => `/sys/fs/cgroup/${ctl}/berth/${id}`)).filter((p) => existsSync(p));
  assert.deepEqual(cgroups, []);
  const conmons = spawnSync('pgrep', ['-f', `conmon.*${daemon.execRoot}`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(conmons, '', 'no monitor processes left');
});
