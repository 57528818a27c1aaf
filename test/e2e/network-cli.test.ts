// `berth network ...` and `berth port` against a real berthd, compared with the docker CLI's output.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { deleteLink, removeBridgeRules } from '../../src/network/host.js';

let daemon: TestDaemon;
const suffix = randomBytes(3).toString('hex');
const bridge = `bc${suffix}`;
const octet = randomInt(100, 250);
const made: Array<{ bridge: string; subnet: string }> = [];

const run = (bin: string, args: string[], input?: Buffer) => runCli(bin, args, { host: daemon.host, input, timeout: 60_000 });
const berth = (...args: string[]) => run(berthBin, args);
const docker = (...args: string[]) => run(dockerCli!, args);

before(async () => {
  daemon = await startDaemon(['--bip', `10.${octet}.10.1/24`, '--bridge', bridge]);
  assert.equal(run(dockerCli!, ['import', '--change', 'CMD ["sh"]', '-', 'busybox:latest'], busyboxTar()).code, 0);
});

after(async () => {
  for (const c of ['cli-web']) docker('rm', '-f', c);
  await daemon?.stop();
  for (const m of made) {
    removeBridgeRules(m.bridge, m.subnet, false);
    deleteLink(m.bridge);
  }
  removeBridgeRules(bridge, `10.${octet}.10.0/24`, false);
  deleteLink(bridge);
});

test('network create, ls, inspect, connect, disconnect, rm, prune through berth match docker', () => {
  const subnet = `10.${octet}.11.0/24`;
  const created = berth('network', 'create', '--subnet', subnet, '--gateway', `10.${octet}.11.254`, '--label', 'team=a', `n1${suffix}`);
  assert.equal(created.code, 0, created.err);
  const id = created.out.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  made.push({ bridge: `br-${id.slice(0, 12)}`, subnet });
  assert.equal(berth('network', 'ls').out, docker('network', 'ls').out);
  assert.equal(berth('network', 'ls', '-q', '--filter', 'label=team=a').out, `${id.slice(0, 12)}\n`);
  assert.equal(berth('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', `n1${suffix}`).out, `10.${octet}.11.254\n`);
  const dup = berth('network', 'create', `n1${suffix}`);
  assert.equal(dup.code, 1);
  assert.equal(dup.err, `Error response from daemon: network with name n1${suffix} already exists\n`);
  assert.equal(docker('run', '-d', '--name', 'cli-web', '-p', '127.0.0.1::80', 'busybox', 'sleep', '60').code, 0);
  assert.equal(berth('network', 'connect', '--alias', 'w', `n1${suffix}`, 'cli-web').code, 0);
  assert.match(berth('network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', `n1${suffix}`).out, new RegExp(`cli-web 10\\.${octet}\\.11\\.\\d+/24`));
  const inUse = berth('network', 'rm', `n1${suffix}`);
  assert.equal(inUse.code, 1);
  assert.match(inUse.err, /has active endpoints/);
  assert.equal(berth('network', 'disconnect', `n1${suffix}`, 'cli-web').code, 0);
  assert.equal(berth('port', 'cli-web').out, docker('port', 'cli-web').out);
  assert.match(berth('port', 'cli-web', '80').out, /^127\.0\.0\.1:\d+\n$/);
  assert.equal(berth('network', 'rm', `n1${suffix}`).out, `n1${suffix}\n`);
  assert.equal(berth('network', 'rm', `n1${suffix}`).err, `Error response from daemon: network n1${suffix} not found\n`);
  assert.equal(spawnSync('ip', ['link', 'show', `br-${id.slice(0, 12)}`]).status, 1);
  const subnet2 = `10.${octet}.12.0/24`;
  const id2 = berth('network', 'create', '--subnet', subnet2, `n2${suffix}`).out.trim();
  made.push({ bridge: `br-${id2.slice(0, 12)}`, subnet: subnet2 });
  assert.equal(berth('network', 'prune', '-f').out, `Deleted Networks:\nn2${suffix}\n`);
  assert.equal(berth('network', 'ls', '-q').out.trim().split('\n').length, 3);
});
