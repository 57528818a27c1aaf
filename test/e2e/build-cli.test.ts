// Builds through the three clients: the docker CLI (classic builder), `berth build`, and
// dockerode's buildImage, with contexts from directories (.dockerignore), stdin, tar files and URLs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { getJson, importBusybox, makeContext, tarOf } from '../helpers/build.js';

let d: TestDaemon;
let env: NodeJS.ProcessEnv;
const cleanup: string[] = [];

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  env = { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: d.dataRoot + '/docker-config', DOCKER_BUILDKIT: '0' };
  delete env['SOURCE_DATE_EPOCH'];
});
after(async () => {
  for (const c of cleanup) rmSync(c, { recursive: true, force: true });
  await d?.stop();
});

function ctxOf(files: Parameters<typeof makeContext>[0]): string {
  const c = makeContext(files);
  cleanup.push(c);
  return c;
}

function berth(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  return spawnSync(process.execPath, [berthBin, ...args], { env: { ...env, ...opts.env }, input: opts.input, encoding: 'utf8', cwd: opts.cwd });
}

function docker(args: string[], opts: { input?: string | Buffer } = {}) {
  return spawnSync(dockerCli!, args, { env, input: opts.input, encoding: 'utf8' });
}

function runIn(image: string, ...cmd: string[]): string {
  const name = `c${Math.random().toString(36).slice(2, 10)}`;
  const r = docker(['run', '--name', name, image, ...cmd]);
  docker(['rm', '-f', name]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const ids = (s: string) => s.replace(/[0-9a-f]{12}/g, '<id>');

test('berth build prints what the docker CLI prints for the classic builder', { skip: !dockerCli }, () => {
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nENV X=1\nRUN echo hello from run\nCOPY a.txt /\nCMD ["sh"]\n', 'a.txt': 'a' });
  const a = docker(['build', '--no-cache', '-t', 'same:docker', ctx]);
  const b = berth(['build', '--no-cache', '-t', 'same:docker', ctx]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /^Sending build context to Docker daemon {2}\d[\d.]*kB\r\r\nStep 1\/5 : FROM busybox\n/);
  assert.equal(ids(b.stdout), ids(a.stdout));
});

test('a failed RUN: exit code 1, Docker\'s message on stderr, the last good step\'s image kept', () => {
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nRUN touch /good\nRUN false\n' });
  for (const r of [berth(['build', ctx]), ...(dockerCli ? [docker(['build', ctx])] : [])]) {
    assert.equal(r.status, 1);
    assert.match(r.stderr, /The command '\/bin\/sh -c false' returned a non-zero code: 1\n$/);
    const good = /Step 2\/3 : RUN touch \/good\n(?: ---> .*\n)*? ---> ([0-9a-f]{12})\nStep 3\/3/.exec(r.stdout);
    assert.ok(good, r.stdout);
    assert.equal(docker(['image', 'inspect', good![1]!]).status, 0);
  }
  // Clean the failed containers the builds left, as Docker leaves them.
  const ps = docker(['ps', '-aq']).stdout.trim().split('\n').filter(Boolean);
  for (const id of ps) docker(['rm', '-f', id]);
});

test('a parse error: "Error response from daemon" with the line, exit 1', () => {
  const r = berth(['build', '-'], { input: 'FROM busybox\nBOGUS x\n' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'Error response from daemon: Dockerfile parse error line 2: unknown instruction: BOGUS\n');
});

test('.dockerignore with ! exceptions, through berth build and the docker CLI', () => {
  const ctx = ctxOf({
    Dockerfile: 'FROM busybox\nCOPY . /ctx\nCMD ["sh"]\n',
    '.dockerignore': '*.log\nsecret/\n!keep.log\nnode_modules\n',
    'a.txt': 'a',
    'x.log': 'x',
    'keep.log': 'k',
    'secret/key': 'k',
    'node_modules/m/index.js': 'm',
  });
  const clients: Array<[string, typeof berth]> = [['berth', berth]];
  if (dockerCli) clients.push(['docker', docker as typeof berth]);
  for (const [name, run] of clients) {
    const r = run(['build', '-t', `ign-${name}`, ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(runIn(`ign-${name}`, 'sh', '-c', 'cd /ctx && find . | sort | tr "\\n" " "'), '. ./.dockerignore ./Dockerfile ./a.txt ./keep.log ');
  }
});

test('berth build flags: -t twice, -f, --build-arg from env, --label, --iidfile, --target, -q', () => {
  const ctx = ctxOf({
    'build/Dockerfile.custom': 'FROM busybox AS one\nARG FROM_ENV\nARG GIVEN\nRUN echo "$FROM_ENV $GIVEN" > /args\nFROM one AS two\nRUN echo two > /two\n',
  });
  const iid = path.join(ctx, 'iid');
  const r = berth(['build', '-t', 'flags:a', '-t', 'flags:b', '-f', path.join(ctx, 'build/Dockerfile.custom'), '--build-arg', 'FROM_ENV', '--build-arg', 'GIVEN=given',
    '--label', 'com.example=yes', '--iidfile', iid, '--target', 'one', ctx], { env: { FROM_ENV: 'env-value' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Successfully tagged flags:a\nSuccessfully tagged flags:b\n$/);
  assert.match(r.stdout, /Step 5\/5 : LABEL "com.example"="yes"\n/);
  const id = readFileSync(iid, 'utf8');
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(docker(['image', 'inspect', '-f', '{{.Id}} {{index .Config.Labels "com.example"}}', 'flags:b']).stdout, `${id} yes\n`);
  assert.equal(runIn('flags:a', 'sh', '-c', 'cat /args; ls /two 2>&1 || true'), 'env-value given\nls: /two: No such file or directory\n');
  const q = berth(['build', '-q', '-f', path.join(ctx, 'build/Dockerfile.custom'), ctx]);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.match(q.stderr, /^Sending build context/);
});

test('berth build contexts: a Dockerfile on stdin, a tar on stdin, a tar file, a URL', async () => {
  const df = berth(['build', '-t', 'stdin-df', '-'], { input: 'FROM busybox\nRUN echo from-stdin > /s\n' });
  assert.equal(df.status, 0, df.stderr);
  assert.match(df.stdout, /^Sending build context to Docker daemon {2}2\.048kB\r\r\n/);
  assert.equal(runIn('stdin-df', 'cat', '/s'), 'from-stdin\n');

  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nCOPY f /f\n', f: 'tar-context\n' });
  const tar = tarOf(ctx);
  const viaStdin = spawnSync(process.execPath, [berthBin, 'build', '-t', 'stdin-tar', '-'], { env, input: tar, encoding: 'utf8' });
  assert.equal(viaStdin.status, 0, viaStdin.stderr);
  assert.equal(runIn('stdin-tar', 'cat', '/f'), 'tar-context\n');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-build-tar-'));
  cleanup.push(dir);
  writeFileSync(path.join(dir, 'ctx.tar'), tar);
  execFileSync('gzip', ['-k', path.join(dir, 'ctx.tar')]);
  const file = berth(['build', '-t', 'tar-file', path.join(dir, 'ctx.tar.gz')]);
  assert.equal(file.status, 0, file.stderr);
  assert.equal(runIn('tar-file', 'cat', '/f'), 'tar-context\n');

  const gz = readFileSync(path.join(dir, 'ctx.tar.gz'));
  const server = http.createServer((_, res) => res.end(gz));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/ctx.tar.gz`;
    const r = await berthAsync(['build', '-t', 'from-url', url]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Downloading build context from remote url: http/);
    assert.equal(runIn('from-url', 'cat', '/f'), 'tar-context\n');
  } finally {
    server.close();
  }
});

/** berth without blocking this process's event loop (for servers the test itself runs). */
function berthAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [berthBin, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('dockerode buildImage with a tar stream, build args and tags', async () => {
  const docker = new Docker({ socketPath: d.socket });
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nARG N\nRUN echo "n=$N" > /n\n' });
  const stream = await docker.buildImage(Readable.from([tarOf(ctx)]) as unknown as NodeJS.ReadableStream, { t: 'dockerode-built', buildargs: { N: '7' } });
  const events = await new Promise<Array<{ stream?: string; aux?: { ID: string }; error?: string }>>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, res: any[]) => (err ? reject(err) : resolve(res)));
  });
  assert.ok(events.some((e) => e.aux?.ID?.startsWith('sha256:')));
  assert.ok(events.some((e) => e.stream === 'Successfully tagged dockerode-built:latest\n'));
  assert.equal(runIn('dockerode-built', 'cat', '/n'), 'n=7\n');
  const img = await getJson(d, '/images/dockerode-built/json');
  assert.equal(img.status, 200);
});

test('POST /build bodies: a bare Dockerfile, and gzip, bzip2 and xz compressed context tars', async () => {
  const { postBuild } = await import('../helpers/build.js');
  const bare = await postBuild(d, Buffer.from('FROM busybox\nLABEL bare=yes\n'), { t: 'bare' });
  assert.equal(bare.error, undefined, bare.output);
  assert.equal((await getJson(d, '/images/bare/json')).body.Config.Labels.bare, 'yes');
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nCOPY f /f\n', f: 'compressed\n' });
  const tar = tarOf(ctx);
  for (const [tool, tag] of [['gzip', 'ctx-gz'], ['bzip2', 'ctx-bz2'], ['xz', 'ctx-xz']] as const) {
    const body = execFileSync(tool, ['-c'], { input: tar });
    const r = await postBuild(d, body, { t: tag, dockerfile: 'Dockerfile' });
    assert.equal(r.error, undefined, r.output);
    assert.equal(runIn(tag, 'cat', '/f'), 'compressed\n');
  }
  const missing = await postBuild(d, tar, { dockerfile: 'Nope.Dockerfile' });
  assert.equal(missing.status, 400);
  assert.match(missing.body!, /Cannot locate specified Dockerfile: Nope.Dockerfile/);
});

test('berth builder prune -f forgets the cache; the next build runs every step', () => {
  const ctx = ctxOf({ Dockerfile: 'FROM busybox\nRUN echo pruned-run\n' });
  assert.equal(berth(['build', ctx]).status, 0);
  assert.match(berth(['build', ctx]).stdout, /Using cache/);
  const p = berth(['builder', 'prune', '-f']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^Deleted build cache objects:\nsha256:[0-9a-f]{64}\n[\s\S]*\nTotal reclaimed space: 0B\n$/);
  const again = berth(['build', ctx]);
  assert.doesNotMatch(again.stdout, /Using cache/);
  assert.match(again.stdout, /pruned-run/);
});
