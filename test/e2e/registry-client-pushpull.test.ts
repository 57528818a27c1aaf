// Push and pull against a real distribution registry on loopback, through berthd, with the real
// docker CLI and dockerode: round trip keeps the image ID and digest, second push skips, sibling
// repositories mount, pull by digest records RepoDigests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { busyboxTar } from '../helpers/busybox.js';
import { dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startRegistry, type TestRegistry } from '../helpers/distribution.js';

let daemon: TestDaemon;
let registry: TestRegistry;
let docker: Docker;

before(async () => {
  registry = await startRegistry();
  daemon = await startDaemon();
  docker = new Docker({ socketPath: daemon.socket });
});
after(async () => {
  await daemon?.stop();
  await registry?.stop();
});

function cli(...args: string[]): { out: string; err: string; code: number } {
  const r = spawnSync(dockerCli!, args, { env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '-dockercfg' }, encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, code: r.status ?? -1 };
}

async function drain(stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  let text = '';
  for await (const c of stream) text += c;
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function importBusybox(repo: string): Promise<string> {
  const s = await docker.importImage(Readable.from([busyboxTar()]) as unknown as NodeJS.ReadableStream, { repo, tag: 'latest', changes: ['CMD ["sh"]'] } as never);
  const msgs = await drain(s as unknown as NodeJS.ReadableStream);
  return msgs.pop()!['status'] as string;
}

test('docker push, rmi, docker pull: same image ID and digest', { skip: !dockerCli }, async () => {
  const name = `${registry.host}/test/busybox`;
  const id = await importBusybox(name);
  const push = cli('push', name);
  assert.equal(push.code, 0, push.err);
  assert.match(push.out, new RegExp(`The push refers to repository \\[${registry.host}/test/busybox\\]`));
  assert.match(push.out, /: Pushed/);
  const digest = /latest: digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(push.out)?.[1];
  assert.ok(digest, push.out);
  // The registry really has it.
  const head = await fetch(`http://${registry.host}/v2/test/busybox/manifests/latest`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(head.headers.get('docker-content-digest'), digest);

  const again = cli('push', name);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /Layer already exists/);
  assert.doesNotMatch(again.out, /: Pushed/);

  assert.equal(cli('rmi', name).code, 0);
  await assert.rejects(docker.getImage(name).inspect());
  const pull = cli('pull', name);
  assert.equal(pull.code, 0, pull.err);
  assert.match(pull.out, new RegExp(`latest: Pulling from ${registry.host}/test/busybox`));
  assert.match(pull.out, /Pull complete/);
  assert.match(pull.out, new RegExp(`Digest: ${digest}`));
  assert.match(pull.out, new RegExp(`Status: Downloaded newer image for ${name}:latest`));
  const img = await docker.getImage(name).inspect();
  assert.equal(img.Id, id);
  assert.deepEqual(img.RepoDigests, [`${name}@${digest}`]);

  const up = cli('pull', name);
  assert.match(up.out, /Already exists|Status: Image is up to date/);
  assert.match(up.out, new RegExp(`Status: Image is up to date for ${name}:latest`));

  const images = cli('images', '--digests', name);
  assert.match(images.out, new RegExp(digest!));
});

test('pull by digest (dockerode) and mount into a sibling repository', async () => {
  const name = `${registry.host}/test/bydigest`;
  const id = await importBusybox(name);
  const s = await docker.getImage(name).push({});
  const msgs = await drain(s as unknown as NodeJS.ReadableStream);
  assert.ok(!msgs.some((m) => m['error']), JSON.stringify(msgs));
  const aux = msgs.find((m) => m['aux'])!['aux'] as { Digest: string; Size: number };
  assert.match(aux.Digest, /^sha256:/);

  await docker.getImage(name).remove();
  const pulled = await drain((await docker.pull(`${name}@${aux.Digest}`)) as NodeJS.ReadableStream);
  assert.ok(pulled.some((m) => m['status'] === `Digest: ${aux.Digest}`), JSON.stringify(pulled));
  const img = await docker.getImage(`${name}@${aux.Digest}`).inspect();
  assert.equal(img.Id, id);
  assert.deepEqual(img.RepoTags, []);

  // Same layer to another repository of the same registry: mounted, not uploaded.
  await docker.getImage(id).tag({ repo: `${registry.host}/other/copy`, tag: 'v1' });
  const pushed = await drain((await docker.getImage(`${registry.host}/other/copy:v1`).push({})) as unknown as NodeJS.ReadableStream);
  assert.ok(pushed.some((m) => /^Mounted from test\//.test(String(m['status']))), JSON.stringify(pushed));
  assert.ok(!pushed.some((m) => m['status'] === 'Pushed'), JSON.stringify(pushed));
});

test('a pulled layer is kept once, compressed: save and load keep the image, a push elsewhere sends the same blob', async () => {
  const name = `${registry.host}/test/keepone`;
  const id = await importBusybox(name);
  const pushed = await drain((await docker.getImage(name).push({})) as unknown as NodeJS.ReadableStream);
  assert.ok(!pushed.some((m) => m['error']), JSON.stringify(pushed));
  const manifest = await (await fetch(`http://${registry.host}/v2/test/keepone/manifests/latest`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json();
  const layerDigest: string = manifest.layers[0].digest;
  await docker.getImage(name).remove();
  await drain((await docker.pull(name)) as NodeJS.ReadableStream);
  // Only the compressed blob: the uncompressed tar (named by the diff ID) is not stored again.
  const diffID = (await docker.getImage(name).inspect()).RootFS.Layers![0]!;
  const blobs = readdirSync(path.join(daemon.dataRoot, 'content/blobs/sha256'));
  assert.ok(blobs.includes(layerDigest.slice(7)));
  assert.ok(!blobs.includes(diffID.slice(7)));

  const saved: Buffer[] = [];
  for await (const c of (await docker.getImage(name).get()) as unknown as AsyncIterable<Buffer>) saved.push(c);
  await docker.getImage(name).remove();
  await drain((await docker.loadImage(Readable.from([Buffer.concat(saved)]))) as unknown as NodeJS.ReadableStream);
  assert.equal((await docker.getImage(name).inspect()).Id, id);

  const other = await startRegistry();
  try {
    const target = `${other.host}/moved/keepone`;
    await docker.getImage(name).tag({ repo: target, tag: 'latest' });
    const out = await drain((await docker.getImage(target).push({})) as unknown as NodeJS.ReadableStream);
    assert.ok(!out.some((m) => m['error']), JSON.stringify(out));
    const moved = await (await fetch(`http://${other.host}/v2/moved/keepone/manifests/latest`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json();
    assert.equal(moved.layers[0].digest, layerDigest);
  } finally {
    await other.stop();
  }
});

test('pull of a missing tag fails with the registry\'s message', async () => {
  const r = cli('pull', `${registry.host}/test/nothing:here`);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /not found|manifest unknown/);
});

test('search is proxied to the registry\'s /v1/search (API, berth and docker CLIs)', async () => {
  const http = await import('node:http');
  const queries: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname !== '/v1/search') return res.writeHead(404).end();
    queries.push(`${u.searchParams.get('q')} ${u.searchParams.get('n')}`);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ num_results: 2, query: u.searchParams.get('q'), results: [
      { name: 'tools/busybox', description: 'The Swiss Army Knife of Embedded Linux, in a very small image', star_count: 42, is_official: true, is_automated: false },
      { name: 'someone/busybox-extra', description: 'more', star_count: 1, is_official: false, is_automated: false },
    ] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const host = `127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  try {
    const results = (await docker.searchImages({ term: `${host}/busybox`, limit: 5 } as never)) as Array<{ name: string; star_count: number }>;
    assert.deepEqual(results.map((r) => r.name), ['tools/busybox', 'someone/busybox-extra']);
    assert.deepEqual(queries, ['busybox 5']);
    // The fake registry lives in this process: the CLIs run asynchronously so it can answer.
    const { berthBin } = await import('../helpers/daemon.js');
    const { promisify } = await import('node:util');
    const { execFile } = await import('node:child_process');
    const run = (bin: string, args: string[]) => promisify(execFile)(bin, args, { env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_CONFIG: daemon.dataRoot + '-dockercfg' }, encoding: 'utf8' });
    const out = await run(berthBin, ['search', `${host}/busybox`]);
    const lines = out.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL$/);
    assert.match(lines[1]!, /^tools\/busybox\s+The Swiss Army Knife of Embedded Linux, in a…\s+42\s+\[OK\]$/);
    if (dockerCli) {
      const d = await run(dockerCli, ['search', `${host}/busybox`]);
      assert.match(d.stdout, /someone\/busybox-extra/);
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
