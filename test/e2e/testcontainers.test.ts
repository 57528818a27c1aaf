// Testcontainers for Node against a real berthd, unchanged: a container with an exposed port and
// its default wait strategy, exec with an exit code, and a network where one container reaches
// another by alias. Ryuk (its reaper image) cannot be pulled here, so it is disabled, as users of
// a daemon without internet access do.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { importBusyboxImage } from '../helpers/busybox.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';

let daemon: TestDaemon;

before(async () => {
  daemon = await startDaemon();
  await importBusyboxImage(daemon.socket);
  // Read once, when testcontainers first makes its client.
  process.env['DOCKER_HOST'] = daemon.host;
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] = '127.0.0.1';
});

after(async () => {
  await daemon?.stop();
});

test('testcontainers: start with the default port wait, exec, network aliases, stop and remove', async () => {
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const network = await new Network().start();
  const web = await new GenericContainer('busybox:latest')
    .withCommand(['sh', '-c', 'mkdir -p /www && echo hi-tc > /www/index.html && httpd -f -p 80 -h /www'])
    .withExposedPorts(80)
    .withEnvironment({ GREETING: 'hello' })
    .withNetwork(network)
    .withNetworkAliases('webby')
    .start();
  const client = await new GenericContainer('busybox:latest')
    .withCommand(['sh', '-c', 'echo client-ready; sleep 120'])
    .withNetwork(network)
    .withWaitStrategy(Wait.forLogMessage('client-ready'))
    .start();
  try {
    const body = await (await fetch(`http://${web.getHost()}:${web.getMappedPort(80)}/`)).text();
    assert.equal(body, 'hi-tc\n');
    const ex = await web.exec(['sh', '-c', 'echo $GREETING; echo oops >&2; exit 3']);
    assert.equal(ex.exitCode, 3);
    assert.equal(ex.stdout, 'hello\n');
    assert.equal(ex.stderr, 'oops\n');
    const viaAlias = await client.exec(['wget', '-qO-', 'http://webby/']);
    assert.equal(viaAlias.exitCode, 0, viaAlias.output);
    assert.equal(viaAlias.stdout, 'hi-tc\n');
  } finally {
    await client.stop();
    await web.stop();
    await network.stop();
  }
  const Docker = (await import('dockerode')).default;
  const docker = new Docker({ socketPath: daemon.socket });
  assert.deepEqual(await docker.listContainers({ all: true }), []);
  assert.deepEqual((await docker.listNetworks()).map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
});
