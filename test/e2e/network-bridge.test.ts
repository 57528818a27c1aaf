// Networking end to end with a real berthd, runc and busybox: published ports on 127.0.0.1, user
// networks with DNS by name and alias, connect/disconnect, none, internal, restart, errors, leaks.
// Traffic goes only to loopback and to containers in namespaces this berthd made.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import Docker from 'dockerode';
import { busyboxTar } from '../helpers/busybox.js';
import { dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fetchText } from '../helpers/http.js';
import { deleteLink, removeBridgeRules } from '../../src/network/host.js';

let daemon: TestDaemon;
let docker: Docker;
const suffix = randomBytes(3).toString('hex');
const bridge = `bt${suffix}`;
const octet = randomInt(100, 250);
const bip = `10.${octet}.0.1/24`;
const userSubnet = (n: number) => `10.${octet}.${n}.0/24`;
const madeNetworks: Array<{ bridge: string; subnet: string; internal: boolean }> = [];

function cli(args: string[], input?: Buffer): { code: number; out: string; err: string } {
  const r = spawnSync(dockerCli!, args, { env: { ...process.env, DOCKER_HOST: daemon.host }, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const startedNetns = new Set<string>();

function ok(args: string[]): string {
  const r = cli(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.err}`);
  if (args[0] === 'run' && args.includes('-d')) startedNetns.add(`berth-${r.out.trim().slice(0, 12)}`);
  return r.out;
}

function createNetwork(name: string, n: number, extra: string[] = []): string {
  const id = ok(['network', 'create', '--subnet', userSubnet(n), ...extra, name]).trim();
  madeNetworks.push({ bridge: `br-${id.slice(0, 12)}`, subnet: userSubnet(n), internal: extra.includes('--internal') });
  return id;
}

function countLines(cmd: string, args: string[], needle: string): number {
  return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n').filter((l) => l.includes(needle)).length;
}

function berthRules(): number {
  return countLines('iptables-save', [], `berth:${bridge}`) + madeNetworks.reduce((n, m) => n + countLines('iptables-save', [], `berth:${m.bridge}`), 0);
}

const HTTPD = (text: string) => ['sh', '-c', `mkdir /w; echo ${text} > /w/index.html; exec httpd -f -p 80 -h /w`];

before(async () => {
  daemon = await startDaemon(['--bip', bip, '--bridge', bridge]);
  docker = new Docker({ socketPath: daemon.socket });
  const r = cli(['import', '--change', 'CMD ["sh"]', '-', 'busybox:latest'], busyboxTar());
  assert.equal(r.code, 0, r.err);
});

after(async () => {
  if (daemon) {
    for (const c of await docker.listContainers({ all: true }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    for (const m of madeNetworks) cli(['network', 'rm', m.bridge]);
    await daemon.stop().catch((err) => console.error(err));
  }
  // Whatever a failed test left running in this berthd's namespaces goes, by PID.
  for (const ns of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => startedNetns.has(n))) {
    for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
  }
  for (const m of madeNetworks) {
    removeBridgeRules(m.bridge, m.subnet, m.internal);
    deleteLink(m.bridge);
  }
  removeBridgeRules(bridge, `10.${octet}.0.0/24`, false);
  deleteLink(bridge);
});

test('default bridge: address from --bip, default route, host resolver, published port on 127.0.0.1', async () => {
  const addr = ok(['run', '--rm', busybox(), 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
  assert.match(addr, new RegExp(`inet 10\\.${octet}\\.0\\.\\d+/24`));
  assert.match(ok(['run', '--rm', busybox(), 'ip', 'route']), new RegExp(`default via 10\\.${octet}\\.0\\.1`));
  ok(['run', '-d', '--name', 'web', '-p', '127.0.0.1::80', busybox(), ...HTTPD('hello')]);
  const port = ok(['port', 'web', '80']).trim();
  assert.match(port, /^127\.0\.0\.1:\d+$/);
  assert.equal((await fetchText(`http://${port}/`)).trim(), 'hello');
  const info = await docker.getContainer('web').inspect();
  assert.deepEqual(info.NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: port.split(':')[1] }]);
  assert.match(info.NetworkSettings.IPAddress, new RegExp(`^10\\.${octet}\\.0\\.`));
  assert.equal(info.NetworkSettings.MacAddress, '02:42:' + info.NetworkSettings.IPAddress.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':'));
  // The same host port again: Docker's error, and the second container is not left running.
  const clash = cli(['run', '-d', '--name', 'clash', '-p', `${port}:80`, busybox(), ...HTTPD('x')]);
  assert.notEqual(clash.code, 0);
  assert.match(clash.err, /port is already allocated/);
  assert.equal((await docker.getContainer('clash').inspect()).State.Running, false);
  ok(['rm', '-f', 'clash']);
});

