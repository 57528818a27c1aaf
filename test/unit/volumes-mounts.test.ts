// planMounts: Docker's -v/--mount/--tmpfs/VOLUME grammar and its errors, against a real
// VolumeService on a temporary directory (no mounts are made at plan time).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ANONYMOUS_LABEL, VolumeService, mountPointsOf, planMounts } from '../../src/volumes/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'berth-volplan-'));
after(() => rmSync(root, { recursive: true, force: true }));
const volumes = new VolumeService(root);

test('-v forms: named, bind with modes, anonymous; the image VOLUME gives way to the user', () => {
  const bindSrc = path.join(root, 'made-by-v');
  const plans = planMounts(volumes, { Binds: ['data:/srv/data:ro', `${bindSrc}:/h:ro,rslave`, '/anon'], Volumes: { '/srv/data': {}, '/img': {} } });
  assert.equal(existsSync(bindSrc), true, '-v creates a missing host directory, as Docker does');
  const points = mountPointsOf(plans);
  const anon = points.find((p) => p.Destination === '/anon')!;
  const img = points.find((p) => p.Destination === '/img')!;
  assert.deepEqual(points.filter((p) => p.Destination !== '/anon' && p.Destination !== '/img'), [
    { Type: 'volume', Name: 'data', Source: volumes.mountpoint('data'), Destination: '/srv/data', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' },
    { Type: 'bind', Source: bindSrc, Destination: '/h', Mode: 'ro,rslave', RW: false, Propagation: 'rslave' },
  ]);
  for (const p of [anon, img]) {
    assert.match(p.Name!, /^[a-f0-9]{64}$/);
    assert.deepEqual(volumes.inspect(p.Name!).Labels, { [ANONYMOUS_LABEL]: '' });
  }
  assert.equal(points.length, 4);
});

test('--mount and --tmpfs: tmpfs from --tmpfs is not listed, options are kept', () => {
  const plans = planMounts(volumes, {
    Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 4096, Mode: 0o1777 } }, { Type: 'volume', Source: 'mv', Target: '/mv', VolumeOptions: { NoCopy: true, Labels: { a: 'b' } } }],
    Tmpfs: { '/run': 'size=1m,ro' },
  });
  assert.deepEqual(plans.find((p) => p.Destination === '/t')!.tmpfsOptions, ['size=4096', 'mode=1777']);
  assert.deepEqual(plans.find((p) => p.Destination === '/run'), { Type: 'tmpfs', Source: '', Destination: '/run', Mode: '', RW: false, Propagation: '', tmpfsOptions: ['size=1m'], hidden: true });
  assert.equal(plans.find((p) => p.Destination === '/mv')!.copyData, false);
  assert.equal(plans.find((p) => p.Destination === '/mv')!.Mode, '', '--mount shows no mode, unlike -v');
  assert.deepEqual(volumes.inspect('mv').Labels, { a: 'b' });
  assert.deepEqual(mountPointsOf(plans).map((p) => p.Destination), ['/t', '/mv']);
});

test('bad mounts are refused with Docker\'s messages and leave no volume behind', () => {
  const before = volumes.list().length;
  const cases: Array<[Parameters<typeof planMounts>[1], RegExp]> = [
    [{ Binds: ['/anon2'], Mounts: [{ Type: 'bind', Source: '/no/such/dir', Target: '/x' }] }, /^invalid mount config for type "bind": bind source path does not exist: \/no\/such\/dir$/],
    [{ Binds: ['newvol:/a'], Mounts: [{ Type: 'volume', Target: 'rel' }] }, /^invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute$/],
    [{ Binds: ['aa:/same', 'bb:/same'] }, /^Duplicate mount point: \/same$/],
    [{ Binds: ['vol:/x:bogus'] }, /^invalid volume specification: 'vol:\/x:bogus': invalid mode: bogus$/],
    [{ Binds: ['bad name:/x'] }, /includes invalid characters for a local volume name/],
    [{ Binds: ['/h:/'] }, /destination can't be '\/'/],
    [{ Mounts: [{ Type: 'nfs', Target: '/x' }] }, /mount type unknown/],
  ];
  for (const [input, message] of cases) assert.throws(() => planMounts(volumes, input), (err: Error) => message.test(err.message), JSON.stringify(input));
  assert.equal(volumes.list().length, before);
  assert.equal(volumes.exists('newvol'), false);
});

test('volume filters, remove and prune with usage from the users callback', () => {
  const v = new VolumeService(path.join(root, 'second'));
  v.create({ Name: 'used', Labels: { k: 'v' } });
  v.create({ Name: 'idle' });
  const anon = v.createAnonymous().Name;
  v.setUsedBy((name) => (name === 'used' ? ['c1'] : []));
  assert.deepEqual(v.list({ dangling: ['true'] }).map((x) => x.Name).sort(), [anon, 'idle'].sort());
  assert.deepEqual(v.list({ label: ['k=v'] }).map((x) => x.Name), ['used']);
  assert.throws(() => v.list({ bogus: ['1'] }), /invalid filter 'bogus'/);
  assert.throws(() => v.remove('used'), /: remove used: volume is in use - \[c1\]$/);
  assert.throws(() => v.remove('missing'), /get missing: no such volume/);
  v.remove('missing', { force: true });
  assert.deepEqual(v.prune().VolumesDeleted, [anon]);
  assert.deepEqual(v.prune({ all: ['true'] }).VolumesDeleted, ['idle']);
  assert.equal(existsSync(v.mountpoint('idle')), false);
  assert.deepEqual(v.list().map((x) => x.Name), ['used']);
  // Records survive a reopen (a restart).
  assert.deepEqual(new VolumeService(path.join(root, 'second')).inspect('used').Labels, { k: 'v' });
});
