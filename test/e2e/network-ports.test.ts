// Published ports end to end through the docker CLI: a fixed host port on 127.0.0.1, port ranges
// (TCP served and fetched, UDP bound), a host range searched for a free port, a graceful berthd
// restart keeping a port working, and Docker's error for an unknown --network. Traffic goes only
// to loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import Docker from 'dockerode';
import { busyboxTar } from '../helpers/busybox.js';
import { dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fetchText } from '../helpers/http.js';

let daemon: TestDaemon;
let docker: Docker;

function cli(args: string[], input?: Buffer): { code: number; out: string; err: string } {
  const r = spawnSync(dockerCli!, args, { env: { ...process.env, DOCKER_HOST: daemon.host }, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function ok(args: string[]): string {
  const r = cli(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}

function canBind(port: number, proto: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
      return;
    }
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** The first of `n` consecutive host ports free for both TCP and UDP on 127.0.0.1. */
async function freePorts(n: number): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let free = true;
    for (let p = base; p < base + n && free; p++) free = (await canBind(p, 'tcp')) && (await canBind(p, 'udp'));
    if (free) return base;
  }
  throw new Error('no free port range');
}

/** busybox httpd on each port, serving "<text><port>". */
const HTTPD = (text: string, ports: number[]) => ['sh', '-c', ports.map((p) => `mkdir -p /w${p}; echo ${text}${p} > /w${p}/index.html; httpd -p ${p} -h /w${p}`).join('; ') + '; exec sleep 600'];

before(async () => {
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
  const r = cli(['import', '--change', 'CMD ["sh"]', '-', 'busybox:latest'], busyboxTar());
  assert.equal(r.code, 0, r.err);
});

after(async () => {
  if (!daemon) return;
  for (const c of await docker.listContainers({ all: true }).catch(() => [])) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  await daemon.stop();
});

test('-p 127.0.0.1:PORT:80 serves on exactly that port, also after a graceful berthd restart', async () => {
  const port = await freePorts(1);
  ok(['run', '-d', '--name', 'fixed', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD('fixed', [80])]);
  assert.equal(ok(['port', 'fixed', '80']).trim(), `127.0.0.1:${port}`);
  assert.equal((await fetchText(`http://127.0.0.1:${port}/`)).trim(), 'fixed80');
  await daemon.restart(); // SIGTERM, then a new berthd on the same data root
  assert.equal((await fetchText(`http://127.0.0.1:${port}/`)).trim(), 'fixed80');
  ok(['rm', '-f', 'fixed']);
  assert.equal(await canBind(port, 'tcp'), true, 'the host port is free again after rm');
});

test('port ranges publish every port: -p A-C:80-82 (served) and -p 127.0.0.1:A-B:80-81/udp (bound)', async () => {
  const tcp = await freePorts(3);
  ok(['run', '-d', '--name', 'range', '-p', `127.0.0.1:${tcp}-${tcp + 2}:80-82`, 'busybox', ...HTTPD('r', [80, 81, 82])]);
  for (let i = 0; i < 3; i++) assert.equal((await fetchText(`http://127.0.0.1:${tcp + i}/`)).trim(), `r${80 + i}`);
  assert.deepEqual(ok(['port', 'range']).trim().split('\n').sort(), [0, 1, 2].map((i) => `${80 + i}/tcp -> 127.0.0.1:${tcp + i}`).sort());

  const udp = await freePorts(2);
  ok(['run', '-d', '--name', 'urange', '-p', `127.0.0.1:${udp}-${udp + 1}:80-81/udp`, 'busybox', 'sleep', '600']);
  assert.deepEqual(ok(['port', 'urange']).trim().split('\n').sort(), [`80/udp -> 127.0.0.1:${udp}`, `81/udp -> 127.0.0.1:${udp + 1}`]);
  for (const p of [udp, udp + 1]) assert.equal(await canBind(p, 'udp'), false, `udp ${p} is not published`);
  const info = await docker.getContainer('urange').inspect();
  assert.deepEqual(info.NetworkSettings.Ports['81/udp'], [{ HostIp: '127.0.0.1', HostPort: String(udp + 1) }]);
  ok(['rm', '-f', 'range', 'urange']);
});

test('a host range for one container port takes its first free port', async () => {
  const base = await freePorts(3);
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen({ port: base, host: '127.0.0.1' }, () => r()));
  try {
    ok(['run', '-d', '--name', 'search', '-p', `127.0.0.1:${base}-${base + 2}:80`, 'busybox', ...HTTPD('s', [80])]);
    assert.equal(ok(['port', 'search', '80']).trim(), `127.0.0.1:${base + 1}`);
    assert.equal((await fetchText(`http://127.0.0.1:${base + 1}/`)).trim(), 's80');
  } finally {
    squatter.close();
    cli(['rm', '-f', 'search']);
  }
});

test('an unknown --network: Docker\'s error from the docker CLI, no pull attempt; create succeeds and start fails with 404', async () => {
  const r = cli(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
  assert.equal(r.code, 125);
  // What a reference dockerd gives through the same CLI (the CLI adds a final '.' in some versions).
  assert.match(r.err.trim().split('\n')[0]!, /^docker: Error response from daemon: network nosuchnet not found\.?$/, r.err);
  assert.doesNotMatch(r.err, /Unable to find image|pull/i);
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'nosuchnet' } });
  await assert.rejects(c.start(), (err: { statusCode?: number; message: string }) => {
    assert.equal(err.statusCode, 404);
    assert.match(err.message, /network nosuchnet not found/);
    return true;
  });
  assert.equal((await c.inspect()).State.Status, 'created');
  await c.remove();
});
