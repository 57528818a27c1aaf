// The snapshotter contract, run against every implementation, with real mounts (root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Snapshotter } from '../../src/snapshots/index.js';
import { mountAll, unmount } from '../../src/lib/sys/index.js';

async function withMounted<T>(s: Snapshotter, key: string, fn: (dir: string) => T): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-mnt-'));
  mountAll(await s.mounts(key), dir);
  try {
    return fn(dir);
  } finally {
    unmount(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function snapshotterContract(name: string, make: () => { s: Snapshotter; cleanup(): void }): void {
  test(`${name}: layers stack, and two writable snapshots of one parent never see each other's writes`, async () => {
    const { s, cleanup } = make();
    try {
      await s.prepare('base-active');
      await withMounted(s, 'base-active', (d) => writeFileSync(path.join(d, 'base'), 'from base'));
      await s.commit('base', 'base-active');
      await s.prepare('top-active', 'base');
      await withMounted(s, 'top-active', (d) => {
        assert.equal(readFileSync(path.join(d, 'base'), 'utf8'), 'from base');
        writeFileSync(path.join(d, 'top'), 'from top');
      });
      await s.commit('top', 'top-active');
      await s.prepare('c1', 'top');
      await s.prepare('c2', 'top');
      await withMounted(s, 'c1', (d) => writeFileSync(path.join(d, 'mine'), 'c1'));
      await withMounted(s, 'c2', (d) => {
        assert.equal(existsSync(path.join(d, 'mine')), false);
        assert.equal(readFileSync(path.join(d, 'top'), 'utf8'), 'from top');
      });
      assert.equal(readFileSync(path.join(await s.upperDir('c1'), 'mine'), 'utf8'), 'c1');
      await s.view('v', 'top');
      await withMounted(s, 'v', (d) => assert.throws(() => writeFileSync(path.join(d, 'x'), 'x'), { code: 'EROFS' }));
      assert.equal((await s.usage('base')).size, 'from base'.length);
    } finally {
      cleanup();
    }
  });

  test(`${name}: a parent with children cannot be removed; names are unique; unknown keys are NotFound`, async () => {
    const { s, cleanup } = make();
    try {
      await s.prepare('a');
      await s.commit('A', 'a');
      await s.prepare('b', 'A');
      await assert.rejects(s.remove('A'), { name: 'FailedPrecondition' });
      await assert.rejects(s.prepare('b', 'A'), { name: 'AlreadyExists' });
      await assert.rejects(s.stat('nope'), { name: 'NotFound' });
      await assert.rejects(s.prepare('c', 'b'), { name: 'InvalidArgument' });
      await s.remove('b');
      await s.remove('A');
      const names: string[] = [];
      await s.walk((i) => void names.push(i.name));
      assert.deepEqual(names, []);
    } finally {
      cleanup();
    }
  });

  test(`${name}: a layer unpacked before its parent is committed stacks onto it at commit`, async () => {
    const { s, cleanup } = make();
    try {
      // Both prepared with no parent, as a pull unpacks layers side by side.
      await s.prepare('lower-active');
      await s.prepare('upper-active');
      writeFileSync(path.join(await s.upperDir('upper-active'), 'upper'), 'from upper');
      writeFileSync(path.join(await s.upperDir('lower-active'), 'lower'), 'from lower');
      await assert.rejects(s.commit('upper', 'upper-active', undefined, 'lower-active'), { name: 'InvalidArgument' });
      await s.commit('lower', 'lower-active');
      await s.commit('upper', 'upper-active', undefined, 'lower');
      assert.equal((await s.stat('upper')).parent, 'lower');
      await s.view('v', 'upper');
      await withMounted(s, 'v', (d) => {
        assert.equal(readFileSync(path.join(d, 'lower'), 'utf8'), 'from lower');
        assert.equal(readFileSync(path.join(d, 'upper'), 'utf8'), 'from upper');
      });
      await assert.rejects(s.remove('lower'), { name: 'FailedPrecondition' });
      await s.prepare('child-active', 'upper');
      await assert.rejects(s.commit('child', 'child-active', undefined, 'lower'), { name: 'InvalidArgument' });
      await s.remove('child-active');
      await s.remove('v');
      await s.remove('upper');
      await s.remove('lower');
    } finally {
      cleanup();
    }
  });
}
