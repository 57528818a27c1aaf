import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { applyLayer, diffUpper, tarTree } from '../../src/lib/archive/index.js';
import { TarWriter, type TarHeader } from '../../src/lib/tar/index.js';
import { lgetxattr, lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../../src/lib/sys/index.js';
import { sha256 } from '../../src/lib/digest.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'berth-archive-'));

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function makeTar(entries: Array<Partial<TarHeader> & { name: string; body?: string }>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = new TarWriter({ write: (c) => void chunks.push(c) });
  for (const e of entries) {
    const body = e.body !== undefined ? Buffer.from(e.body) : undefined;
    await w.add({ type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1000, linkname: '', devmajor: 0, devminor: 0, ...e, size: body?.length ?? 0 }, body);
  }
  await w.finish();
  return Buffer.concat(chunks);
}

/** A tree with every kind of thing a layer can hold. */
function makeRichTree(dir: string): void {
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin', 'tool'), 'binary');
  chownSync(path.join(dir, 'bin', 'tool'), 1000, 1001);
  chmodSync(path.join(dir, 'bin', 'tool'), 0o4755);
  lsetxattr(path.join(dir, 'bin', 'tool'), 'security.capability', Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  linkSync(path.join(dir, 'bin', 'tool'), path.join(dir, 'bin', 'tool-link'));
  symlinkSync('tool', path.join(dir, 'bin', 'sym'));
  mkdirSync(path.join(dir, 'tmp'));
  chmodSync(path.join(dir, 'tmp'), 0o1777);
  mkdirSync(path.join(dir, 'shared'));
  chmodSync(path.join(dir, 'shared'), 0o2775);
  mkdirSync(path.join(dir, 'dev'));
  mknod(path.join(dir, 'dev', 'null'), S_IFCHR | 0o666, 1, 3);
  mknod(path.join(dir, 'dev', 'fifo'), S_IFIFO | 0o600);
  mknod(path.join(dir, 'dev', 'loop9'), S_IFBLK | 0o660, 7, 9);
  const deep = path.join(dir, 'd'.repeat(90), 'e'.repeat(90), 'f'.repeat(90));
  mkdirSync(deep, { recursive: true });
  writeFileSync(path.join(deep, 'long-name-file-' + 'x'.repeat(120)), 'deep');
  utimesSync(path.join(dir, 'bin', 'tool'), 1234567890, 1234567890);
}

test('a tree round-trips through tarTree and applyLayer with every attribute', async () => {
  const src = tmp();
  const dst = tmp();
  try {
    makeRichTree(src);
    const tar = await collect(tarTree(src));
    const result = await applyLayer(dst, Readable.from([tar]));
    assert.equal(result.diffID, sha256(tar));
    assert.equal(result.size, tar.length);
    const tool = lstatSync(path.join(dst, 'bin', 'tool'));
    assert.equal(tool.mode & 0o7777, 0o4755);
    assert.equal(tool.uid, 1000);
    assert.equal(tool.gid, 1001);
    assert.equal(tool.mtimeMs, 1234567890000);
    assert.equal(tool.nlink, 2);
    assert.equal(lstatSync(path.join(dst, 'bin', 'tool-link')).ino, tool.ino);
    assert.deepEqual(lgetxattr(path.join(dst, 'bin', 'tool'), 'security.capability'), lgetxattr(path.join(src, 'bin', 'tool'), 'security.capability'));
    assert.equal(readlinkSync(path.join(dst, 'bin', 'sym')), 'tool');
    assert.equal(lstatSync(path.join(dst, 'tmp')).mode & 0o7777, 0o1777);
    assert.equal(lstatSync(path.join(dst, 'shared')).mode & 0o7777, 0o2775);
    assert.equal(lstatSync(path.join(dst, 'dev', 'null')).isCharacterDevice(), true);
    assert.equal(lstatSync(path.join(dst, 'dev', 'null')).rdev, lstatSync(path.join(src, 'dev', 'null')).rdev);
    assert.equal(lstatSync(path.join(dst, 'dev', 'fifo')).isFIFO(), true);
    assert.equal(lstatSync(path.join(dst, 'dev', 'loop9')).isBlockDevice(), true);
    assert.equal(lstatSync(path.join(dst, 'dev', 'loop9')).rdev, lstatSync(path.join(src, 'dev', 'loop9')).rdev);
    const deep = path.join('d'.repeat(90), 'e'.repeat(90), 'f'.repeat(90), 'long-name-file-' + 'x'.repeat(120));
    assert.equal(readFileSync(path.join(dst, deep), 'utf8'), 'deep');
    // Determinism: archiving the unpacked copy gives the same bytes.
    assert.equal(sha256(await collect(tarTree(dst))), sha256(tar));
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(dst, { recursive: true, force: true });
  }
});

test('GNU tar reads what berth writes, and berth applies what GNU tar writes', async () => {
  const src = tmp();
  const dst = tmp();
  const dst2 = tmp();
  try {
    makeRichTree(src);
    const gnu = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', src, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
    await applyLayer(dst, Readable.from([gnu]));
    assert.deepEqual(lgetxattr(path.join(dst, 'bin', 'tool'), 'security.capability'), lgetxattr(path.join(src, 'bin', 'tool'), 'security.capability'));
    assert.equal(lstatSync(path.join(dst, 'bin', 'tool')).mode & 0o7777, 0o4755);
    const ours = await collect(tarTree(src));
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', dst2, '-xf', '-'], { input: ours });
    assert.equal(readFileSync(path.join(dst2, 'bin', 'tool'), 'utf8'), 'binary');
    assert.equal(lstatSync(path.join(dst2, 'dev', 'null')).isCharacterDevice(), true);
    assert.equal(lstatSync(path.join(dst2, 'dev', 'loop9')).isBlockDevice(), true);
  } finally {
    for (const d of [src, dst, dst2]) rmSync(d, { recursive: true, force: true });
  }
});

test('hostile entries are refused and nothing is written outside the root', async (t) => {
  const cases: Record<string, Array<Partial<TarHeader> & { name: string; body?: string }>> = {
    'dot-dot path': [{ name: '../escaped', body: 'x' }],
    'nested dot-dot': [{ name: 'a/../../escaped', body: 'x' }],
    'hardlink outside': [{ name: 'h', type: 'link', linkname: '../canary/secret' }],
    // An absolute hardlink target means the layer's own path, which does not exist here.
    'absolute hardlink': [{ name: 'h', type: 'link', linkname: '/../canary/secret' }],
    'hardlink through a symlink that climbs out': [
      { name: 'up', type: 'symlink', linkname: '../../..' },
      { name: 'h', type: 'link', linkname: 'up/canary/secret' },
    ],
  };
  for (const [name, entries] of Object.entries(cases)) {
    await t.test(name, async () => {
      const top = tmp();
      try {
        const root = path.join(top, 'root');
        const canary = path.join(top, 'canary');
        mkdirSync(root);
        mkdirSync(canary);
        writeFileSync(path.join(canary, 'secret'), 'untouched');
        await assert.rejects(applyLayer(root, Readable.from([await makeTar(entries)])), { name: 'InvalidArgument' });
        assert.equal(existsSync(path.join(top, 'escaped')), false);
        assert.equal(readFileSync(path.join(canary, 'secret'), 'utf8'), 'untouched');
      } finally {
        rmSync(top, { recursive: true, force: true });
      }
    });
  }
  await t.test('symlinks are followed inside the root only', async () => {
    const top = tmp();
    try {
      const root = path.join(top, 'root');
      const canary = path.join(top, 'canary');
      mkdirSync(root);
      mkdirSync(canary);
      writeFileSync(path.join(canary, 'secret'), 'untouched');
      const tar = await makeTar([
        { name: 'etc', type: 'symlink', linkname: canary }, // absolute, points outside
        { name: 'etc/secret', body: 'overwritten' },
        { name: 'up', type: 'symlink', linkname: '../../../..' + canary },
        { name: 'up/secret2', body: 'x' },
        { name: '/abs/file', body: 'abs' },
        { name: 'final-link', type: 'symlink', linkname: path.join(canary, 'secret') },
        { name: 'final-link', body: 'replaced, not written through' },
      ]);
      await applyLayer(root, Readable.from([tar]));
      assert.equal(readFileSync(path.join(canary, 'secret'), 'utf8'), 'untouched');
      assert.equal(existsSync(path.join(canary, 'secret2')), false);
      assert.equal(readFileSync(path.join(root, canary, 'secret'), 'utf8'), 'overwritten');
      assert.equal(readFileSync(path.join(root, 'abs', 'file'), 'utf8'), 'abs');
      assert.equal(lstatSync(path.join(root, 'final-link')).isFile(), true);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});

test('OCI whiteouts become overlay whiteouts and back', async () => {
  const upper = tmp();
  const flat = tmp();
  try {
    const tar = await makeTar([
      { name: 'etc/', type: 'dir', mode: 0o755 },
      { name: 'etc/.wh.passwd' },
      { name: 'var/', type: 'dir', mode: 0o755 },
      { name: 'var/.wh..wh..opq' },
      { name: 'var/new', body: 'n' },
    ]);
    await applyLayer(upper, Readable.from([tar]), { whiteouts: 'overlay' });
    const wh = lstatSync(path.join(upper, 'etc', 'passwd'));
    assert.equal(wh.isCharacterDevice() && wh.rdev === 0, true);
    assert.equal(lgetxattr(path.join(upper, 'var'), 'trusted.overlay.opaque')?.toString(), 'y');
    const names = execFileSync('tar', ['-tf', '-'], { input: await collect(diffUpper(upper)) }).toString().trim().split('\n');
    assert.deepEqual(names, ['etc/', 'etc/.wh.passwd', 'var/', 'var/.wh..wh..opq', 'var/new']);
    // On a flattened tree the same layer deletes.
    mkdirSync(path.join(flat, 'etc'));
    writeFileSync(path.join(flat, 'etc', 'passwd'), 'root');
    mkdirSync(path.join(flat, 'var'));
    writeFileSync(path.join(flat, 'var', 'old'), 'o');
    await applyLayer(flat, Readable.from([tar]), { whiteouts: 'delete' });
    assert.equal(existsSync(path.join(flat, 'etc', 'passwd')), false);
    assert.equal(existsSync(path.join(flat, 'var', 'old')), false);
    assert.equal(readFileSync(path.join(flat, 'var', 'new'), 'utf8'), 'n');
  } finally {
    rmSync(upper, { recursive: true, force: true });
    rmSync(flat, { recursive: true, force: true });
  }
});

test('a truncated tar gives a clear error', async () => {
  const root = tmp();
  try {
    const tar = await makeTar([{ name: 'f', body: 'x'.repeat(5000) }]);
    await assert.rejects(applyLayer(root, Readable.from([tar.subarray(0, 1500)])), /truncated/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
