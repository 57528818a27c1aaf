// The builder on a real distribution: a Debian bookworm root made with debootstrap is imported,
// and a Dockerfile FROM it runs `apt-get update && apt-get install` on the default bridge (the
// Debian mirror reached through berth's NAT), then the installed program runs. No mirror, no
// pass: this test fails loudly rather than skipping.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { berthBin, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { makeContext } from '../helpers/build.js';
import { debianRootfsTar } from '../helpers/debian.js';

let d: TestDaemon;
let tar: string;
const contexts: string[] = [];

before(async () => {
  const t0 = Date.now();
  tar = debianRootfsTar('bookworm');
  process.stderr.write(`debian rootfs ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${tar}\n`);
  d = await startDaemon();
});
after(async () => {
  for (const c of contexts) rmSync(c, { recursive: true, force: true });
  await d?.stop();
});

function berth(args: string[]) {
  return spawnSync(process.execPath, [berthBin, '-H', d.host, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

test('FROM a debootstrapped Debian root: apt-get install over the bridge, then the package runs', () => {
  const imp = berth(['import', '-c', 'CMD ["bash"]', tar, 'debian:bookworm']);
  assert.equal(imp.status, 0, imp.stderr);
  const ctx = makeContext({
    Dockerfile: [
      'FROM debian:bookworm',
      'ENV DEBIAN_FRONTEND=noninteractive',
      'RUN apt-get update && apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*',
      'CMD ["hello"]',
    ].join('\n') + '\n',
  });
  contexts.push(ctx);
  const built = berth(['build', '-t', 'debian-hello', ctx]);
  assert.equal(built.status, 0, `build failed (is the Debian mirror reachable through the bridge's NAT?)\n${built.stdout}${built.stderr}`);
  assert.match(built.stdout, /Setting up hello /);
  assert.match(built.stdout, /Successfully tagged debian-hello:latest\n$/);
  const run = berth(['run', '--rm', 'debian-hello']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'Hello, world!\n');
  // dpkg knows it, and the layer holds it: the RUN made a layer on top of the imported root.
  const dpkg = berth(['run', '--rm', 'debian-hello', 'dpkg-query', '-W', '-f', '${Status}', 'hello']);
  assert.equal(dpkg.stdout, 'install ok installed');
  const layers = berth(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', 'debian-hello']);
  assert.equal(layers.stdout, '2\n');
});
