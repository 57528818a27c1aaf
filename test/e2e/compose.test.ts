// docker-compose (Debian's 1.29, through docker-py) against a real berthd, unchanged: a project with
// a build, a published port, a named volume and two services finding each other by name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { importBusyboxImage } from '../helpers/busybox.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';

const composeBin = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p));
const project = `cp${randomBytes(3).toString('hex')}`;
const subnet = `10.${randomInt(200, 250)}.${randomInt(0, 255)}`;
let daemon: TestDaemon;
let dir: string;
let port: number;

function compose(...args: string[]) {
  const r = spawnSync(composeBin!, ['-p', project, ...args], {
    cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DOCKER_HOST: daemon.host, COMPOSE_DOCKER_CLI_BUILD: '0' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  if (!composeBin) return;
  daemon = await startDaemon();
  await importBusyboxImage(daemon.socket);
  port = await freePort();
  dir = mkdtempSync(path.join(os.tmpdir(), 'berth-compose-'));
  mkdirSync(path.join(dir, 'app'));
  writeFileSync(path.join(dir, 'app/Dockerfile'), 'FROM busybox\nARG GREETING=hi\nRUN echo "$GREETING from build" > /greeting\nCMD ["cat", "/greeting"]\n');
  writeFileSync(path.join(dir, 'docker-compose.yml'), `version: "3.8"
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && echo hello-from-web > /www/index.html && echo $$FOO > /data/foo && httpd -f -p 80 -h /www'
    ports: ["127.0.0.1:${port}:80"]
    volumes: ["data:/data"]
    environment: { FOO: bar }
  client:
    image: busybox
    command: sleep 300
    depends_on: [web]
  app:
    build: { context: ./app, args: { GREETING: hello } }
    image: ${project}-app:dev
volumes:
  data: {}
networks:
  default:
    ipam: { config: [{ subnet: "${subnet}.0/24" }] }
`);
});

after(async () => {
  if (!composeBin) return;
  compose('down', '-v', '-t', '1');
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('docker-compose up, ps, exec, run, logs and down -v work unchanged against berthd', { skip: !composeBin && 'docker-compose not installed' }, async () => {
  const built = compose('build');
  assert.equal(built.code, 0, built.err);
  assert.match(built.out, /Successfully tagged cp[0-9a-f]+-app:dev/);

  const up = compose('up', '-d');
  assert.equal(up.code, 0, up.err);
  // Container numbers come from label filters (project AND service): each service starts at 1.
  const ps = compose('ps', '--services', '--filter', 'status=running');
  assert.deepEqual(ps.out.trim().split('\n').sort(), ['client', 'web']);
  const docker = new Docker({ socketPath: daemon.socket });
  const names = (await docker.listContainers()).map((c) => c.Names[0]).sort();
  assert.deepEqual(names, [`/${project}_client_1`, `/${project}_web_1`]);

  // The published port, and the other service by its name on the project's network.
  let body = '';
  for (let i = 0; i < 50 && !body; i++) {
    body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
    if (!body) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(body, 'hello-from-web\n');
  const byName = compose('exec', '-T', 'client', 'wget', '-qO-', 'http://web/');
  assert.equal(byName.code, 0, byName.err);
  assert.equal(byName.out, 'hello-from-web\n');
  const vol = compose('exec', '-T', 'web', 'cat', '/data/foo');
  assert.equal(vol.out, 'bar\n');

  // `run --rm` gives the command's exit code and its output.
  const run = compose('run', '--rm', '-T', 'client', 'sh', '-c', 'echo from-run; exit 4');
  assert.equal(run.code, 4, run.err);
  assert.match(run.out, /from-run/);
  const app = compose('run', '--rm', '-T', 'app');
  assert.equal(app.out.trim(), 'hello from build');

  const logs = compose('logs', '--no-color', 'web');
  assert.equal(logs.code, 0, logs.err);

  const down = compose('down', '-v', '-t', '1');
  assert.equal(down.code, 0, down.err);
  assert.deepEqual(await docker.listContainers({ all: true }), []);
  assert.deepEqual((await docker.listVolumes()).Volumes, []);
  assert.deepEqual((await docker.listNetworks()).map((n) => n.Name).filter((n) => n.startsWith(project)), []);
});
