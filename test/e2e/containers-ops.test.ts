// The container commands beyond the lifecycle, through the docker CLI against a real berthd:
// pause/unpause, rename, top, stats, diff, commit, cp both ways, export, update, prune, and
// restart policies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { importBusyboxImage } from '../helpers/busybox.js';
import { dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;
let tmp: string;

before(async () => {
  daemon = await startDaemon();
  await importBusyboxImage(daemon.socket, 'busybox:latest');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-ops-'));
});
after(async () => {
  if (dockerCli) for (const id of cli(['ps', '-aq']).stdout.split('\n').filter(Boolean)) cli(['rm', '-f', id]);
  rmSync(tmp, { recursive: true, force: true });
  await daemon?.stop();
});

function cli(args: string[], input?: string | Buffer) {
  const r = spawnSync(dockerCli!, args, { input, encoding: 'utf8', env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[], input?: string | Buffer): string {
  const r = cli(args, input);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('pause, unpause, rename, top, stats, update', { skip: !dockerCli }, async () => {
  ok(['run', '-d', '--name', 'worker', 'busybox', 'sleep', '300']);
  ok(['pause', 'worker']);
  assert.match(ok(['ps', '--format', '{{.Status}}', '-f', 'name=worker']), /\(Paused\)/);
  assert.match(cli(['exec', 'worker', 'true']).stderr, /paused/);
  ok(['unpause', 'worker']);
  ok(['rename', 'worker', 'renamed']);
  assert.equal(ok(['inspect', '-f', '{{.Name}}', 'renamed']), '/renamed\n');
  const topOut = ok(['top', 'renamed']);
  assert.match(topOut, /^UID\s+PID\s+PPID/);
  assert.match(topOut, /sleep 300/);
  // The one-sample stats answer through the API. (The docker CLI's `stats --no-stream` sometimes
  // reports `EOF` for it: a known gap in the README, not yet understood.)
  const st = (await new Docker({ socketPath: daemon.socket }).getContainer('renamed').stats({ stream: false })) as unknown as { name: string; pids_stats: { current: number } };
  assert.equal(st.name, '/renamed');
  assert.equal(st.pids_stats.current, 1);
  ok(['update', '--memory', '64m', '--memory-swap', '128m', '--pids-limit', '50', 'renamed']);
  assert.equal(ok(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', 'renamed']), `${64 << 20} 50\n`);
  ok(['rm', '-f', 'renamed']);
});

test('diff, commit with changes, export, cp in and out', { skip: !dockerCli }, () => {
  ok(['run', '--name', 'changer', 'busybox', 'sh', '-c', 'echo new > /newfile; rm /bin/vi; mkdir /tmp/d; echo inner > /tmp/d/f']);
  const diff = ok(['diff', 'changer']);
  assert.match(diff, /^A \/newfile$/m);
  assert.match(diff, /^D \/bin\/vi$/m);
  assert.match(diff, /^A \/tmp\/d\/f$/m);
  assert.doesNotMatch(diff, /etc\/hosts|\/proc|\/sys/, 'the runtime\'s mount points are not changes');
  ok(['commit', '-m', 'a message', '-a', 'someone', '-c', 'ENV COMMITTED=yes', 'changer', 'committed:v1']);
  assert.equal(ok(['run', '--rm', 'committed:v1', 'sh', '-c', 'cat /newfile; echo $COMMITTED; [ -e /bin/vi ] || echo no-vi']), 'new\nyes\nno-vi\n');
  assert.equal(ok(['inspect', '-f', '{{.Author}} {{.Comment}}', 'committed:v1']), 'someone a message\n');
  const exported = spawnSync(dockerCli!, ['export', 'changer'], { env: { ...process.env, DOCKER_HOST: daemon.host }, maxBuffer: 64 << 20 });
  const names = spawnSync('tar', ['-t'], { input: exported.stdout, encoding: 'utf8' }).stdout.split('\n');
  assert.ok(names.some((n) => /^\.?\/?newfile$/.test(n)), 'export has the new file');
  assert.ok(!names.some((n) => /bin\/vi$/.test(n)), 'export has no deleted file');
  ok(['cp', 'changer:/tmp/d', path.join(tmp, 'out')]);
  assert.equal(readFileSync(path.join(tmp, 'out/f'), 'utf8'), 'inner\n');
  writeFileSync(path.join(tmp, 'in.txt'), 'copied in\n');
  ok(['cp', path.join(tmp, 'in.txt'), 'changer:/root/']);
  ok(['start', 'changer']);
  ok(['wait', 'changer']);
  ok(['commit', 'changer', 'committed:v2']);
  assert.equal(ok(['run', '--rm', 'committed:v2', 'cat', '/root/in.txt']), 'copied in\n');
  assert.match(cli(['cp', 'changer:/no/such', tmp]).stderr, /Could not find the file \/no\/such/);
});

test('restart policy on-failure:2 restarts twice; always restarts; prune removes stopped ones', { skip: !dockerCli }, async () => {
  ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 1']);
  let count = '';
  for (let i = 0; i < 100; i++) {
    count = ok(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'flaky']);
    if (count === '2 exited\n') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(count, '2 exited\n');
  ok(['run', '-d', '--name', 'always', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2; exit 0']);
  let restarts = 0;
  for (let i = 0; i < 100 && restarts < 2; i++) {
    restarts = Number(ok(['inspect', '-f', '{{.RestartCount}}', 'always']).trim());
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(restarts >= 2, `always restarted ${restarts} times`);
  ok(['stop', '-t', '1', 'always']);
  const before = ok(['inspect', '-f', '{{.RestartCount}}', 'always']);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(ok(['inspect', '-f', '{{.RestartCount}} {{.State.Running}}', 'always']), `${before.trim()} false\n`, 'a stopped container stays stopped');
  ok(['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '300']);
  const pruned = ok(['container', 'prune', '-f']);
  assert.match(pruned, /Deleted Containers:/);
  assert.equal(ok(['ps', '-a', '--format', '{{.Names}}']), 'survivor\n');
});

test('restart policies across a berthd restart: exits while it is down and after it is back restart; a user\'s stop holds for unless-stopped, not for always', { skip: !dockerCli }, async () => {
  ok(['run', '-d', '--name', 'down-exit', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 1; exit 1']);
  ok(['run', '-d', '--name', 'later-exit', '--restart', 'on-failure', 'busybox', 'sh', '-c', 'sleep 8; exit 2']);
  ok(['run', '-d', '--name', 'kept-down', '--restart', 'unless-stopped', 'busybox', 'sleep', '300']);
  ok(['run', '-d', '--name', 'comes-back', '--restart', 'always', 'busybox', 'sleep', '300']);
  ok(['stop', '-t', '0', 'kept-down', 'comes-back']);
  await daemon.shutdown();
  await new Promise((r) => setTimeout(r, 2000));
  await daemon.restart();
  const state = (name: string) => ok(['inspect', '-f', '{{.RestartCount}} {{.State.Running}}', name]).trim().split(' ');
  const until = async (name: string, pred: (count: number, running: boolean) => boolean) => {
    let s = state(name);
    for (let i = 0; i < 150 && !pred(Number(s[0]), s[1] === 'true'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = state(name);
    }
    return s;
  };
  const downExit = await until('down-exit', (n) => n >= 1);
  assert.ok(Number(downExit[0]) >= 1, `the exit while berthd was down was restarted: ${downExit}`);
  const laterExit = await until('later-exit', (n) => n >= 1);
  assert.equal(laterExit[0], '1', 'the exit after berthd came back was restarted (on-failure)');
  assert.equal((await until('comes-back', (_, running) => running))[1], 'true', 'always: started again with the daemon');
  assert.deepEqual(state('kept-down'), ['0', 'false'], 'unless-stopped: a user\'s stop holds');
  ok(['rm', '-f', 'down-exit', 'later-exit', 'kept-down', 'comes-back']);
});

test('stopping a container while its restart is backing off cancels the restart', { skip: !dockerCli }, async () => {
  ok(['run', '-d', '--name', 'crashy', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1']);
  // From the 4th restart on, the back-off (1.6 s and more) leaves it `restarting` long enough.
  let s = '';
  for (let i = 0; i < 200 && !/^([4-9]|\d\d) restarting$/.test(s); i++) {
    s = ok(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'crashy']).trim();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(s, /restarting$/);
  assert.equal(ok(['stop', 'crashy']), 'crashy\n');
  const count = s.split(' ')[0];
  await new Promise((r) => setTimeout(r, 3500));
  assert.equal(ok(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'crashy']), `${count} exited\n`);
  ok(['rm', 'crashy']);
});
