// Image commands against a real berthd, through dockerode and the real docker CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { busyboxTar } from '../helpers/busybox.js';
import { dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;
let docker: Docker;

before(async () => {
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
});
after(async () => {
  await daemon?.stop();
});

async function importBusybox(repo: string, tag = 'latest'): Promise<string> {
  const stream = (await docker.importImage(Readable.from([busyboxTar()]) as unknown as NodeJS.ReadableStream, { repo, tag, changes: ['CMD ["sh"]'] } as never)) as unknown as NodeJS.ReadableStream;
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    stream.on('data', (d: Buffer) => (text += d));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
  const last = out.trim().split('\n').map((l) => JSON.parse(l)).pop();
  return last.status as string;
}

test('dockerode: ping, version, info', async () => {
  assert.equal(String(await docker.ping()), 'OK');
  const v = await docker.version();
  assert.equal(v.ApiVersion, '1.47');
  const info = await docker.info();
  assert.equal(info.Driver, 'overlay2');
  assert.equal(info.DockerRootDir, daemon.dataRoot);
});

test('dockerode: import, list, inspect, history, tag, remove', async () => {
  const id = await importBusybox('dockerode-test', 'v1');
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const list = await docker.listImages({ filters: { reference: ['dockerode-test'] } });
  assert.equal(list.length, 1);
  assert.deepEqual(list[0]!.RepoTags, ['dockerode-test:v1']);
  const img = await docker.getImage('dockerode-test:v1').inspect();
  assert.equal(img.Id, id);
  assert.deepEqual(img.Config.Cmd, ['sh']);
  const history = await docker.getImage(id).history();
  assert.equal(history[0].Id, id);
  await docker.getImage(id).tag({ repo: 'dockerode-test', tag: 'v2' });
  const removed = await docker.getImage('dockerode-test:v2').remove();
  assert.deepEqual(removed, [{ Untagged: 'dockerode-test:v2' }]);
  await assert.rejects(docker.getImage('nope:nope').inspect(), (err: { statusCode?: number; message: string }) => err.statusCode === 404 && /No such image: nope:nope/.test(err.message));
});

test('docker CLI: the seeds\' image commands work against berthd unchanged', { skip: !dockerCli }, () => {
  const env = { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '/docker-config' };
  const docker = (...args: string[]) => execFileSync(dockerCli!, args, { env, encoding: 'utf8' });
  const id = execFileSync(dockerCli!, ['import', '-c', 'ENV GREETING=hello', '-m', 'busybox from the host', '-', 'cli-test:1'], { env, input: busyboxTar(), encoding: 'utf8' }).trim();
  assert.match(id, /^sha256:/);
  assert.match(docker('images', 'cli-test'), /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\ncli-test +1 +[a-f0-9]{12} /);
  assert.equal(docker('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', 'cli-test'), 'cli-test:1\n');
  assert.equal(docker('inspect', '--format', '{{json .Config.Env}}', 'cli-test:1').trim(), '["GREETING=hello"]');
  assert.match(docker('history', 'cli-test:1'), /busybox from the host/);
  docker('tag', 'cli-test:1', 'cli-test:2');
  // Re-tag 2 to another image: the old one keeps tag 1, so it is not dangling.
  assert.equal(docker('rmi', 'cli-test:2'), 'Untagged: cli-test:2\n');
  const saved = execFileSync(dockerCli!, ['save', 'cli-test:1'], { env, maxBuffer: 1 << 26 });
  const rm = docker('rmi', 'cli-test:1');
  assert.match(rm, /^Untagged: cli-test:1\nDeleted: sha256:/);
  const loaded = execFileSync(dockerCli!, ['load'], { env, input: saved, encoding: 'utf8' });
  assert.equal(loaded.trim(), 'Loaded image: cli-test:1');
  assert.equal(docker('inspect', '--format', '{{.Id}}', 'cli-test:1').trim(), id);
  const missing = spawnSync(dockerCli!, ['rmi', 'no-such-image'], { env, encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /Error response from daemon: No such image: no-such-image/);
});

test('events: image actions are streamed', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await importBusybox('events-test');
  await docker.getImage('events-test').tag({ repo: 'events-test', tag: 'two' });
  const stream = await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1, filters: { type: ['image'] } });
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk;
  const actions = text.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.Actor.Attributes.name?.startsWith('events-test')).map((e) => e.Action);
  assert.deepEqual(actions, ['tag', 'tag']);
});
