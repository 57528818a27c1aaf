// The build cache as the classic builder shows it: hits, misses that say why, invalidation of
// later steps, --no-cache, intermediate images kept as parents, and a cache that survives a
// berthd restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, chmodSync } from 'node:fs';
import http from 'node:http';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { getJson, importBusybox, makeContext, postBuild, tarOf } from '../helpers/build.js';

let d: TestDaemon;
let ctx: string;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  ctx = makeContext({
    Dockerfile: 'FROM busybox\nARG V=1\nENV E=e\nCOPY app /app\nRUN echo "v=$V" > /v && cat /app/x.txt\nCMD ["cat", "/v"]\n',
    'app/x.txt': 'one\n',
    'app/y.txt': 'y\n',
  });
});
after(async () => {
  rmSync(ctx, { recursive: true, force: true });
  await d?.stop();
});

const build = (q: Record<string, string> = {}) => postBuild(d, tarOf(ctx), { t: 'cached', ...q });
const usingCache = (out: string) => (out.match(/ ---> Using cache\n/g) ?? []).length;

test('a second build reuses every step and gives the same image', async () => {
  const first = await build();
  assert.equal(first.error, undefined, first.output);
  assert.equal(usingCache(first.output), 0);
  assert.match(first.output, / ---> Running in [0-9a-f]{12}\none\n/);
  const second = await build();
  assert.equal(usingCache(second.output), 5, second.output);
  assert.equal(second.id, first.id);
  assert.doesNotMatch(second.output, /Running in/);
});

test('intermediate images are untagged parents: shown by images -a, not dangling', async () => {
  const all = (await getJson(d, '/images/json?all=1')).body as Array<{ Id: string; RepoTags: string[] }>;
  const top = (await getJson(d, '/images/json')).body as Array<{ Id: string }>;
  assert.equal(all.length, 6); // busybox + 5 steps
  assert.equal(top.length, 2); // busybox and cached
  const dangling = (await getJson(d, `/images/json?filters=${encodeURIComponent('{"dangling":["true"]}')}`)).body;
  assert.equal(dangling.length, 0);
  const inspect = (await getJson(d, '/images/cached/json')).body;
  assert.match(inspect.Parent, /^sha256:/);
});

test('a changed file misses at its COPY, says which file, and rebuilds the later steps', async () => {
  writeFileSync(`${ctx}/app/x.txt`, 'two\n');
  const r = await build();
  assert.equal(r.error, undefined, r.output);
  assert.equal(usingCache(r.output), 2, r.output); // ARG, ENV
  assert.match(r.output, /Step 4\/6 : COPY app \/app\n ---> Cache miss: COPY app \/app: file app\/x\.txt changed\n/);
  assert.match(r.output, /Running in [0-9a-f]{12}\ntwo\n/);
  // Metadata counts too: a mode change is a change; a touched mtime alone is not.
  chmodSync(`${ctx}/app/y.txt`, 0o600);
  const m = await build();
  assert.match(m.output, /Cache miss: COPY app \/app: file app\/y\.txt changed/);
  const t = new Date(Date.now() + 60_000);
  const { utimesSync } = await import('node:fs');
  utimesSync(`${ctx}/app/y.txt`, t, t);
  const touched = await build();
  assert.equal(usingCache(touched.output), 5, touched.output);
  writeFileSync(`${ctx}/app/z.txt`, 'z\n');
  const added = await build();
  assert.match(added.output, /Cache miss: COPY app \/app: file app\/z\.txt added/);
});

test('a changed build arg misses at the first RUN that sees it and says so', async () => {
  const r = await build({ buildargs: JSON.stringify({ V: '2' }) });
  assert.equal(r.error, undefined, r.output);
  assert.match(r.output, /Step 5\/6 : RUN .*\n ---> Cache miss: RUN echo "v=\$V" > \/v && cat \/app\/x\.txt: build arg V changed\n/);
  assert.equal(usingCache(r.output), 3, r.output); // ARG, ENV, COPY (the arg's value is not in ARG's key)
});

test('a changed instruction misses and names the old one', async () => {
  const other = makeContext({ Dockerfile: 'FROM busybox\nENV E=changed\n' });
  const a = await postBuild(d, tarOf(other));
  writeFileSync(`${other}/Dockerfile`, 'FROM busybox\nENV E=again\n');
  const b = await postBuild(d, tarOf(other));
  rmSync(other, { recursive: true, force: true });
  assert.equal(a.error, undefined);
  assert.match(b.output, /Cache miss: ENV E=again: instruction changed \(was: ENV E=changed\)/);
});

test('--no-cache rebuilds everything', async () => {
  const r = await build({ nocache: '1' });
  assert.equal(r.error, undefined, r.output);
  assert.equal(usingCache(r.output), 0);
  assert.match(r.output, /Running in/);
});

