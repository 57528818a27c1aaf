import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortKey, portsToPublish } from '../../src/network/ports.js';

test('port keys: protocol defaults to tcp, ranges, sctp and garbage refused', () => {
  assert.deepEqual(parsePortKey('80'), { port: 80, endPort: 80, proto: 'tcp' });
  assert.deepEqual(parsePortKey('53/udp'), { port: 53, endPort: 53, proto: 'udp' });
  assert.deepEqual(parsePortKey('8000-8002/tcp'), { port: 8000, endPort: 8002, proto: 'tcp' });
  assert.throws(() => parsePortKey('80/sctp'), /sctp/);
  assert.throws(() => parsePortKey('http'), /invalid port specification/);
});

test('bindings expand to single ports; -P adds every exposed port not already bound, on a free host port', () => {
  const out = portsToPublish({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '' }] }, { '80/tcp': {}, '443/tcp': {} }, true);
  assert.deepEqual(out, [
    { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'tcp' },
    { hostIp: '0.0.0.0', hostPort: 0, containerPort: 53, proto: 'udp' },
    { hostIp: '0.0.0.0', hostPort: 0, containerPort: 443, proto: 'tcp' },
  ]);
  assert.deepEqual(portsToPublish(undefined, { '80/tcp': {} }, false), []);
  assert.throws(() => portsToPublish({ '80/tcp': [{ HostIp: '', HostPort: '70000' }] }, undefined, false), /invalid port specification/);
});

test('ranges: an API key range publishes each port; a host range is paired port by port or searched for a free one', () => {
  assert.deepEqual(portsToPublish({ '80-82/tcp': [{ HostIp: '127.0.0.1', HostPort: '8000-8002' }] }, undefined, false).map((p) => [p.containerPort, p.hostPort, p.hostPortEnd]), [
    [80, 8000, undefined], [81, 8001, undefined], [82, 8002, undefined],
  ]);
  assert.deepEqual(portsToPublish({ '80-81/udp': [{ HostIp: '', HostPort: '' }] }, undefined, false).map((p) => [p.containerPort, p.hostPort, p.proto]), [[80, 0, 'udp'], [81, 0, 'udp']]);
  assert.deepEqual(portsToPublish({ '80/tcp': [{ HostIp: '', HostPort: '8000-8010' }] }, undefined, false), [
    { hostIp: '0.0.0.0', hostPort: 8000, hostPortEnd: 8010, containerPort: 80, proto: 'tcp' },
  ]);
  assert.throws(() => portsToPublish({ '80-82/tcp': [{ HostIp: '', HostPort: '8000-8001' }] }, undefined, false), /invalid ranges specified/);
  assert.throws(() => portsToPublish({ '80/tcp': [{ HostIp: '', HostPort: '9-8' }] }, undefined, false), /invalid port specification/);
});