function busybox(): string {
  return 'busybox';
}

test('user network: containers reach each other by name and alias through the embedded DNS', async () => {
  createNetwork(`app${suffix}`, 1);
  ok(['run', '-d', '--name', `srv${suffix}`, '--network', `app${suffix}`, '--network-alias', 'api', busybox(), ...HTTPD('named')]);
  const out = ok(['run', '--rm', '--network', `app${suffix}`, busybox(), 'sh', '-c', `cat /etc/resolv.conf; nslookup api; ping -c1 -W2 srv${suffix} && ping -c1 -W2 api && echo REACHED`]);
  assert.match(out, new RegExp(`nameserver 10\\.${octet}\\.1\\.1`));
  assert.match(out, new RegExp(`Address: 10\\.${octet}\\.1\\.\\d+`));
  assert.match(out, /REACHED/);
  const net = await docker.getNetwork(`app${suffix}`).inspect();
  assert.equal(net.IPAM?.Config?.[0]?.Subnet, userSubnet(1));
  assert.equal(Object.keys(net.Containers ?? {}).length, 1);
});

test('connect and disconnect change reachability', async () => {
  createNetwork(`side${suffix}`, 2);
  ok(['run', '-d', '--name', `lone${suffix}`, '--network', `side${suffix}`, busybox(), ...HTTPD('lone')]);
  const probe = () => cli(['run', '--rm', '--network', `app${suffix}`, busybox(), 'sh', '-c', `ping -c1 -W1 lone${suffix}`]).code;
  assert.notEqual(probe(), 0);
  ok(['network', 'connect', '--alias', 'joined', `app${suffix}`, `lone${suffix}`]);
  assert.equal(probe(), 0);
  const ip = (await docker.getContainer(`lone${suffix}`).inspect()).NetworkSettings.Networks[`app${suffix}`]!.IPAddress;
  assert.match(ip, new RegExp(`^10\\.${octet}\\.1\\.`));
  ok(['network', 'disconnect', `app${suffix}`, `lone${suffix}`]);
  assert.notEqual(probe(), 0);
});

test('--network none has only lo; --internal has no default route', () => {
  assert.deepEqual(ok(['run', '--rm', '--network', 'none', busybox(), 'ip', '-o', 'link']).trim().split('\n').map((l) => l.split(':')[1]!.trim()), ['lo']);
  createNetwork(`int${suffix}`, 3, ['--internal']);
  const routes = ok(['run', '--rm', '--network', `int${suffix}`, busybox(), 'ip', 'route']);
  assert.doesNotMatch(routes, /default/);
  assert.match(routes, new RegExp(`10\\.${octet}\\.3\\.0/24`));
});

