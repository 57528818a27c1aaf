// `berth build` flags and behaviours not covered elsewhere: --pull against a loopback registry,
// --network, --rm=false / --force-rm, --explain-cache, `# escape=`, no tag moved by a failed
// build (and the last good step runnable), intermediate images removed with their last user.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { getJson, importBusybox, makeContext } from '../helpers/build.js';
import { importBusyboxImage } from '../helpers/busybox.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { freePort } from '../helpers/distribution.js';

let d: TestDaemon;
let reg: TestRegistry;
let env: NodeJS.ProcessEnv;
const contexts: string[] = [];

before(async () => {
  [d, reg] = await Promise.all([startDaemon(), startRegistry()]);
  await importBusybox(d);
  env = { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: d.dataRoot + '/docker-config', DOCKER_BUILDKIT: '0' };
  delete env['SOURCE_DATE_EPOCH'];
});
after(async () => {
  for (const c of contexts) rmSync(c, { recursive: true, force: true });
  await reg?.stop();
  await d?.stop();
});

function ctxOf(files: Parameters<typeof makeContext>[0]): string {
  const c = makeContext(files);
  contexts.push(c);
  return c;
}

function berth(args: string[], input?: string) {
  return spawnSync(process.execPath, [berthBin, ...args], { env, encoding: 'utf8', input });
}

function docker(args: string[]) {
  return spawnSync(dockerCli!, args, { env, encoding: 'utf8' });
}

function ok(r: ReturnType<typeof berth>): string {
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  return r.stdout;
}

const allContainers = async () => ((await getJson(d, '/containers/json?all=1')).body as Array<{ Id: string }>).map((c) => c.Id);
const imageCount = async () => ((await getJson(d, '/images/json?all=1')).body as unknown[]).length;

test('--pull takes a newer base from the registry; without it the local base is used', async () => {
  const remote = `${reg.host}/base:latest`;
  await importBusyboxImage(d.socket, 'basev:1', ['CMD ["sh"]', 'LABEL v=1']);
  await importBusyboxImage(d.socket, 'basev:2', ['CMD ["sh"]', 'LABEL v=2']);
  // The registry has v2 under the name; the local copy of that name is v1.
  ok(berth(['tag', 'basev:2', remote]));
  ok(berth(['push', remote]));
  ok(berth(['tag', 'basev:1', remote]));
  const ctx = ctxOf({ Dockerfile: `FROM ${remote}\nLABEL built=yes\n` });
  ok(berth(['build', '-t', 'pulled:no', ctx]));
  assert.equal(ok(berth(['image', 'inspect', '-f', '{{.Config.Labels.v}}', 'pulled:no'])), '1\n');
  const pulled = ok(berth(['build', '--pull', '-t', 'pulled:yes', ctx]));
  assert.match(pulled, /Status: Downloaded newer image for|Pulling from/);
  assert.equal(ok(berth(['image', 'inspect', '-f', '{{.Config.Labels.v}}', 'pulled:yes'])), '2\n');
  // A base whose registry does not answer: fine from the local copy, an error with --pull.
  const unreachable = `127.0.0.1:${await freePort()}/gone:latest`;
  ok(berth(['tag', 'basev:1', unreachable]));
  const gone = ctxOf({ Dockerfile: `FROM ${unreachable}\nLABEL built=yes\n` });
  ok(berth(['build', gone]));
  const failed = berth(['build', '--pull', '-t', 'never-pulled', gone]);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /127\.0\.0\.1/);
  assert.equal(berth(['image', 'inspect', 'never-pulled']).status, 1);
});

test('--network none gives RUN only lo; the default network gives it eth0', () => {
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nRUN echo "nets: $(ls /sys/class/net | tr "\\n" " ")"\n' });
  assert.match(ok(berth(['build', '--no-cache', ctx])), /^nets: eth0 lo $/m);
  assert.match(ok(berth(['build', '--no-cache', '--network', 'none', ctx])), /^nets: lo $/m);
});

test('--rm=false keeps the RUN containers; --force-rm removes them even after a failure', async () => {
  const before = await allContainers();
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nRUN echo kept > /kept\n' });
  const out = ok(berth(['build', '--no-cache', '--rm=false', ctx]));
  assert.doesNotMatch(out, /Removed intermediate container/);
  const kept = (await allContainers()).filter((c) => !before.includes(c));
  assert.equal(kept.length, 1);
  assert.equal(out.match(/Running in ([0-9a-f]{12})/)![1], kept[0]!.slice(0, 12));
  ok(docker(['rm', kept[0]!]));
  const failing = ctxOf({ Dockerfile: 'FROM busybox\nRUN exit 4\n' });
  const r = berth(['build', '--force-rm', failing]);
  assert.equal(r.status, 4);
  assert.deepEqual(await allContainers(), before);
});

