// The flags of the container commands, each as a user types it, through the docker CLI and the
// berth CLI (same grammar) against a real berthd: Docker's 12 CMD/ENTRYPOINT cases, run/create
// flags, start -ai, restart, stop signals and timeouts, kill -s, ps flags and filters, logs -f
// --tail -t, and custom detach keys.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importBusyboxImage } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { haveScript, openTerminal } from '../helpers/terminal.js';

let daemon: TestDaemon;
let tmp: string;

before(async () => {
  daemon = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-flags-'));
  await importBusyboxImage(daemon.socket, 'busybox:latest');
});
after(async () => {
  for (const id of run(berthBin, ['ps', '-aq']).stdout.split('\n').filter(Boolean)) run(berthBin, ['rm', '-f', id]);
  rmSync(tmp, { recursive: true, force: true });
  await daemon?.stop();
});

const env = () => ({ ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: path.join(tmp, 'docker-config') });
function run(bin: string, args: string[], input?: string) {
  const r = spawnSync(bin, args, { input, encoding: 'utf8', env: env(), timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** Both clients, or only berth's when the docker CLI is not installed. */
const clients = [...(dockerCli ? [['docker', dockerCli] as const] : []), ['berth', berthBin] as const];

test('the 12 CMD/ENTRYPOINT cases of Docker\'s table, and run-time overrides', async () => {
  const entrypoints = { none: null, shell: 'ENTRYPOINT exec_entry p1_entry', exec: 'ENTRYPOINT ["exec_entry", "p1_entry"]' } as const;
  const cmds = { none: null, exec: 'CMD ["exec_cmd", "p1_cmd"]', params: 'CMD ["p1_cmd", "p2_cmd"]', shell: 'CMD exec_cmd p1_cmd' } as const;
  // Docker's result for each (CMD row, ENTRYPOINT column); undefined: an error. With a shell-form
  // ENTRYPOINT the table shows `/bin/sh -c 'exec_entry p1_entry'`: the CMD is still appended (as
  // dockerd does), and sh takes it as $0 $1 and ignores it.
  const sh = ['/bin/sh', '-c', 'exec_entry p1_entry'];
  const table: Record<keyof typeof cmds, Record<keyof typeof entrypoints, string[] | undefined>> = {
    none: { none: undefined, shell: sh, exec: ['exec_entry', 'p1_entry'] },
    exec: { none: ['exec_cmd', 'p1_cmd'], shell: [...sh, 'exec_cmd', 'p1_cmd'], exec: ['exec_entry', 'p1_entry', 'exec_cmd', 'p1_cmd'] },
    params: { none: ['p1_cmd', 'p2_cmd'], shell: [...sh, 'p1_cmd', 'p2_cmd'], exec: ['exec_entry', 'p1_entry', 'p1_cmd', 'p2_cmd'] },
    shell: { none: ['/bin/sh', '-c', 'exec_cmd p1_cmd'], shell: [...sh, '/bin/sh', '-c', 'exec_cmd p1_cmd'], exec: ['exec_entry', 'p1_entry', '/bin/sh', '-c', 'exec_cmd p1_cmd'] },
  };
  const cli = clients[0]![1];
  for (const [cmdName, cmd] of Object.entries(cmds)) {
    for (const [epName, ep] of Object.entries(entrypoints)) {
      const image = `table-${cmdName}-${epName}`;
      // import's --change takes Dockerfile syntax: the shell forms get wrapped as a build does.
      const changes = ([ep, cmd] as Array<string | null>).filter((c): c is string => !!c).map((c) => (/^(ENTRYPOINT|CMD) [^[]/.test(c) ? c.replace(/^(\w+) (.*)$/, '$1 ["/bin/sh", "-c", "$2"]') : c));
      await importBusyboxImage(daemon.socket, image, changes);
      const want = table[cmdName as keyof typeof cmds][epName as keyof typeof entrypoints];
      const created = run(cli, ['create', image]);
      if (!want) {
        assert.notEqual(created.status, 0, `${image}: ${created.stdout}`);
        assert.match(created.stderr, /no command specified/i);
        continue;
      }
      assert.equal(created.status, 0, `${image}: ${created.stderr}`);
      const id = created.stdout.trim();
      const [exe, args] = run(cli, ['inspect', '-f', '{{json .Path}}\t{{json .Args}}', id]).stdout.trim().split('\t');
      const argv = [JSON.parse(exe!), ...(JSON.parse(args!) ?? [])];
      assert.deepEqual(argv, want, `CMD ${cmdName}, ENTRYPOINT ${epName}`);
      run(cli, ['rm', id]);
    }
  }
  // What runs: an exec-form ENTRYPOINT gets `run IMAGE args` as its arguments; --entrypoint drops CMD.
  await importBusyboxImage(daemon.socket, 'echoer', ['ENTRYPOINT ["echo", "E"]', 'CMD ["C"]']);
  for (const [, bin] of clients) {
    assert.equal(run(bin, ['run', '--rm', 'echoer']).stdout, 'E C\n');
    assert.equal(run(bin, ['run', '--rm', 'echoer', 'x', 'y']).stdout, 'E x y\n');
    assert.equal(run(bin, ['run', '--rm', '--entrypoint', 'printf', 'echoer']).status, 1, 'printf without its argument: CMD was dropped');
    assert.equal(run(bin, ['run', '--rm', '--entrypoint', 'printf', 'echoer', '%s-', 'a']).stdout, 'a-');
  }
});

test('run flags: --env-file, -e, --entrypoint, --hostname, --label, --read-only, --tmpfs, --cap-drop, --cpus, --network none|host', () => {
  const envFile = path.join(tmp, 'env.list');
  writeFileSync(envFile, '# a comment\nFROM_FILE=yes\nOVERRIDDEN=file\n');
  const script = [
    'echo "$FROM_FILE $OVERRIDDEN $(hostname)"',
    'touch /rootfile 2>/dev/null && echo writable || echo read-only',
    'touch /scratch/f && echo tmpfs-ok',
    // CAP_NET_RAW is bit 13 of the effective set.
    'echo $(( (0x$(grep CapEff /proc/self/status | cut -f2) >> 13) & 1 ))',
    'ls /sys/class/net | tr "\\n" " "',
  ].join('; ');
  for (const [who, bin] of clients) {
    const name = `flags-${who}`;
    const r = run(bin, ['run', '--name', name, '--env-file', envFile, '-e', 'OVERRIDDEN=flag', '--entrypoint', 'sh', '--hostname', 'h-' + who, '--label', 'role=probe',
      '--read-only', '--tmpfs', '/scratch', '--cap-drop', 'NET_RAW', '--cpus', '0.5', '--network', 'none', 'busybox', '-c', script]);
    assert.equal(r.status, 0, `${who}: ${r.stderr}`);
    assert.equal(r.stdout, `yes flag h-${who}\nread-only\ntmpfs-ok\n0\nlo `, who);
    assert.equal(run(bin, ['inspect', '-f', '{{.HostConfig.NanoCpus}} {{index .Config.Labels "role"}} {{.HostConfig.NetworkMode}}', name]).stdout, '500000000 probe none\n');
    assert.equal(run(bin, ['rm', name]).status, 0);
    // Other tests add and remove veths meanwhile: the container must see what the host had both
    // before and after, and nothing the host never had.
    const hostBefore = readdirSync('/sys/class/net');
    const seen = run(bin, ['run', '--rm', '--network', 'host', 'busybox', 'ls', '/sys/class/net']).stdout.split('\n').filter(Boolean);
    const hostAfter = readdirSync('/sys/class/net');
    for (const name of hostBefore.filter((n) => hostAfter.includes(n))) assert.ok(seen.includes(name), `${who}: --network host shows the host's ${name}`);
    for (const name of seen) assert.ok(hostBefore.includes(name) || hostAfter.includes(name), `${who}: ${name} is not the host's`);
  }
});

test('stop honours --stop-signal and --stop-timeout; kill -s; restart; start -ai', async () => {
  for (const [who, bin] of clients) {
    const trapper = `trapper-${who}`;
    run(bin, ['run', '-d', '--name', trapper, '--stop-signal', 'USR1', 'busybox', 'sh', '-c', 'trap "exit 7" USR1; while true; do sleep 0.1; done']);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    assert.equal(run(bin, ['stop', trapper]).status, 0);
    assert.ok(Date.now() - t0 < 5000, 'the stop signal ended it without waiting for SIGKILL');
    assert.equal(run(bin, ['inspect', '-f', '{{.State.ExitCode}}', trapper]).stdout, '7\n');
    // sleep as PID 1 ignores SIGTERM: --stop-timeout 1 means SIGKILL after 1 s, not 10.
    const sleeper = `sleeper-${who}`;
    run(bin, ['run', '-d', '--name', sleeper, '--stop-timeout', '1', 'busybox', 'sleep', '300']);
    const t1 = Date.now();
    run(bin, ['stop', sleeper]);
    const took = Date.now() - t1;
    assert.ok(took >= 900 && took < 6000, `stop took ${took} ms`);
    assert.equal(run(bin, ['inspect', '-f', '{{.State.ExitCode}}', sleeper]).stdout, '137\n');
    // restart: a new process (a new StartedAt), still the same container.
    const before = run(bin, ['inspect', '-f', '{{.State.StartedAt}}', sleeper]).stdout;
    assert.equal(run(bin, ['restart', '-t', '0', sleeper]).stdout, `${sleeper}\n`);
    assert.equal(run(bin, ['inspect', '-f', '{{.State.Running}}', sleeper]).stdout, 'true\n');
    assert.notEqual(run(bin, ['inspect', '-f', '{{.State.StartedAt}}', sleeper]).stdout, before);
    assert.equal(run(bin, ['kill', '-s', 'TERM', sleeper]).status, 0);
    assert.equal(run(bin, ['inspect', '-f', '{{.State.Running}}', sleeper]).stdout, 'true\n', 'PID 1 ignores an unhandled SIGTERM');
    assert.equal(run(bin, ['kill', '-s', 'SIGKILL', sleeper]).stdout, `${sleeper}\n`);
    assert.equal(run(bin, ['wait', sleeper]).stdout, '137\n');
    const upper = `upper-${who}`;
    run(bin, ['create', '-i', '--name', upper, 'busybox', 'tr', 'a-z', 'A-Z']);
    const ai = run(bin, ['start', '-ai', upper], 'abc\n');
    assert.equal(ai.stdout, 'ABC\n', `${who} start -ai: ${ai.stderr}`);
    assert.equal(ai.status, 0);
    assert.equal(run(bin, ['rm', '-v', trapper, sleeper, upper]).status, 0);
  }
});

test('ps: -a, -q, -n, -l, -s, --no-trunc and the status, exited, ancestor, id and label filters', async () => {
  await importBusyboxImage(daemon.socket, 'other:1');
  const cli = clients[0]![1];
  const id = (args: string[]) => run(cli, args).stdout.trim();
  run(cli, ['run', '--name', 'ps-three', '--label', 'tier=db', 'busybox', 'sh', '-c', 'echo 12345 > /f; exit 3']);
  const three = id(['inspect', '-f', '{{.Id}}', 'ps-three']);
  const zero = id(['run', '-d', '--name', 'ps-zero', 'other:1', 'true']);
  run(cli, ['wait', 'ps-zero']);
  const up = id(['run', '-d', '--name', 'ps-up', '--label', 'tier=web', 'busybox', 'sleep', '300']);
  const made = id(['create', '--name', 'ps-made', 'busybox', 'true']);
  for (const [who, bin] of clients) {
    const ps = (...args: string[]) => run(bin, ['ps', ...args]).stdout;
    assert.equal(ps('--format', '{{.Names}}'), 'ps-up\n', who);
    assert.equal(ps('-a', '--format', '{{.Names}}'), 'ps-made\nps-up\nps-zero\nps-three\n', who);
    assert.equal(ps('-n', '2', '--format', '{{.Names}}'), 'ps-made\nps-up\n', `${who} -n 2`);
    assert.equal(ps('-l', '-q'), `${made.slice(0, 12)}\n`, `${who} -l`);
    assert.equal(ps('-q', '--no-trunc'), `${up}\n`);
    assert.equal(ps('-a', '-f', 'status=exited', '--format', '{{.Names}}'), 'ps-zero\nps-three\n');
    assert.equal(ps('-a', '-f', 'status=created', '--format', '{{.Names}}'), 'ps-made\n');
    assert.equal(ps('-a', '-f', 'exited=3', '--format', '{{.Names}}'), 'ps-three\n');
    assert.equal(ps('-a', '-f', 'ancestor=other:1', '--format', '{{.Names}}'), 'ps-zero\n');
    assert.equal(ps('-a', '-f', `id=${zero.slice(0, 10)}`, '--format', '{{.Names}}'), 'ps-zero\n');
    assert.equal(ps('-a', '-f', 'label=tier', '--format', '{{.Names}} {{.Label "tier"}}'), 'ps-up web\nps-three db\n');
    assert.equal(ps('-a', '-f', 'label=tier=db', '-q'), `${three.slice(0, 12)}\n`);
    assert.match(ps('-a', '-s', '-f', 'name=ps-three', '--format', '{{.Size}}'), /^\d+(\.\d+)?B \(virtual \d+(\.\d+)?[kM]B\)\n$/, `${who} -s`);
    assert.match(ps('-a', '-s', '-f', 'name=ps-three'), /SIZE/);
    assert.equal(run(bin, ['ps', '-f', 'bogus=1']).status, 1);
  }
  run(cli, ['rm', '-f', 'ps-three', 'ps-zero', 'ps-up', 'ps-made']);
});

test('logs: --tail, -t and -f (which ends when the container does)', async () => {
  for (const [who, bin] of clients) {
    const name = `talk-${who}`;
    run(bin, ['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'for i in 1 2 3 4; do echo line$i; done; sleep 1.5; echo late; echo err >&2']);
    // -f started now sees what was written and what comes later, and returns at the exit.
    const follow = spawn(bin, ['logs', '-f', name], { env: env() });
    let out = '';
    let err = '';
    follow.stdout.on('data', (d) => (out += d));
    follow.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => follow.on('exit', r));
    assert.equal(code, 0);
    assert.equal(out, 'line1\nline2\nline3\nline4\nlate\n', who);
    assert.equal(err, 'err\n');
    assert.equal(run(bin, ['logs', '--tail', '2', name]).stdout, 'late\n', `${who} --tail 2 counts stdout and stderr lines`);
    assert.equal(run(bin, ['logs', '--tail', '0', name]).stdout, '');
    assert.match(run(bin, ['logs', '-t', '--tail', '3', name]).stdout, /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line4\n)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z late\n$/);
    run(bin, ['rm', name]);
  }
});

test('--detach-keys: a custom sequence detaches run -it and attach; the default keys then pass through', { skip: !dockerCli || !haveScript }, async () => {
  const term = openTerminal(`${dockerCli} run -it --name keyed --detach-keys ctrl-x,x busybox sh`, env());
  try {
    await term.waitFor(/\/ # /);
    term.type('\x18x');
    assert.equal(await term.exited, 0, term.output());
    assert.equal(run(dockerCli!, ['inspect', '-f', '{{.State.Running}}', 'keyed']).stdout, 'true\n');
    const again = openTerminal(`${dockerCli} attach --detach-keys ctrl-a,b keyed`, env());
    again.type('\x10\x11echo still-$((1+1))\r');
    await again.waitFor(/still-2/);
    again.type('\x01b');
    assert.equal(await again.exited, 1, again.output());
    assert.match(again.output(), /read escape sequence/, 'docker attach reports a detach as its error, exit 1');
    assert.equal(run(dockerCli!, ['inspect', '-f', '{{.State.Running}}', 'keyed']).stdout, 'true\n');
  } finally {
    term.kill();
    run(dockerCli!, ['rm', '-f', 'keyed']);
  }
});
