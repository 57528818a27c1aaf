import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipam } from '../../src/network/ipam.js';
import { parseIPv4, parseSubnet, overlaps, formatSubnet } from '../../src/network/subnet.js';

test('subnets parse, refuse host bits, and detect overlap', () => {
  assert.equal(formatSubnet(parseSubnet('10.88.0.0/16')), '10.88.0.0/16');
  assert.throws(() => parseSubnet('10.88.0.1/16'), /should be 10.88.0.0\/16/);
  assert.throws(() => parseSubnet('10.88.0.0/33'), /invalid CIDR/);
  assert.throws(() => parseIPv4('300.1.1.1'), /invalid IPv4/);
  assert.equal(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.1.0.0/16')), true);
  assert.equal(overlaps(parseSubnet('10.1.0.0/16'), parseSubnet('10.2.0.0/16')), false);
});

test('IPAM skips network, gateway and broadcast and never hands out an address twice', () => {
  const subnet = parseSubnet('192.0.2.0/29'); // 8 addresses: .0 network, .7 broadcast, .1 gateway
  const ipam = new Ipam(subnet, parseIPv4('192.0.2.1'));
  const got = new Set<string>();
  for (let i = 0; i < 5; i++) got.add(ipam.allocate(`c${i}`));
  assert.deepEqual([...got].sort(), ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6']);
  assert.throws(() => ipam.allocate('c5'), /no available IPv4 addresses/);
  ipam.releaseOwner('c2');
  assert.equal(ipam.allocate('c6'), '192.0.2.4');
});

test('IPAM honours a requested address and refuses one in use or outside the subnet', () => {
  const ipam = new Ipam(parseSubnet('192.0.2.0/24'), parseIPv4('192.0.2.1'));
  assert.equal(ipam.allocate('a', '192.0.2.50'), '192.0.2.50');
  assert.throws(() => ipam.allocate('b', '192.0.2.50'), /already in use/);
  assert.throws(() => ipam.allocate('b', '198.51.100.2'), /not in the subnet/);
  assert.throws(() => ipam.allocate('b', '192.0.2.1'), /reserved/);
});

test('IPAM does not reuse a just-released address before others are used', () => {
  const ipam = new Ipam(parseSubnet('192.0.2.0/24'), parseIPv4('192.0.2.1'));
  const first = ipam.allocate('a');
  ipam.release(first);
  assert.notEqual(ipam.allocate('b'), first);
});
