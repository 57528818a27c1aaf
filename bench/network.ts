// Network scenarios, berthd against dockerd (podman is left out: its networking is netavark's):
// what the default bridge adds to `run --rm` (vs --network none), the throughput of a published
// port on 127.0.0.1 (berthd's in-process proxy vs docker-proxy; the reference dockerd runs with
// --iptables=false, so its userland proxy carries the traffic), and the memory 20 published ports cost.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { addVeth, deleteLink, deleteNetns, ensureBridge, ensureNetns } from '../src/network/host.js';
import { childPids, rssKiB, type Engine } from './engines.js';
import { median } from './containers.js';
import { sh, time, type Result } from './scenarios.js';

const FILE_MIB = 256;
const PORTS = 20;

function runRm(e: Engine, network: string, rounds: number): number {
  const argv = [...e.cli, 'run', '--rm', '--network', network, 'bench/busybox', 'true'];
  sh(argv); // warm
  return median(Array.from({ length: rounds }, () => time(() => sh(argv)) * 1000));
}

/** A block of free consecutive TCP ports on 127.0.0.1. */
async function freePorts(n: number): Promise<number> {
  const free = (port: number) => new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
  for (;;) {
    const base = 30000 + Math.floor(Math.random() * 25000);
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await free(p);
    if (ok) return base;
  }
}

function curl(url: string): { ok: boolean; bytesPerSecond: number } {
  const r = spawnSync('curl', ['-sS', '-o', '/dev/null', '--max-time', '60', '-w', '%{http_code} %{speed_download}', url], { encoding: 'utf8' });
  const [code, speed] = r.stdout.trim().split(' ');
  return { ok: r.status === 0 && code === '200', bytesPerSecond: Number(speed) };
}