test('the cache survives a berthd restart', async () => {
  const before = await build();
  await d.restart();
  const after = await build();
  assert.equal(after.error, undefined, after.output);
  assert.equal(usingCache(after.output), 5, after.output);
  assert.equal(after.id, before.id);
});

test('a deleted cached image is a miss, not an error', async () => {
  const other = makeContext({ Dockerfile: 'FROM busybox\nLABEL gone=yes\n' });
  const a = await postBuild(d, tarOf(other), { t: 'gone' });
  const { execFileSync } = await import('node:child_process');
  execFileSync('/usr/local/bin/docker', ['rmi', 'gone'], { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: d.dataRoot + '/dc' } });
  const b = await postBuild(d, tarOf(other), { t: 'gone' });
  rmSync(other, { recursive: true, force: true });
  assert.equal(b.error, undefined, b.output);
  assert.equal(usingCache(b.output), 0);
  assert.notEqual(a.id, undefined);
});

test('POST /build/prune forgets the cache: the next build misses', async () => {
  const warm = await build();
  assert.equal(usingCache(warm.output), 5);
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: '/v1.47/build/prune', method: 'POST' }, (r) => {
      let t = '';
      r.on('data', (c) => (t += c));
      r.on('end', () => resolve({ status: r.statusCode!, body: t }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(res.status, 200);
  assert.ok(JSON.parse(res.body).CachesDeleted.length >= 5);
  const cold = await build();
  assert.equal(usingCache(cold.output), 0);
});

test('a client that goes away cancels the build: the RUN container is killed and removed', async () => {
  const other = makeContext({ Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\n' });
  const body = tarOf(other);
  rmSync(other, { recursive: true, force: true });
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path: '/v1.47/build', method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
        if (text.includes('{"stream":"started\\n"}')) {
          req.destroy();
          clearTimeout(timer);
          resolve();
        }
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end(body);
    const timer = setTimeout(() => reject(new Error('RUN never started')), 20_000);
  });
  let left = -1;
  for (let i = 0; i < 100; i++) {
    left = (await getJson(d, '/containers/json?all=1')).body.length;
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(left, 0);
  assert.ok(Date.now() - t0 < 30_000);
});

test('a context unpacked over the one before: what changed is seen, what went is gone, and a restart keeps it right', async () => {
  const { utimesSync, symlinkSync, mkdirSync, unlinkSync } = await import('node:fs');
  const df = 'FROM busybox\nCOPY . /ctx\nRUN cd /ctx && find . | sort | tr "\\n" " " && cat same-size.txt link/inner 2>&1\n';
  const c = makeContext({ Dockerfile: df, 'same-size.txt': 'aaaa\n', 'gone.txt': 'g', 'target/inner': 'through-link\n', link: { symlink: 'target' } });
  const listing = (r: Awaited<ReturnType<typeof postBuild>>) => /Running in \w+\n([\s\S]*?)\n? ---> Removed/.exec(r.output)?.[1];
  try {
    const first = await postBuild(d, tarOf(c), { t: 'kept' });
    assert.equal(first.error, undefined, first.output);
    assert.equal(listing(first), '. ./Dockerfile ./gone.txt ./link ./same-size.txt ./target ./target/inner aaaa\nthrough-link');
    // Same size, same mtime, other bytes; a file removed; a symlink that becomes a directory.
    writeFileSync(`${c}/same-size.txt`, 'bbbb\n');
    utimesSync(`${c}/same-size.txt`, 1_600_000_000, 1_600_000_000);
    unlinkSync(`${c}/gone.txt`);
    unlinkSync(`${c}/link`);
    mkdirSync(`${c}/link`);
    writeFileSync(`${c}/link/inner`, 'own-dir\n');
    const second = await postBuild(d, tarOf(c), { t: 'kept' });
    assert.equal(second.error, undefined, second.output);
    assert.equal(listing(second), '. ./Dockerfile ./link ./link/inner ./same-size.txt ./target ./target/inner bbbb\nown-dir');
    // The kept context's record survives a restart; a rebuild is all cache hits.
    await d.restart();
    const third = await postBuild(d, tarOf(c), { t: 'kept' });
    assert.equal(usingCache(third.output), 2, third.output);
    assert.equal(third.id, second.id);
    symlinkSync('target', `${c}/link2`);
    utimesSync(`${c}/same-size.txt`, 1_600_000_000, 1_600_000_000);
    writeFileSync(`${c}/same-size.txt`, 'cccc\n');
    const fourth = await postBuild(d, tarOf(c), { t: 'kept' });
    assert.equal(listing(fourth), '. ./Dockerfile ./link ./link/inner ./link2 ./same-size.txt ./target ./target/inner cccc\nown-dir');
  } finally {
    rmSync(c, { recursive: true, force: true });
  }
});
