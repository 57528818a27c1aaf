// The berth CLI's container commands against a real berthd with busybox; `ps` output compared
// byte for byte with the docker CLI's against the same daemon.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';

let daemon: TestDaemon;
let tmp: string;

before(async () => {
  daemon = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-cli-ctr-'));
  const r = run(berthBin, ['import', '-c', 'CMD ["sh"]', '-', 'busybox:latest'], busyboxTar());
  assert.equal(r.code, 0, r.err);
});
after(async () => {
  if (process.env['KEEP_LOG']) console.error(daemon?.log());
  await daemon?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const run = (bin: string, args: string[], input?: Buffer | string) => runCli(bin, args, { host: daemon.host, config: tmp, input, timeout: 60_000 });
const berth = (...args: string[]) => run(berthBin, args);
const haveDocker = !!dockerCli && existsSync(dockerCli);

test('run --rm prints the output and exits 0; exit codes and stderr propagate', () => {
  const hi = berth('run', '--rm', 'busybox', 'echo', 'hi');
  assert.equal(hi.code, 0, hi.err);
  assert.equal(hi.out, 'hi\n');
  const three = berth('run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
  assert.equal(three.code, 3);
  assert.equal(three.out, 'out\n');
  assert.equal(three.err, 'err\n');
});

test('a command that cannot be found exits 127 with docker\'s message shape; a missing image 125', () => {
  const r = berth('run', '--rm', 'busybox', 'no-such-command');
  assert.equal(r.code, 127);
  assert.match(r.err, /^berth: Error response from daemon: .*no-such-command.*\n\nRun 'berth run --help' for more information\n$/s);
  const missing = berth('run', '--pull', 'never', 'no/such-image:1');
  assert.equal(missing.code, 125);
  assert.match(missing.err, /^berth: Error response from daemon: .*No such image.*\n\nRun 'berth run --help' for more information\n$/s);
  if (haveDocker) {
    const d = run(dockerCli!, ['run', '--pull', 'never', 'no/such-image:1']);
    assert.equal(d.code, 125);
    assert.equal(missing.err, d.err.replace(/docker/g, 'berth'));
  }
});

test('unknown flags are usage errors with exit 125', () => {
  const r = berth('run', '--bogus', 'busybox');
  assert.equal(r.code, 125);
  assert.equal(r.err, "unknown flag: --bogus\nSee 'berth run --help'.\n");
});

test('run -d, ps (identical to docker\'s), logs, stop, rm', async () => {
  const d = berth('run', '-d', '--name', 'cli-bg', '-l', 'role=bg', 'busybox', 'sh', '-c', 'echo started; echo warn >&2; while true; do sleep 1; done');
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /^[a-f0-9]{64}\n$/);
  const id = d.out.trim();
  const done = berth('create', '--name', 'cli-created', 'busybox', 'true');
  assert.equal(done.code, 0, done.err);
  try {
    assert.equal(berth('ps', '-q').out, `${id.slice(0, 12)}\n`);
    assert.equal(berth('ps', '-q', '--no-trunc', '-f', 'name=cli-bg').out, `${id}\n`);
    assert.equal(berth('ps', '--format', '{{.Names}} {{.Image}} {{.State}} {{.Labels}}').out, 'cli-bg busybox running role=bg\n');
    assert.match(berth('ps', '-a', '--format', '{{.Names}}').out, /cli-created\ncli-bg\n/);
    assert.equal(berth('ps', '-l', '--format', '{{.Names}}').out, 'cli-created\n');
    if (haveDocker) {
      for (const args of [['ps'], ['ps', '-a'], ['ps', '--no-trunc'], ['ps', '-a', '--format', 'table {{.ID}}\t{{.Names}}\t{{.Command}}'], ['ps', '-a', '--format', 'json'], ['ps', '-q', '-a'], ['container', 'ls', '-f', 'label=role=bg']]) {
        // Relative times ("1 second ago") may tick between the two calls: a few tries settle it.
        let ours = berth(...args);
        let theirs = run(dockerCli!, args);
        for (let i = 0; i < 3 && ours.out !== theirs.out; i++) {
          ours = berth(...args);
          theirs = run(dockerCli!, args);
        }
        assert.equal(ours.out, theirs.out, `berth ${args.join(' ')}`);
        assert.equal(ours.code, theirs.code);
      }
    }
    // logs: stdout to stdout, stderr to stderr.
    let logs = berth('logs', 'cli-bg');
    for (let i = 0; i < 50 && logs.out !== 'started\n'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = berth('logs', 'cli-bg');
    }
    assert.equal(logs.out, 'started\n');
    assert.equal(logs.err, 'warn\n');
    assert.equal(berth('stop', '-t', '1', 'cli-bg').out, 'cli-bg\n');
    assert.equal(berth('ps', '-q').out, '');
    assert.equal(berth('wait', 'cli-bg').out, '137\n');
  } finally {
    const rm = berth('rm', '-f', 'cli-bg', 'cli-created', 'no-such-ctr');
    assert.equal(rm.code, 1);
    assert.equal(rm.out, 'cli-bg\ncli-created\n');
    assert.match(rm.err, /^Error response from daemon: No such container: no-such-ctr\n$/);
  }
  assert.equal(berth('ps', '-a', '-q', '-f', 'name=cli-').out, '');
});

test('start -a attaches and returns the exit code; kill sends a signal', () => {
  const c = berth('create', 'busybox', 'sh', '-c', 'echo again; exit 4');
  assert.equal(c.code, 0, c.err);
  const id = c.out.trim();
  assert.equal(berth('inspect', '-f', '{{.State.Status}} {{json .Config.Cmd}}', id).out, 'created ["sh","-c","echo again; exit 4"]\n');
  assert.equal(berth('inspect', '-f', '{{json .Config.Cmd}}', 'busybox').out, '["sh"]\n');
  const missing = berth('inspect', 'no-such-object');
  assert.equal(missing.code, 1);
  assert.equal(missing.out, '[]\n');
  assert.equal(missing.err, 'Error: No such object: no-such-object\n');
  const s = berth('start', '-a', id);
  assert.equal(s.out, 'again\n');
  assert.equal(s.code, 4);
  assert.equal(berth('rm', id).code, 0);
  const k = berth('kill', 'no-such-ctr');
  assert.equal(k.code, 1);
});
