import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMountPoint, lgetxattr, llistxattr, lsetxattr, major, minor, mknod, mountAll, S_IFCHR, unmount } from '../../src/lib/sys/index.js';

test('an overlay of 200 lower layers mounts (past the one-page option limit) and reads top and bottom', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-ovl-'));
  const target = path.join(dir, 'merged');
  try {
    const lowers: string[] = [];
    for (let i = 0; i < 200; i++) {
      const l = path.join(dir, `layer-with-a-long-directory-name-${String(i).padStart(3, '0')}`);
      mkdirSync(l);
      writeFileSync(path.join(l, `f${i}`), `layer ${i}`);
      lowers.unshift(l); // top first
    }
    for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(dir, d));
    const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`];
    assert.ok(options.join(',').length > 4096);
    mountAll([{ type: 'overlay', source: 'overlay', options }], target);
    try {
      assert.equal(isMountPoint(target), true);
      assert.equal(readFileSync(path.join(target, 'f0'), 'utf8'), 'layer 0');
      assert.equal(readFileSync(path.join(target, 'f199'), 'utf8'), 'layer 199');
      writeFileSync(path.join(target, 'new'), 'x');
      assert.equal(readFileSync(path.join(dir, 'upper', 'new'), 'utf8'), 'x');
    } finally {
      unmount(target);
    }
    assert.equal(isMountPoint(target), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mknod makes char devices and xattrs are binary-safe and never follow symlinks', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-sys-'));
  try {
    const dev = path.join(dir, 'null');
    mknod(dev, S_IFCHR | 0o666, 1, 3);
    const st = statSync(dev);
    assert.equal(st.isCharacterDevice(), true);
    assert.equal(major(st.rdev), 1);
    assert.equal(minor(st.rdev), 3);
    const f = path.join(dir, 'f');
    writeFileSync(f, '');
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0xff, 0x00]);
    lsetxattr(f, 'trusted.berth-test', cap);
    assert.deepEqual(lgetxattr(f, 'trusted.berth-test'), cap);
    assert.ok(llistxattr(f).includes('trusted.berth-test'));
    symlinkSync(f, path.join(dir, 'link'));
    assert.equal(lgetxattr(path.join(dir, 'link'), 'trusted.berth-test'), undefined);
    assert.throws(() => mknod(dev, S_IFCHR | 0o666, 1, 3), { code: 'EEXIST' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