/** MiB/s of a large file served by busybox httpd in a container, fetched by curl through -p 127.0.0.1:PORT:80 (best of 3). */
async function throughput(e: Engine): Promise<number> {
  const port = await freePorts(1);
  const id = sh([...e.cli, 'run', '-d', '-p', `127.0.0.1:${port}:80`, 'bench/busybox', 'sh', '-c',
    `mkdir /w && dd if=/dev/zero of=/w/big bs=1M count=${FILE_MIB} 2>/dev/null && exec httpd -f -p 80 -h /w`]).trim();
  try {
    const url = `http://127.0.0.1:${port}/big`;
    const deadline = Date.now() + 60_000;
    while (!curl(url).ok) {
      if (Date.now() > deadline) throw new Error(`${e.name}: ${url} never answered`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return Math.max(...[0, 1, 2].map(() => curl(url).bytesPerSecond)) / 2 ** 20;
  } finally {
    sh([...e.cli, 'rm', '-f', id]);
  }
}

/** The engine's RSS (dockerd counts its docker-proxy children) with one container publishing `ports` ports. */
async function rssWithPorts(e: Engine, ports: number): Promise<{ mib: number; proxies: number }> {
  const base = ports ? await freePorts(ports) : 0;
  const args = ports ? ['-p', `127.0.0.1:${base}-${base + ports - 1}:1-${ports}`] : [];
  const id = sh([...e.cli, 'run', '-d', ...args, 'bench/busybox', 'sleep', '600']).trim();
  try {
    await new Promise((r) => setTimeout(r, 1000)); // let allocations settle
    const proxies = e.pids().flatMap((p) => childPids(p)).filter((p) => commName(p) === 'docker-proxy').length;
    return { mib: rssKiB(e.pids()) / 1024, proxies };
  } finally {
    sh([...e.cli, 'rm', '-f', id]);
  }
}

function commName(pid: number): string {
  const r = spawnSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' });
  return r.stdout.trim();
}

/**
 * One container's network plumbing on its own (namespace with lo up, veth pair on a bridge, address,
 * default route, then teardown), as berthd does it through rtnetlink and as it did before with one
 * `ip` process per step: free of the CLI's and runc's noise.
 */
function plumbing(rounds = 30): Result {
  const tag = randomBytes(2).toString('hex');
  const bridge = `bnf${tag}`;
  const third = randomBytes(1)[0]!;
  ensureBridge(bridge, `10.199.${third}.1/24`);
  const ip = (args: string[]) => execFileSync('ip', args, { stdio: 'ignore' });
  const spec = (i: number) => ({ netns: `bnf${tag}-${i}`, hostIf: `vbnf${tag}${i}`, containerIf: 'eth0', bridge, mac: '02:42:0a:c7:00:02', addressCidr: `10.199.${third}.${i + 2}/24`, gateway: `10.199.${third}.1` });
  const perRound = (fn: (i: number) => void) => median(Array.from({ length: rounds }, (_, i) => time(() => fn(i)) * 1000));
  try {
    const netlink = perRound((i) => {
      const v = spec(i);
      ensureNetns(v.netns);
      addVeth(v);
      deleteNetns(v.netns);
    });
    // The same steps as spawned tools, as berthd did them before.
    const tools = perRound((i) => {
      const v = spec(i);
      const n = ['-n', v.netns];
      spawnSync('ip', ['netns', 'pids', v.netns]);
      ip(['netns', 'add', v.netns]);
      ip([...n, 'link', 'set', 'lo', 'up']);
      spawnSync('ip', ['link', 'show', v.hostIf]);
      ip(['link', 'add', v.hostIf, 'type', 'veth', 'peer', 'name', 'p' + v.hostIf, 'netns', v.netns]);
      ip(['link', 'set', v.hostIf, 'master', bridge, 'up']);
      ip([...n, 'link', 'set', 'p' + v.hostIf, 'name', v.containerIf, 'address', v.mac]);
      ip([...n, 'addr', 'add', v.addressCidr, 'dev', v.containerIf]);
      ip([...n, 'link', 'set', v.containerIf, 'up']);
      ip([...n, 'route', 'replace', 'default', 'via', v.gateway, 'dev', v.containerIf]);
      spawnSync('ip', ['link', 'show', v.hostIf]);
      ip(['link', 'del', v.hostIf]);
      spawnSync('ip', ['netns', 'pids', v.netns]);
      ip(['netns', 'del', v.netns]);
    });
    return { scenario: `one container's network plumbing and teardown inside berthd (median of ${rounds})`, unit: 'ms', values: { berth: netlink, 'before, with ip processes': tools } };
  } finally {
    for (let i = 0; i < rounds; i++) {
      deleteNetns(spec(i).netns);
      deleteLink(spec(i).hostIf);
    }
    deleteLink(bridge);
  }
}

export async function scenarioNetwork(engines: Engine[], rounds = 15): Promise<Result[]> {
  const none: Record<string, number> = {};
  const bridge: Record<string, number> = {};
  const added: Record<string, number> = {};
  const speed: Record<string, number> = {};
  const memory: Record<string, number> = {};
  const notes: string[] = [];
  for (const e of engines.filter((x) => x.name !== 'podman')) {
    // Interleaved, so a burst of load on the machine does not land on one side only.
    const n1 = runRm(e, 'none', rounds);
    const b1 = runRm(e, 'bridge', rounds);
    const n2 = runRm(e, 'none', rounds);
    const b2 = runRm(e, 'bridge', rounds);
    none[e.name] = Math.min(n1, n2);
    bridge[e.name] = Math.min(b1, b2);
    added[e.name] = bridge[e.name]! - none[e.name]!;
    speed[e.name] = await throughput(e);
    const without = await rssWithPorts(e, 0);
    const withPorts = await rssWithPorts(e, PORTS);
    memory[e.name] = withPorts.mib - without.mib;
    if (withPorts.proxies) notes.push(`${e.name}: ${withPorts.proxies} docker-proxy processes`);
  }
  return [
    plumbing(),
    { scenario: '`run --rm --network none busybox true` (median of 15, best of 2)', unit: 'ms', values: none },
    { scenario: '`run --rm busybox true` on the default bridge (median of 15, best of 2)', unit: 'ms', values: bridge },
    { scenario: 'what the bridge adds to `run --rm` (difference of the two above)', unit: 'ms', values: added },
    { scenario: `published port on 127.0.0.1: curl of a ${FILE_MIB} MiB file from busybox httpd (best of 3)`, unit: 'MiB/s', values: speed },
    { scenario: `memory of ${PORTS} published ports (engine RSS with them minus without)`, unit: 'MiB', values: memory, note: notes.join('; ') || undefined },
  ];
}
