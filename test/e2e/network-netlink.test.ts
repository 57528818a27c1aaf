// The host plumbing berthd does through rtnetlink (src/network/host.ts), checked with iproute2:
// a bridge with its gateway, a namespace with lo up, a veth pair with the container's name, MAC,
// address and default route, nothing left after the namespace goes, and errors that name the errno.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { addVeth, deleteLink, deleteNetns, ensureBridge, ensureNetns, netnsExists, netnsPath } from '../../src/network/host.js';

const tag = randomBytes(3).toString('hex');
const bridge = `bl${tag}`;
const ns = `nltest-${tag}`;
const third = randomInt(0, 256);
const net = `10.198.${third}`;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const linkGone = (name: string) => spawnSync('ip', ['link', 'show', name]).status !== 0;

after(() => {
  deleteNetns(ns);
  deleteLink(`v${tag}`);
  deleteLink(bridge);
});

test('bridge, namespace and veth pair as berthd makes them', async () => {
  ensureBridge(bridge, `${net}.1/24`);
  ensureBridge(bridge, `${net}.1/24`); // again: a previous run's bridge is fine
  assert.match(ip('-o', '-4', 'addr', 'show', 'dev', bridge), new RegExp(`inet ${net}\\.1/24 brd ${net}\\.255`));
  assert.match(ip('-o', 'link', 'show', bridge), /[<,]UP[,>]/);

  ensureNetns(ns);
  assert.equal(netnsExists(ns), true);
  assert.match(ip('netns', 'list'), new RegExp(`^${ns}\\b`, 'm'));
  assert.match(ip('-n', ns, '-o', 'link', 'show', 'lo'), /[<,]UP[,>]/);

  addVeth({ netns: ns, hostIf: `v${tag}`, containerIf: 'eth0', bridge, mac: '02:42:0a:c6:00:02', addressCidr: `${net}.2/24`, gateway: `${net}.1` });
  const host = ip('-o', 'link', 'show', `v${tag}`);
  assert.match(host, new RegExp(`master ${bridge}`));
  assert.match(host, /[<,]UP[,>]/);
  const eth0 = ip('-n', ns, '-o', 'link', 'show', 'eth0');
  assert.match(eth0, /link\/ether 02:42:0a:c6:00:02/);
  assert.match(eth0, /[<,]UP[,>]/);
  assert.match(ip('-n', ns, '-o', '-4', 'addr', 'show', 'eth0'), new RegExp(`inet ${net}\\.2/24 brd ${net}\\.255`));
  assert.match(ip('-n', ns, 'route'), new RegExp(`default via ${net}\\.1 dev eth0`));
  // berthd's own namespace is untouched: no eth0 of the container's here, and a ping crosses the bridge.
  assert.doesNotMatch(ip('-o', '-4', 'addr'), new RegExp(`inet ${net}\\.2/`));
  assert.equal(spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c1', '-W2', `${net}.1`]).status, 0);

  deleteNetns(ns);
  assert.equal(existsSync(netnsPath(ns)), false);
  // The kernel takes the veth pair with the namespace, in the background.
  for (let i = 0; i < 50 && !linkGone(`v${tag}`); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(linkGone(`v${tag}`), true, 'veth left behind');
  deleteNetns(ns); // a missing one is fine
});

test('errors name what failed and leave nothing behind', () => {
  ensureNetns(ns);
  assert.throws(() => addVeth({ netns: ns, hostIf: `v${tag}`, containerIf: 'eth0', bridge: `nobr${tag}`, mac: '02:42:0a:c6:00:03', addressCidr: `${net}.3/24` }), /bridge nobr.* is missing/);
  // A name the kernel refuses (too long): the errno comes back from netlink.
  assert.throws(() => addVeth({ netns: ns, hostIf: `v${tag}-much-too-long`, containerIf: 'eth0', bridge, mac: '02:42:0a:c6:00:03', addressCidr: `${net}.3/24` }), /add veth .*: E[A-Z]+/);
  assert.equal(linkGone(`v${tag}`), true);
  assert.equal(ip('-n', ns, '-o', 'link').trim().split('\n').length, 1, 'only lo in the namespace');
  deleteNetns(ns);
});
