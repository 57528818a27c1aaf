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
