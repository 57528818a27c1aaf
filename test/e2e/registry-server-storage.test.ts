// The registry's storage on a shared root: blobs already in a berthd content store are linked,
// not copied, and `registry gc` never sweeps them; open uploads are capped with TOOMANYREQUESTS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalContentStore } from '../../src/content/index.js';
import { berthBin } from '../helpers/daemon.js';
import { startRegistry } from '../helpers/registry.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}` as const;

test('on a berthd data root, pushed blobs that berthd already has are linked in place and survive gc', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'berth-regroot-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // A blob berthd wrote: the same content store, no registry label.
  const local = randomBytes(50_000);
  const content = new LocalContentStore(path.join(root, 'content'));
  const w = await content.writer('berthd-pull');
  await w.write(local);
  await w.commit({ digest: sha(local) });
  const inode = statSync(content.path(sha(local))).ino;

  const reg = await startRegistry({ root });
  t.after(() => reg.stop());
  const push = await fetch(`${reg.url}/v2/shared/img/blobs/uploads/?digest=${sha(local)}`, { method: 'POST', body: local });
  assert.equal(push.status, 201);
  assert.equal(statSync(content.path(sha(local))).ino, inode, 'the existing blob file is reused');
  const got = Buffer.from(await (await fetch(`${reg.url}/v2/shared/img/blobs/${sha(local)}`)).arrayBuffer());
  assert.ok(got.equals(local));
  // A blob only the registry brought in, which nothing references.
  const own = randomBytes(1234);
  assert.equal((await fetch(`${reg.url}/v2/shared/img/blobs/uploads/?digest=${sha(own)}`, { method: 'POST', body: own })).status, 201);
  const out = execFileSync(process.execPath, [berthBin, 'registry', 'gc', '--root', root], { encoding: 'utf8' });
  assert.match(out, /1 blobs deleted \(1234 bytes\)/);
  assert.ok(existsSync(content.path(sha(local))), 'berthd blob kept');
  assert.equal(existsSync(content.path(sha(own))), false);
});

test('open uploads past --max-uploads are TOOMANYREQUESTS with Retry-After', async (t) => {
  const reg = await startRegistry({ args: ['--max-uploads', '1'] });
  t.after(() => reg.stop());
  const first = await fetch(`${reg.url}/v2/cap/img/blobs/uploads/`, { method: 'POST' });
  const loc = first.headers.get('location')!;
  assert.equal((await fetch(`${reg.url}${loc}`, { method: 'PATCH', body: 'abc' })).status, 202);
  const second = await fetch(`${reg.url}/v2/cap/img/blobs/uploads/`, { method: 'POST' });
  assert.equal(second.status, 429);
  assert.equal(second.headers.get('retry-after'), '10');
  assert.equal((await second.json()).errors[0].code, 'TOOMANYREQUESTS');
  // Finishing the open upload frees its slot.
  assert.equal((await fetch(`${reg.url}${loc}?digest=${sha('abc')}`, { method: 'PUT' })).status, 201);
  assert.equal((await fetch(`${reg.url}/v2/cap/img/blobs/uploads/`, { method: 'POST' })).status, 202);
});

test('berth registry refuses bad flags with exit code 125', () => {
  const r = (args: string[]) => {
    try {
      execFileSync(process.execPath, [berthBin, 'registry', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { status: number; stderr: string };
      return { code: e.status, stderr: e.stderr };
    }
  };
  assert.deepEqual(r(['serve', '--addr', '127.0.0.1:0']), { code: 125, stderr: 'berth registry serve: --root is required\n' });
  assert.equal(r(['serve', '--root', '/tmp/x', '--tls-cert', 'a']).code, 125);
  assert.equal(r(['serve', '--root', '/tmp/x', '--max-uploads', '0']).code, 125);
  assert.equal(r(['frobnicate']).code, 1);
  assert.match(execFileSync(process.execPath, [berthBin, 'registry', '--help'], { encoding: 'utf8' }), /Usage:\s+berth registry COMMAND/);
});

test('registry gc drops abandoned uploads (bytes and session), keeping recent ones by default', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'berth-regroot-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const reg = await startRegistry({ root });
  const s = await fetch(`${reg.url}/v2/stale/img/blobs/uploads/`, { method: 'POST' });
  const loc = s.headers.get('location')!;
  assert.equal((await fetch(`${reg.url}${loc}`, { method: 'PATCH', body: randomBytes(777) })).status, 202);
  await reg.stop();
  const gc = (...args: string[]) => execFileSync(process.execPath, [berthBin, 'registry', 'gc', '--root', root, ...args], { encoding: 'utf8' });
  const ingestDir = path.join(root, 'content', 'ingest');
  const session = path.join(root, 'repositories', 'stale', 'img', '_uploads', loc.split('/').pop()!);
  assert.match(gc(), /0 abandoned uploads deleted/);
  assert.match(gc('--upload-max-age', '0', '--dry-run'), /stale\/img: abandoned upload .* \(777 bytes\)[\s\S]*1 abandoned uploads eligible for deletion/);
  assert.ok(existsSync(session));
  assert.match(gc('--upload-max-age', '0'), /1 abandoned uploads deleted/);
  assert.equal(existsSync(session), false);
  assert.deepEqual(execFileSync('ls', ['-A', ingestDir], { encoding: 'utf8' }), '');
  // The session is gone for clients too.
  const again = await startRegistry({ root });
  t.after(() => again.stop());
  assert.equal((await fetch(`${again.url}${loc}`)).status, 404);
});

test('--read-only serves pulls and answers writes with DENIED', async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'berth-regroot-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const data = randomBytes(100);
  const rw = await startRegistry({ root });
  assert.equal((await fetch(`${rw.url}/v2/ro/img/blobs/uploads/?digest=${sha(data)}`, { method: 'POST', body: data })).status, 201);
  await rw.stop();
  const ro = await startRegistry({ root, args: ['--read-only'] });
  t.after(() => ro.stop());
  assert.equal((await fetch(`${ro.url}/v2/ro/img/blobs/${sha(data)}`)).status, 200);
  for (const [method, p] of [['POST', '/v2/ro/img/blobs/uploads/'], ['DELETE', `/v2/ro/img/blobs/${sha(data)}`], ['PUT', '/v2/ro/img/manifests/v1']] as const) {
    const r = await fetch(`${ro.url}${p}`, { method, body: method === 'PUT' ? '{}' : undefined });
    assert.equal(r.status, 403, `${method} ${p}`);
    assert.equal((await r.json()).errors[0].code, 'DENIED');
  }
  assert.equal((await fetch(`${ro.url}/v2/ro/img/blobs/${sha(data)}`, { method: 'HEAD' })).status, 200);
});