test('a failed build moves no tag, and the last good step runs as the state before the failure', async () => {
  const good = ctxOf({ Dockerfile: 'FROM busybox\nRUN echo v1 > /version\n' });
  ok(berth(['build', '-t', 'stays:1', good]));
  const id = ok(berth(['image', 'inspect', '-f', '{{.Id}}', 'stays:1']));
  const bad = ctxOf({ Dockerfile: 'FROM busybox\nRUN echo v2 > /version\nRUN cat /nope\n' });
  const r = berth(['build', '-t', 'stays:1', '-t', 'never:1', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /The command '\/bin\/sh -c cat \/nope' returned a non-zero code: 1/);
  assert.equal(ok(berth(['image', 'inspect', '-f', '{{.Id}}', 'stays:1'])), id);
  assert.equal(berth(['image', 'inspect', 'never:1']).status, 1);
  // The seeds' recipe: run the image of the last step that worked.
  const last = /Step 2\/3 : RUN echo v2 > \/version\n[\s\S]*? ---> ([0-9a-f]{12})\nStep 3\/3/.exec(r.stdout)![1]!;
  assert.equal(ok(berth(['run', '--rm', last, 'cat', '/version'])), 'v2\n');
  for (const c of await allContainers()) docker(['rm', '-f', c]);
});

test('intermediate images go away with the last image that needs them', async () => {
  const base = await imageCount();
  const a = ctxOf({ Dockerfile: 'FROM busybox\nRUN echo shared > /shared\nLABEL which=a\n' });
  const b = ctxOf({ Dockerfile: 'FROM busybox\nRUN echo shared > /shared\nLABEL which=b\n' });
  ok(berth(['build', '-t', 'inter:a', a]));
  assert.match(ok(berth(['build', '-t', 'inter:b', b])), /Step 2\/3 : RUN echo shared > \/shared\n ---> Using cache\n/);
  assert.equal(await imageCount(), base + 3); // the shared RUN step, and one LABEL step each
  const rmA = ok(berth(['rmi', 'inter:a']));
  assert.equal(rmA.match(/^Deleted: /gm)?.length, 1, rmA); // the shared parent stays for inter:b
  assert.equal(await imageCount(), base + 2);
  const rmB = ok(berth(['rmi', 'inter:b']));
  assert.equal(rmB.match(/^Deleted: /gm)?.length, 3, rmB); // its LABEL image, the RUN image and the RUN's layer
  assert.equal(await imageCount(), base);
});

test('# escape=` switches the escape character, through berth and the docker CLI', { skip: !dockerCli }, () => {
  const ctx = ctxOf({ Dockerfile: '# escape=`\nFROM busybox\nRUN echo one `\n    two > /joined && echo \'C:\\dir\\file\' > /path\n' });
  for (const [name, run] of [['berth', berth], ['docker', docker]] as const) {
    ok(run(['build', '-t', `esc-${name}`, ctx]));
    assert.equal(ok(run(['run', '--rm', `esc-${name}`, 'cat', '/joined', '/path'])), 'one two\nC:\\dir\\file\n');
  }
});

test('--explain-cache reports every step: from the cache, or built and why', () => {
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nARG V=1\nCOPY app /app\nRUN cat /app/f\n', 'app/f': 'one\n' });
  ok(berth(['build', ctx]));
  writeFileSync(`${ctx}/app/f`, 'two\n');
  const out = ok(berth(['build', '--explain-cache', '--build-arg', 'V=2', ctx]));
  assert.match(out, /Successfully built [0-9a-f]{12}\nCache report:\n {2}Step 1\/4 FROM busybox: base image\n {2}Step 2\/4 ARG V=1: from the cache\n {2}Step 3\/4 COPY app \/app: built \(file app\/f changed\)\n {2}Step 4\/4 RUN cat \/app\/f: built \(rebuilt after the miss at step 3\)\n1 of 3 steps from the cache\n$/);
});

test('-f - reads the Dockerfile from stdin and sends the directory as the context', () => {
  const ctx = ctxOf({ 'in-context.txt': 'from the directory\n', Dockerfile: 'FROM busybox\nRUN echo wrong Dockerfile\n' });
  ok(berth(['build', '-t', 'stdin-file', '-f', '-', ctx], 'FROM busybox\nCOPY in-context.txt /\nCMD ["cat", "/in-context.txt"]\n'));
  assert.equal(ok(berth(['run', '--rm', 'stdin-file'])), 'from the directory\n');
});
