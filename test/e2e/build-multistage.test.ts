// Multi-stage builds (COPY --from, --target, unused stages skipped) and reproducible builds with
// SOURCE_DATE_EPOCH on fresh data roots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { startDaemon, dockerCli, type TestDaemon } from '../helpers/daemon.js';
import { buildFiles, getJson, importBusybox, runIn as runInImage, makeContext, postBuild, tarOf } from '../helpers/build.js';
import { busyboxTar } from '../helpers/busybox.js';

let d: TestDaemon;
let env: NodeJS.ProcessEnv;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  env = { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: d.dataRoot + '/docker-config' };
});
after(async () => {
  await d?.stop();
});

const runIn = (image: string, ...cmd: string[]) => runInImage(env, image, ...cmd);

const MULTI = [
  'FROM busybox AS build',
  'RUN echo built > /artifact',
  'FROM busybox AS unused',
  'RUN echo unused-stage-ran && false',
  'FROM build AS derived',
  'RUN echo derived >> /artifact',
  'FROM scratch AS final',
  'COPY --from=build /artifact /from-name',
  'COPY --from=2 /artifact /from-index',
  'COPY --from=busybox /bin/busybox /bin/busybox',
  'CMD ["/bin/busybox", "cat", "/from-name", "/from-index"]',
].join('\n');

test('COPY --from a stage name, an index and an image; unused stages are not built', async () => {
  const r = await buildFiles(d, { Dockerfile: MULTI }, { t: 'multi' });
  assert.equal(r.error, undefined, r.output);
  assert.doesNotMatch(r.output, /unused-stage-ran|FROM busybox AS unused/);
  // Steps count only the stages built: build (2), derived (2), final (5).
  assert.match(r.output, /^Step 1\/9 : FROM busybox AS build\n/);
  assert.equal(runIn('multi'), 'built\nbuilt\nderived\n');
  const img = (await getJson(d, '/images/multi/json')).body;
  assert.equal(img.RootFS.Layers.length, 3);
});

test('--target stops at the named stage', async () => {
  const r = await buildFiles(d, { Dockerfile: MULTI }, { t: 'tgt', target: 'derived' });
  assert.equal(r.error, undefined, r.output);
  assert.match(r.output, /^Step 1\/4 : FROM busybox AS build\n/);
  assert.equal(runIn('tgt', 'cat', '/artifact'), 'built\nderived\n');
  const bad = await buildFiles(d, { Dockerfile: MULTI }, { target: 'nope' });
  assert.equal(bad.status, 400);
  assert.match(bad.body!, /failed to reach build target nope in Dockerfile/);
});

test('SOURCE_DATE_EPOCH: two builds on fresh data roots give the same image ID', async () => {
  const dockerfile = 'FROM scratch\nADD rootfs.tar /\nCOPY hello.txt /hello.txt\nRUN echo ran > /ran && mkdir -p /var/x\nWORKDIR /srv\nENV A=b\nCMD ["cat", "/hello.txt"]\n';
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const fresh = await startDaemon();
    const ctx = makeContext({ Dockerfile: dockerfile, 'hello.txt': 'hello\n' });
    writeFileSync(`${ctx}/rootfs.tar`, busyboxTar());
    try {
      // Different wall-clock seconds for the two builds: only the epoch may show.
      if (i === 1) await new Promise((r) => setTimeout(r, 1100));
      const r = await postBuild(fresh, tarOf(ctx), { t: 'repro', buildargs: JSON.stringify({ SOURCE_DATE_EPOCH: '1700000000' }) });
      assert.equal(r.error, undefined, r.output);
      ids.push(r.id!);
      const img = (await getJson(fresh, '/images/repro/json')).body;
      assert.equal(img.Created, '2023-11-14T22:13:20Z');
    } finally {
      rmSync(ctx, { recursive: true, force: true });
      await fresh.stop();
    }
  }
  assert.equal(ids[0], ids[1]);
});

/** Polls the daemon while `work` runs: the most containers seen running at once. */
async function mostRunningDuring(work: Promise<unknown>): Promise<number> {
  let done = false;
  void work.finally(() => (done = true));
  let most = 0;
  while (!done) {
    const running = (await getJson(d, '/containers/json')).body as unknown[];
    most = Math.max(most, running.length);
    await new Promise((r) => setTimeout(r, 100));
  }
  return most;
}

const TWO_INDEPENDENT = [
  'FROM busybox AS left',
  'RUN sleep 4 && echo left > /left',
  'FROM busybox AS right',
  'RUN sleep 4 && echo right > /right',
  'FROM busybox',
  'COPY --from=left /left /left',
  'COPY --from=right /right /right',
  'CMD ["cat", "/left", "/right"]',
].join('\n');

test('independent stages are built at the same time; the output still reads stage by stage', async () => {
  const build = buildFiles(d, { Dockerfile: TWO_INDEPENDENT }, { t: 'parallel' });
  const most = await mostRunningDuring(build);
  const r = await build;
  assert.equal(r.error, undefined, r.output);
  // Both RUN containers were up together: the stages did not wait for each other.
  assert.equal(most, 2);
  const steps = [...r.output.matchAll(/^Step (\d+)\/8 : (.*)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(steps, [
    '1 FROM busybox AS left', '2 RUN sleep 4 && echo left > /left', '3 FROM busybox AS right', '4 RUN sleep 4 && echo right > /right',
    '5 FROM busybox', '6 COPY --from=left /left /left', '7 COPY --from=right /right /right', '8 CMD ["cat", "/left", "/right"]',
  ]);
  // Each stage's lines stay together: the right stage's start follows the left stage's result.
  assert.match(r.output, /Step 2\/8 : RUN sleep 4 && echo left > \/left\n(?: ---> Cache miss: .*\n)? ---> Running in \w+\n ---> Removed intermediate container \w+\n ---> \w+\nStep 3\/8 : FROM busybox AS right\n/);
  assert.equal(runIn('parallel'), 'left\nright\n');
});

test('a stage that fails stops the stages running beside it', { timeout: 120_000 }, async () => {
  const r = await buildFiles(d, { Dockerfile: 'FROM busybox AS slow\nRUN sleep 600\nFROM busybox AS broken\nRUN exit 7\nFROM busybox\nCOPY --from=slow /etc/hostname /a\nCOPY --from=broken /etc/hostname /b\n' }, { t: 'never-tagged', forcerm: '1' });
  assert.equal(r.error, "The command '/bin/sh -c exit 7' returned a non-zero code: 7");
  assert.equal(r.errorCode, 7);
  // The slow stage's container was killed and removed (force-rm), and nothing was tagged.
  assert.equal(((await getJson(d, '/containers/json?all=1')).body as unknown[]).length, 0);
  assert.equal((await getJson(d, '/images/never-tagged/json')).status, 404);
  assert.match(r.output, /Step 2\/7 : RUN sleep 600\n(?: ---> Cache miss: .*\n)? ---> Running in \w+\n[\s\S]*Step 4\/7 : RUN exit 7\n/);
});

test('COPY --from a stage defined later is refused, even when that stage could be built first', async () => {
  const r = await buildFiles(d, { Dockerfile: 'FROM busybox AS first\nCOPY --from=later /x /x\nFROM busybox AS later\nRUN echo x > /x\n' }, { target: 'first' });
  assert.equal(r.error, 'invalid from flag value later: stage not built yet');
});
