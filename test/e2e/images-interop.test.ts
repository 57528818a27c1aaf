// Archives other tools make: skopeo's OCI archives and OCI layouts load into berth, and skopeo
// reads what berth saves.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, startDaemon, type TestDaemon } from '../helpers/daemon.js';

const skopeo = ['/usr/bin/skopeo'].find((p) => existsSync(p));
let daemon: TestDaemon;
let tmp: string;

before(async () => {
  daemon = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-interop-'));
});
after(async () => {
  await daemon?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const berth = (args: string[], input?: Buffer) => {
  const r = spawnSync(berthBin, ['-H', daemon.host, ...args], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

test('skopeo reads berth save archives, and berth loads skopeo OCI archives and layouts', { skip: !skopeo }, () => {
  berth(['import', '-c', 'CMD ["sh"]', '-', 'interop:1'], busyboxTar());
  const saved = path.join(tmp, 'saved.tar');
  berth(['save', '-o', saved, 'interop:1']);
  const inspected = JSON.parse(execFileSync(skopeo!, ['inspect', '--raw', `docker-archive:${saved}`], { encoding: 'utf8' }));
  assert.equal(inspected.layers.length, 1);
  execFileSync(skopeo!, ['copy', '-q', `docker-archive:${saved}`, `oci-archive:${tmp}/oci.tar:interop:from-archive`]);
  execFileSync(skopeo!, ['copy', '-q', `docker-archive:${saved}`, `oci:${tmp}/layout:localhost/interop:from-layout`]);
  execFileSync('tar', ['-C', `${tmp}/layout`, '-cf', `${tmp}/layout.tar`, '.']);
  assert.equal(berth(['load', '-i', `${tmp}/oci.tar`]), 'Loaded image: interop:from-archive\n');
  assert.equal(berth(['load', '-i', `${tmp}/layout.tar`]), 'Loaded image: localhost/interop:from-layout\n');
  const cmds = berth(['inspect', '-f', '{{json .Config.Cmd}}', 'interop:from-archive', 'localhost/interop:from-layout']);
  assert.equal(cmds, '["sh"]\n["sh"]\n');
  // Same layer content, so the diff IDs agree across all three.
  const layers = berth(['inspect', '-f', '{{index .RootFS.Layers 0}}', 'interop:1', 'interop:from-archive', 'localhost/interop:from-layout']).trim().split('\n');
  assert.equal(new Set(layers).size, 1);
});
