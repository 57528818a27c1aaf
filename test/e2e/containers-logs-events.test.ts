// What happened when: `logs --since/--until` and container `/events` with since, until and filters,
// through dockerode (the API's own parameters), the docker CLI and the berth CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import Docker from 'dockerode';
import { importBusyboxImage } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;
let docker: Docker;
/** The three lines of the `talker` container and the RFC 3339 time of each, from `logs -t`. */
const stamps: string[] = [];

before(async () => {
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
  await importBusyboxImage(daemon.socket, 'busybox:latest');
  const c = await docker.createContainer({ Image: 'busybox', name: 'talker', Cmd: ['sh', '-c', 'echo one; sleep 1.2; echo two; sleep 1.2; echo three'] });
  await c.start();
  await c.wait();
  const text = demux((await c.logs({ stdout: true, stderr: true, timestamps: true })) as unknown as Buffer);
  for (const line of text.split('\n').filter(Boolean)) stamps.push(line.split(' ')[0]!);
  assert.equal(stamps.length, 3, text);
});
after(async () => {
  for (const c of await docker.listContainers({ all: true }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  await daemon?.stop();
});

function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length; i += 8 + buf.readUInt32BE(i + 4)) out += buf.subarray(i + 8, i + 8 + buf.readUInt32BE(i + 4)).toString();
  return out;
}

/** RFC 3339 with nanoseconds as Unix seconds with a 9-digit fraction, as the docker CLI sends it. */
function unixNano(rfc: string): string {
  const m = /^(.*?)\.(\d+)Z$/.exec(rfc)!;
  return `${Date.parse(m[1] + 'Z') / 1000}.${m[2]!.padEnd(9, '0')}`;
}

const env = () => ({ ...process.env, DOCKER_HOST: daemon.host, BERTH_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' });
function run(bin: string, args: string[]) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: env(), timeout: 30_000 });
  assert.equal(r.status, 0, `${bin} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout + r.stderr;
}

test('logs since/until over the API select lines by their own timestamps, inclusive', async () => {
  const c = docker.getContainer('talker');
  const logs = async (opts: Record<string, unknown>) => demux((await c.logs({ stdout: true, stderr: true, ...opts })) as unknown as Buffer);
  assert.equal(await logs({ since: unixNano(stamps[1]!) }), 'two\nthree\n');
  assert.equal(await logs({ until: unixNano(stamps[1]!) }), 'one\ntwo\n');
  assert.equal(await logs({ since: unixNano(stamps[1]!), until: unixNano(stamps[1]!) }), 'two\n');
  assert.equal(await logs({ since: stamps[2] }), 'three\n', 'RFC 3339 as the API gets it from other clients');
  assert.equal(await logs({ since: unixNano(stamps[1]!), stdout: false }), '');
});

for (const [who, bin] of [['docker CLI', dockerCli], ['berth CLI', berthBin]] as const) {
  test(`${who}: logs --since/--until with RFC 3339, Unix and relative times`, { skip: !bin }, () => {
    assert.equal(run(bin!, ['logs', '--since', stamps[1]!, 'talker']), 'two\nthree\n');
    assert.equal(run(bin!, ['logs', '--until', stamps[1]!, 'talker']), 'one\ntwo\n');
    assert.equal(run(bin!, ['logs', '--since', unixNano(stamps[2]!), 'talker']), 'three\n');
    assert.equal(run(bin!, ['logs', '--since', '10m', 'talker']), 'one\ntwo\nthree\n');
    assert.equal(run(bin!, ['logs', '--until', '10m', 'talker']), '', 'until ten minutes ago: nothing yet');
    assert.equal(run(bin!, ['logs', '-t', '--since', stamps[2]!, 'talker']), `${stamps[2]} three\n`);
  });
}

test('events: since/until replay a window; filters by container, event, label, type and image', async () => {
  const since = (Date.now() / 1000).toFixed(3);
  const labelled = await docker.createContainer({ Image: 'busybox', name: 'ev-labelled', Labels: { team: 'blue' }, Cmd: ['true'] });
  await labelled.start();
  await labelled.wait();
  const plain = await docker.createContainer({ Image: 'busybox', name: 'ev-plain', Cmd: ['sh', '-c', 'exit 3'] });
  await plain.start();
  await plain.wait();
  await plain.remove();
  await new Promise((r) => setTimeout(r, 1200));
  const until = (Date.now() / 1000).toFixed(3);
  let later = await docker.createContainer({ Image: 'busybox', name: 'ev-after-window', Cmd: ['true'] });

  type Ev = { Type: string; Action: string; Actor: { Attributes: Record<string, string> } };
  const events = async (filters: Record<string, string[]>): Promise<string[]> => {
    const stream = (await docker.getEvents({ since: Number(since), until: Number(until), filters } as never)) as unknown as NodeJS.ReadableStream;
    const text = await new Promise<string>((resolve) => {
      let t = '';
      stream.on('data', (d: Buffer) => (t += d));
      stream.on('end', () => resolve(t));
    });
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev).filter((e) => e.Type === 'container').map((e) => `${e.Actor.Attributes['name']} ${e.Action}`);
  };
  const all = await events({ type: ['container'] });
  assert.deepEqual(all.filter((e) => e.startsWith('ev-labelled')), ['ev-labelled create', 'ev-labelled start', 'ev-labelled die']);
  assert.deepEqual(all.filter((e) => e.startsWith('ev-plain')), ['ev-plain create', 'ev-plain start', 'ev-plain die', 'ev-plain destroy']);
  assert.ok(!all.some((e) => e.startsWith('ev-after-window')), 'nothing after until');
  assert.ok(!all.some((e) => e.startsWith('talker')), 'nothing before since');
  assert.deepEqual(await events({ container: ['ev-plain'], event: ['die'] }), ['ev-plain die']);
  assert.deepEqual(await events({ label: ['team=blue'] }), ['ev-labelled create', 'ev-labelled start', 'ev-labelled die']);
  assert.deepEqual(await events({ image: ['busybox'], event: ['destroy'] }), ['ev-plain destroy']);
  assert.deepEqual(await events({ type: ['image'] }), []);

  if (dockerCli) {
    const cliEvents = (args: string[]) => run(dockerCli!, ['events', '--since', since, '--until', until, '--format', '{{.Actor.Attributes.name}} {{.Status}} {{.Actor.Attributes.exitCode}}', ...args]);
    assert.equal(cliEvents(['--filter', 'container=ev-plain', '--filter', 'event=die']), 'ev-plain die 3\n');
    assert.equal(cliEvents(['--filter', 'label=team=blue', '--filter', 'event=start', '--filter', 'type=container']), 'ev-labelled start <no value>\n', 'Go templates show a missing key as docker does');
    // Relative times: ten minutes ago to two seconds ago holds these creates, not a fresh one's.
    // (the docker CLI sends relative times in whole seconds)
    await new Promise((r) => setTimeout(r, 3500));
    await later.remove();
    later = await docker.createContainer({ Image: 'busybox', name: 'ev-fresh', Cmd: ['true'] });
    const rel = run(dockerCli, ['events', '--since', '10m', '--until', '2s', '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}']);
    assert.equal(rel, 'talker\nev-labelled\nev-plain\nev-after-window\n');
  }
  await later.remove();
});