test('errors: overlapping subnet, address outside the subnet, unknown network, removing a network in use', async () => {
  const overlap = cli(['network', 'create', '--subnet', userSubnet(1), `dup${suffix}`]);
  assert.match(overlap.err, /Pool overlaps with other one on this address space/);
  const outside = cli(['run', '--rm', '--network', `app${suffix}`, '--ip', '192.0.2.200', busybox(), 'true']);
  assert.match(outside.err, /no configured subnet or ip-range contain the IP address 192\.0\.2\.200/);
  // As Docker: create records the container, start answers 404 (network-ports.test.ts checks the docker CLI's message).
  const orphan = await docker.createContainer({ Image: 'busybox', HostConfig: { NetworkMode: `nope${suffix}` } });
  await assert.rejects(orphan.start(), (err: { statusCode?: number; message: string }) => {
    assert.equal(err.statusCode, 404);
    assert.match(err.message, new RegExp(`network nope${suffix} not found`));
    return true;
  });
  await orphan.remove();
  // A network made between create and start: the start joins it with what create asked for.
  const late = await docker.createContainer({
    Image: 'busybox', Cmd: ['sleep', '30'], HostConfig: { NetworkMode: `late${suffix}` },
    NetworkingConfig: { EndpointsConfig: { [`late${suffix}`]: { Aliases: ['lateal'], IPAMConfig: { IPv4Address: `10.${octet}.5.77` } } } },
  });
  createNetwork(`late${suffix}`, 5);
  await late.start();
  const lateNet = (await late.inspect()).NetworkSettings.Networks[`late${suffix}`]!;
  assert.equal(lateNet.IPAddress, `10.${octet}.5.77`);
  assert.ok(lateNet.Aliases?.includes('lateal'), JSON.stringify(lateNet.Aliases));
  await late.remove({ force: true });
  assert.match(cli(['network', 'rm', `app${suffix}`]).err, /has active endpoints/);
  assert.match(ok(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`app${suffix}`));
});

test('a published port keeps working across berthd kill -9 and restart; running containers keep their addresses', async () => {
  const port = ok(['port', 'web', '80']).trim();
  const webIp = (await docker.getContainer('web').inspect()).NetworkSettings.IPAddress;
  await daemon.kill9();
  await daemon.restart();
  assert.equal((await fetchText(`http://${port}/`)).trim(), 'hello');
  assert.equal(ok(['run', '--rm', '--network', `app${suffix}`, busybox(), 'sh', '-c', 'ping -c1 -W2 api >/dev/null && echo OK']).trim(), 'OK');
  // The restarted berthd rebuilt its leases from the running containers: none is handed out twice.
  const others = Array.from({ length: 3 }, () => ok(['run', '--rm', busybox(), 'sh', '-c', 'ip -o -4 addr show eth0']).trim());
  for (const o of others) assert.doesNotMatch(o, new RegExp(`inet ${webIp.replace(/\./g, '\\.')}/`));
});

test('no veths, namespaces or rules leak: 50 containers come and go, then networks are removed', async () => {
  // Only this daemon's veths (those on its bridges) and namespaces count: other test files run
  // containers on this host at the same time.
  const veths = () => [bridge, ...madeNetworks.map((m) => m.bridge)].reduce((n, b) => n + countLines('ip', ['-o', 'link', 'show', 'master', b], 'veth'), 0);
  const since = Math.floor(Date.now() / 1000) - 1;
  const before = { veths: veths(), rules: berthRules() };
  for (let i = 0; i < 50; i++) ok(['run', '--rm', '--network', i % 2 ? `app${suffix}` : 'bridge', '-p', '127.0.0.1::80', busybox(), 'true']);
  // A stopped container's veth pair goes with its namespace, which the kernel frees in the background.
  for (let i = 0; i < 50 && veths() !== before.veths; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual({ veths: veths(), rules: berthRules() }, before);
  const created = ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=container', '--filter', 'event=create', '--format', '{{.ID}}']).trim().split('\n').filter(Boolean);
  assert.ok(created.length >= 50, `saw ${created.length} creates`);
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.deepEqual(created.filter((id) => namespaces.includes(`berth-${id.slice(0, 12)}`)), [], 'namespaces left behind');
  for (const c of ['web', `srv${suffix}`, `lone${suffix}`]) ok(['rm', '-f', c]);
  for (const n of ['app', 'side', 'int', 'late']) ok(['network', 'rm', `${n}${suffix}`]);
  for (const m of madeNetworks) {
    assert.equal(spawnSync('ip', ['link', 'show', m.bridge]).status, 1, `${m.bridge} left behind`);
    assert.equal(countLines('iptables-save', [], `berth:${m.bridge}`), 0);
  }
  assert.equal(ok(['network', 'ls', '-q']).trim().split('\n').length, 3);
});
