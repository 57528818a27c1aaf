// exec against a real berthd: through the docker CLI (pipes, a pty via script(1), detached) and
// dockerode (exit codes from exec inspect).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import Docker from 'dockerode';
import { importBusyboxImage } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { haveScript, runInTerminal } from '../helpers/terminal.js';

let daemon: TestDaemon;
let docker: Docker;
let container: Docker.Container;

before(async () => {
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
  await importBusyboxImage(daemon.socket, 'busybox:latest');
  container = await docker.createContainer({ Image: 'busybox', name: 'target', Cmd: ['sleep', '300'] });
  await container.start();
});
after(async () => {
  await container?.remove({ force: true }).catch(() => {});
  await daemon?.stop();
});

const env = () => ({ ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' });
function cli(args: string[], input?: string) {
  return spawnSync(dockerCli!, args, { input, encoding: 'utf8', env: env(), timeout: 30_000 });
}

test('docker CLI exec: streams apart, exit codes, -i, -u, -w, -e, -d', { skip: !dockerCli }, () => {
  const r = cli(['exec', 'target', 'sh', '-c', 'echo out; echo err >&2; exit 5']);
  assert.equal(r.status, 5);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  const piped = cli(['exec', '-i', 'target', 'tr', 'a-z', 'A-Z'], 'piped in\n');
  assert.equal(piped.stdout, 'PIPED IN\n');
  for (let i = 0; i < 20; i++) assert.equal(cli(['exec', '-i', 'target', 'cat'], `hi ${i}\n`).stdout, `hi ${i}\n`, 'stdin to a short-lived exec always arrives');
  const missing = cli(['exec', 'target', 'no-such-cmd']);
  assert.equal(missing.status, 127);
  assert.match(missing.stderr, /executable file not found/);
  const who = cli(['exec', '-u', '1000:1000', '-w', '/tmp', '-e', 'X=y', 'target', 'sh', '-c', 'echo $(id -u):$(id -g) $(pwd) $X']);
  assert.equal(who.stdout, '1000:1000 /tmp y\n');
  assert.equal(cli(['exec', '-d', 'target', 'sh', '-c', 'echo detached > /marker']).status, 0);
  let seen = '';
  for (let i = 0; i < 50 && seen !== 'detached\n'; i++) seen = cli(['exec', 'target', 'cat', '/marker']).stdout;
  assert.equal(seen, 'detached\n');
});

test('exec -it: a real terminal of the client\'s size from the first instruction, nothing stray in it, and the exit code', { skip: !dockerCli || !haveScript }, async () => {
  // Looped: runc used to size the terminal only after the process started, so `stty size` now
  // and then read 0x0 (busybox then prints a stale errno: "No child processes").
  for (let i = 0; i < 5; i++) {
    const r = await runInTerminal(`stty cols 91 rows 27; ${dockerCli} exec -it target sh -c 'tty; stty size; exit 3'`, env());
    assert.equal(r.status, 3, r.output);
    // (\r* : the docker CLI makes its terminal raw only once the exec runs, so early output may
    // still get the outer terminal's own \r.)
    assert.match(r.output, /^\/dev\/pts\/\d+\r*\n27 91\r*\n$/);
  }
  const berth = await runInTerminal(`stty cols 66 rows 19; ${berthBin} exec -it target sh -c 'stty size; exit 4'`, { ...process.env, BERTH_HOST: daemon.host });
  assert.equal(berth.status, 4, berth.output);
  assert.match(berth.output, /^19 66\r\n$/);
});

test('dockerode exec: output, exit code in inspect, a stopped container refuses', async () => {
  const exec = await container.exec({ Cmd: ['sh', '-c', 'echo via-api; exit 9'], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => resolve());
  });
  const all = Buffer.concat(chunks);
  assert.equal(all[0], 1, 'stdout frame');
  assert.equal(all.subarray(8).toString(), 'via-api\n');
  const info = await exec.inspect();
  assert.equal(info.ExitCode, 9);
  assert.equal(info.Running, false);
  const stopped = await docker.createContainer({ Image: 'busybox', Cmd: ['true'] });
  await assert.rejects(stopped.exec({ Cmd: ['true'] }), (err: { statusCode?: number }) => err.statusCode === 409);
  await stopped.remove();
});
