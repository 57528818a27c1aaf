// Every image command's flags, filters and output, run through the berth CLI and the docker CLI
// against one real berthd (so a difference is the CLI's), with the expected rows spelled out too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyboxTar, extractBusybox } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { startRegistry } from '../helpers/distribution.js';

let daemon: TestDaemon;
let tmp: string;
/** Image IDs by name, set up by the first test. */
const ids: Record<string, string> = {};

before(async () => {
  daemon = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-imgcmd-'));
});
after(async () => {
  await daemon?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const run = (bin: string, args: string[], input?: Buffer | string) => runCli(bin, args, { host: daemon.host, config: tmp, input });
const berth = (...args: string[]) => run(berthBin, args);
const ok = (...args: string[]) => {
  const r = berth(...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.err}`);
  return r.out;
};
/** berth and docker print the same for these arguments; returns berth's output. */
function same(...args: string[]): string {
  const a = berth(...args);
  if (!dockerCli) return a.out;
  const b = run(dockerCli, args);
  assert.equal(a.code, b.code, `${args.join(' ')}: ${a.err} / ${b.err}`);
  assert.equal(a.out, b.out, args.join(' '));
  assert.equal(a.err, b.err.replace(/docker/g, 'berth'), args.join(' '));
  return a.out;
}
/** As same(), for output with relative times ("2 seconds ago"): tolerate one tick between runs. */
function sameModuloClock(...args: string[]): string {
  for (let i = 0; ; i++) {
    try {
      return same(...args);
    } catch (err) {
      if (i === 2) throw err;
    }
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A one-file root filesystem tar (its own layer, not shared with busybox). */
function smallTar(name: string, content: string): Buffer {
  const dir = path.join(tmp, `rootfs-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), content);
  return execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
}

const TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}';

test('import: from a file, from stdin with -c CMD/ENV/WORKDIR/LABEL/ENTRYPOINT/EXPOSE/USER and -m', async () => {
  const file = path.join(tmp, 'busybox.tar');
  writeFileSync(file, busyboxTar());
  ids['base'] = ok('import', file, 'imgs/base:1').trim();
  assert.match(ids['base']!, /^sha256:[a-f0-9]{64}$/);
  // The CLI streams the file, so the daemon names the source '-', as with the docker CLI.
  assert.equal(ok('inspect', '-f', '{{.Comment}}|{{json .Config}}', 'imgs/base:1'), 'Imported from -|{}\n');
  await sleep(1100); // since/before compare creation times in seconds
  const changes = ['-c', 'CMD ["sh"]', '-c', 'ENV A=1 B=two', '-c', 'WORKDIR /srv', '-c', 'LABEL team=core tier=web', '-c', 'ENTRYPOINT ["/bin/sh", "-c"]', '-c', 'EXPOSE 80/tcp', '-c', 'USER nobody'];
  ids['web'] = run(berthBin, ['import', ...changes, '-m', 'web image', '-', 'imgs/web:1'], busyboxTar()).out.trim();
  const config = JSON.parse(ok('inspect', '-f', '{{json .Config}}', 'imgs/web:1'));
  assert.deepEqual(config, {
    Cmd: ['sh'], Env: ['A=1', 'B=two'], WorkingDir: '/srv', Labels: { team: 'core', tier: 'web' },
    Entrypoint: ['/bin/sh', '-c'], ExposedPorts: { '80/tcp': {} }, User: 'nobody',
  });
  assert.equal(ok('inspect', '-f', '{{.Comment}}', 'imgs/web:1'), 'web image\n');
  // The same rootfs twice: one layer, unpacked once into one snapshot directory.
  assert.equal(ok('inspect', '-f', '{{index .RootFS.Layers 0}}', 'imgs/base:1'), ok('inspect', '-f', '{{index .RootFS.Layers 0}}', 'imgs/web:1'));
  assert.equal(readdirSync(path.join(daemon.dataRoot, 'snapshots', 'snapshots')).length, 1);
  await sleep(1100);
  ids['small'] = run(berthBin, ['import', '-c', 'LABEL team=edge', '-', 'other/small:2'], smallTar('hello', 'hi')).out.trim();
  ok('tag', 'other/small:2', 'other/small:latest');
  // A bad change is refused and makes no image.
  const bad = run(berthBin, ['import', '-c', 'RUN echo no', '-', 'imgs/bad:1'], busyboxTar());
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Error response from daemon: .*RUN/);
  assert.equal(berth('images', '-q', 'imgs/bad').out, '');
});

test('images: -a, -q, --no-trunc, positional REPO[:TAG] and every filter, as docker prints them', () => {
  const short = (k: string) => ids[k]!.slice(7, 19);
  const rows = (...args: string[]) => same('images', '--format', '{{.Repository}}:{{.Tag}}', ...args).trim().split('\n').filter(Boolean);
  assert.deepEqual(rows(), ['other/small:2', 'other/small:latest', 'imgs/web:1', 'imgs/base:1']);
  assert.deepEqual(rows('imgs/web'), ['imgs/web:1']);
  assert.deepEqual(rows('other/small:latest'), ['other/small:latest']);
  assert.deepEqual(rows('-f', 'since=imgs/base:1'), ['other/small:2', 'other/small:latest', 'imgs/web:1']);
  assert.deepEqual(rows('-f', 'before=other/small:2'), ['imgs/web:1', 'imgs/base:1']);
  assert.deepEqual(rows('-f', 'since=imgs/base:1', '-f', 'before=other/small:2'), ['imgs/web:1']);
  assert.deepEqual(rows('-f', 'reference=imgs/*'), ['imgs/web:1', 'imgs/base:1']);
  assert.deepEqual(rows('-f', 'reference=*/small:l*'), ['other/small:latest']);
  assert.deepEqual(rows('-f', 'label=team'), ['other/small:2', 'other/small:latest', 'imgs/web:1']);
  assert.deepEqual(rows('-f', 'label=team=core'), ['imgs/web:1']);
  assert.deepEqual(rows('-f', 'label=team', '-f', 'label=tier=web'), ['imgs/web:1']);
  assert.deepEqual(rows('-f', 'dangling=false'), rows());
  assert.deepEqual(rows('-f', 'dangling=true'), []);
  same('images', '-q');
  assert.equal(same('images', '-q', 'other/small'), `${short('small')}\n${short('small')}\n`);
  assert.equal(same('images', '-q', '--no-trunc', 'imgs/web'), `${ids['web']}\n`);
  assert.match(same('images', '--no-trunc', '--format', TABLE, 'imgs/base'), new RegExp(`^REPOSITORY +TAG +IMAGE ID +SIZE\nimgs/base +1 +${ids['base']} +\\d`));
  same('images', '-a', '--format', TABLE);
  same('images', '--digests', '--format', 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}');
  sameModuloClock('images');
  sameModuloClock('images', '--digests');
  sameModuloClock('images', '--no-trunc');
  const badFilter = same('images', '-f', 'colour=red');
  assert.equal(badFilter, '');
  assert.match(berth('images', '-f', 'colour=red').err, /invalid filter 'colour'/);
});

test('--format: table, json, {{json .}}, fields, printf, join, lower, upper', () => {
  same('images', '--format', 'table {{.ID}}\t{{.Repository}}:{{.Tag}}\t{{.Size}}\t{{.VirtualSize}}\t{{.SharedSize}}\t{{.Containers}}');
  same('images', '--format', '{{.ID}}: {{.Repository}}');
  same('images', '--format', '{{printf "%-12s|%5s|%q" .Tag .Size .Repository}}');
  same('images', '--format', '{{join (split .Repository "/") " > "}} {{lower "ABC"}} {{upper .Tag}}');
  same('images', '--format', '{{if eq .Tag "latest"}}newest{{else}}{{.Tag}}{{end}}');
  // json and {{json .}} carry CreatedSince, which ticks: compare the rest.
  const strip = (out: string) => out.trim().split('\n').map((l) => {
    const o = JSON.parse(l);
    delete o.CreatedSince;
    return o;
  });
  const a = strip(berth('images', '--format', 'json').out);
  assert.equal(a.length, 4);
  assert.deepEqual(Object.keys(a[0]), ['Containers', 'CreatedAt', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize']);
  assert.deepEqual(strip(berth('images', '--format', '{{json .}}').out), a);
  if (dockerCli) assert.deepEqual(strip(run(dockerCli, ['images', '--format', 'json']).out), a);
  // A template error is docker's.
  const bad = berth('images', '--format', '{{.Nope');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /template parsing error: template: :1: unclosed action/);
});

test('history: default, -H=false, -q, --no-trunc and --format', () => {
  sameModuloClock('history', 'imgs/web:1');
  const plain = same('history', '-H=false', 'imgs/web:1');
  assert.match(plain, /^IMAGE +CREATED AT +CREATED BY +SIZE +COMMENT\n[a-f0-9]{12} +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +\d+ +web image\n$/);
  assert.equal(same('history', '-q', 'imgs/web:1'), `${ids['web']!.slice(7, 19)}\n`);
  assert.equal(same('history', '-q', '--no-trunc', 'imgs/web:1'), `${ids['web']}\n`);
  same('history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedAt}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'imgs/web:1');
  same('history', '-H=false', '--format', 'table {{.ID}}\t{{.Size}}\t{{.CreatedSince}}', 'imgs/web:1');
  same('history', 'no/such:image');
});

test('tag, then rmi by name:tag, short ID, full ID; re-tagging leaves the old image dangling', () => {
  // Re-tag a name from one image to another: the old one keeps its other tag, or dangles.
  ok('tag', 'imgs/base:1', 'move/me:1');
  ok('tag', 'imgs/web:1', 'move/me:1');
  assert.deepEqual(same('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'move/me').trim(), `move/me:1 ${ids['web']!.slice(7, 19)}`);
  const lone = run(berthBin, ['import', '-', 'lone:1'], smallTar('lone', 'x')).out.trim();
  ok('tag', 'imgs/base:1', 'lone:1');
  assert.equal(same('images', '-q', '--no-trunc', '-f', 'dangling=true'), `${lone}\n`);
  assert.equal(same('images', '--format', '{{.Repository}}:{{.Tag}}', '-f', 'dangling=true'), '<none>:<none>\n');
  // rmi of the dangling image by short ID: Deleted lines for the image and its layer.
  const byShort = ok('rmi', lone.slice(7, 19));
  assert.match(byShort, new RegExp(`^Deleted: ${lone}\nDeleted: sha256:[a-f0-9]{64}\n$`));
  assert.equal(ok('rmi', 'move/me:1', 'lone:1'), 'Untagged: move/me:1\nUntagged: lone:1\n');
  // By full ID with one tag: untag, then delete; the layer is shared with imgs/web, so it stays.
  const copy = run(berthBin, ['import', '-c', 'ENV COPY=1', '-', 'copy:1'], busyboxTar()).out.trim();
  assert.equal(ok('rmi', copy), `Untagged: copy:1\nDeleted: ${copy}\n`);
  // By ID when two repositories name it: refused unless -f.
  ok('tag', 'other/small:2', 'third/small:1');
  const multi = berth('rmi', ids['small']!);
  assert.equal(multi.code, 1);
  assert.equal(multi.err, `Error response from daemon: conflict: unable to delete ${ids['small']!.slice(7, 19)} (must be forced) - image is referenced in multiple repositories\n`);
  ok('rmi', 'third/small:1');
  const missing = same('rmi', 'no/such:image');
  assert.equal(missing, '');
});

test('rmi conflicts: a container\'s image, an image with children, -f as docker does it', () => {
  const cid = ok('create', '--name', 'holder', 'imgs/base:1', 'sh').trim();
  const c12 = cid.slice(0, 12);
  const b12 = ids['base']!.slice(7, 19);
  const byTag = berth('rmi', 'imgs/base:1');
  assert.equal(byTag.code, 1);
  assert.equal(byTag.err, `Error response from daemon: conflict: unable to remove repository reference "imgs/base:1" (must force) - container ${c12} is using its referenced image ${b12}\n`);
  const byId = berth('rmi', b12);
  assert.equal(byId.err, `Error response from daemon: conflict: unable to delete ${b12} (must be forced) - image is being used by stopped container ${c12}\n`);
  // A committed child of imgs/base: its parent cannot be deleted by ID, even with -f.
  const child = ok('commit', 'holder', 'imgs/child:1').trim();
  assert.equal(ok('inspect', '-f', '{{.Parent}}', child).trim(), ids['base']);
  ok('rm', 'holder');
  const withChild = berth('rmi', '-f', b12);
  assert.equal(withChild.code, 1);
  assert.equal(withChild.err, `Error response from daemon: conflict: unable to delete ${b12} (cannot be forced) - image has dependent child images\n`);
  // By name it only untags; the parent stays for its child (listed by -a, not dangling).
  assert.equal(ok('rmi', 'imgs/base:1'), 'Untagged: imgs/base:1\n');
  assert.match(ok('images', '-a', '-q', '--no-trunc'), new RegExp(ids['base']!));
  assert.equal(ok('images', '-q', '-f', 'dangling=true'), '');
  // Removing the child prunes the untagged parent with it (unless --no-prune).
  const gone = ok('rmi', 'imgs/child:1');
  assert.match(gone, new RegExp(`^Untagged: imgs/child:1\nDeleted: ${child}\n(Deleted: sha256:[a-f0-9]{64}\n)*Deleted: ${ids['base']}\n`));
});

test('rmi by digest (an image pulled from a registry on loopback)', async () => {
  const registry = await startRegistry();
  try {
    const name = `${registry.host}/imgs/pulled`;
    ok('tag', 'imgs/web:1', name);
    const push = ok('push', name);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push)![1]!;
    ok('rmi', name);
    ok('pull', '-q', `${name}@${digest}`);
    assert.equal(same('images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}', name), `${name} <none> ${digest}\n`);
    assert.equal(ok('rmi', `${name}@${digest}`), `Untagged: ${name}@${digest}\n`); // imgs/web:1 still holds the image
    assert.equal(ok('images', '-q', name), '');
  } finally {
    await registry.stop();
  }
});

test('system df counts a shared layer once; -v lists images as docker does', () => {
  const du = JSON.parse(execFileSync('curl', ['-s', '--unix-socket', daemon.socket, 'http://x/system/df'], { encoding: 'utf8' }));
  const layers = new Set<string>();
  for (const id of [ids['web'], ids['small']]) for (const l of JSON.parse(ok('inspect', '-f', '{{json .RootFS.Layers}}', id!))) layers.add(l);
  const sizes = du.Images.map((i: { Size: number }) => i.Size) as number[];
  // imgs/web and the pulled copy share busybox's layer: the total is the distinct layers' sum.
  assert.equal(du.Images.length, 2);
  assert.equal(du.LayersSize, sizes.reduce((a, b) => a + b, 0));
  const web = du.Images.find((i: { Id: string }) => i.Id === ids['web']);
  assert.equal(web.SharedSize, 0);
  same('system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}');
  ok('tag', 'imgs/web:1', 'imgs/web:2');
  const again = JSON.parse(execFileSync('curl', ['-s', '--unix-socket', daemon.socket, 'http://x/system/df'], { encoding: 'utf8' }));
  assert.equal(again.LayersSize, du.LayersSize, 'a second tag adds nothing');
  sameModuloClock('system', 'df', '-v');
  sameModuloClock('system', 'df');
});

test('image prune: dangling only, -a, --filter label= and until=, -f', () => {
  const d1 = run(berthBin, ['import', '-c', 'LABEL keep=no', '-', 'p:1'], smallTar('p1', '1')).out.trim();
  run(berthBin, ['import', '-c', 'LABEL keep=no', '-', 'p:1'], smallTar('p2', '2')); // d1 dangles now
  const pruned = same('image', 'prune', '-f', '--filter', 'label=keep=yes');
  assert.equal(pruned, 'Total reclaimed space: 0B\n');
  const dangling = ok('image', 'prune', '-f', '--filter', 'label=keep=no');
  assert.match(dangling, new RegExp(`^Deleted Images:\ndeleted: ${d1}\ndeleted: sha256:[a-f0-9]{64}\n\nTotal reclaimed space: 1B\n$`));
  // until= a time before everything: nothing; -a with a label: the tagged, unused image goes.
  assert.equal(ok('image', 'prune', '-a', '-f', '--filter', 'until=2000-01-01T00:00:00Z'), 'Total reclaimed space: 0B\n');
  const all = ok('image', 'prune', '-a', '-f', '--filter', 'label=keep=no');
  assert.match(all, /^Deleted Images:\nuntagged: p:1\ndeleted: sha256:[a-f0-9]{64}\ndeleted: sha256:[a-f0-9]{64}\n\nTotal reclaimed space: 1B\n$/);
  const bad = berth('image', 'prune', '-f', '--filter', 'colour=red');
  assert.equal(bad.code, 1);
  assert.equal(bad.err, "Error response from daemon: invalid filter 'colour'\n");
  // Without -f it asks; a "n" answer removes nothing.
  const asked = run(berthBin, ['image', 'prune', '-a'], 'n\n');
  assert.match(asked.out, /WARNING! This will remove all images without at least one container associated to them\.\nAre you sure you want to continue\? \[y\/N\] /);
  assert.match(ok('images', '-q', '--no-trunc'), new RegExp(ids['web']!));
});

test('save -o of several images, then load -i: every tag, ID and history entry comes back', () => {
  const file = path.join(tmp, 'two.tar');
  ok('tag', 'other/small:2', 'other/small:keep');
  const before = ok('history', '--no-trunc', '--format', '{{.ID}} {{.CreatedAt}} {{.Comment}}', 'imgs/web:1');
  ok('save', '-o', file, 'imgs/web:1', 'other/small');
  ok('rmi', '-f', 'imgs/web:1', 'imgs/web:2', 'other/small:2', 'other/small:latest', 'other/small:keep');
  const loaded = ok('load', '-i', file).trim().split('\n').sort();
  assert.deepEqual(loaded, ['Loaded image: imgs/web:1', 'Loaded image: other/small:2', 'Loaded image: other/small:keep', 'Loaded image: other/small:latest']);
  assert.equal(ok('inspect', '-f', '{{.Id}}', 'imgs/web:1').trim(), ids['web']);
  assert.equal(ok('inspect', '-f', '{{.Id}}', 'other/small:keep').trim(), ids['small']);
  assert.equal(ok('history', '--no-trunc', '--format', '{{.ID}} {{.CreatedAt}} {{.Comment}}', 'imgs/web:1'), before);
  // Loading from stdin gives the same lines and changes nothing.
  const again = run(berthBin, ['load'], readFileSync(file));
  assert.deepEqual(again.out.trim().split('\n').sort(), loaded);
  // Bad input: not a tar, and a missing file.
  const junk = run(berthBin, ['load'], 'this is not an archive');
  assert.equal(junk.code, 1);
  assert.match(junk.err, /^Error response from daemon: /);
  const missing = path.join(tmp, 'missing.tar');
  assert.equal(same('load', '-i', missing), '');
  assert.equal(berth('load', '-i', missing).err, `open ${missing}: no such file or directory\n`);
  assert.equal(berth('load', '-i', tmp).err, `open ${tmp}: is a directory\n`);
});

test('system df counts containers by their writable layers (running ones are not reclaimable)', () => {
  ok('run', '--name', 'df-writer', 'imgs/web:1', 'dd if=/dev/zero of=/blob bs=1k count=300 2>/dev/null'); // ENTRYPOINT is sh -c
  ok('create', '--name', 'df-idle', 'imgs/web:1', 'true');
  try {
    const du = JSON.parse(execFileSync('curl', ['-s', '--unix-socket', daemon.socket, 'http://x/system/df'], { encoding: 'utf8' }));
    const writer = du.Containers.find((c: { Names: string[] }) => c.Names[0] === '/df-writer');
    assert.equal(writer.SizeRw, 300 * 1024);
    assert.equal(writer.SizeRootFs, 300 * 1024 + du.Images.find((i: { Id: string }) => i.Id === ids['web']).Size);
    assert.equal(du.Containers.length, 2);
    assert.equal(same('system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}').split('\n')[1], 'Containers 2 0 307.2kB 307.2kB (100%)');
    const verbose = sameModuloClock('system', 'df', '-v');
    assert.match(verbose, /\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n[a-f0-9]{12} +imgs\/web:1 +"\/bin\/sh -c 'dd if=\/…" +0 +307kB .* Exited \(0\) .* df-writer\n[a-f0-9]{12} +imgs\/web:1 +"\/bin\/sh -c true" +0 +0B .* Created +df-idle\n/);
  } finally {
    ok('rm', 'df-writer', 'df-idle');
  }
});

test('rmi -f of an image stopped containers use deletes it as Docker does; the containers keep working and free its layers when removed', async () => {
  // busybox plus a file: a layer of its own, shared with no other image.
  const dir = path.join(tmp, 'rootfs-doomed');
  extractBusybox(dir);
  writeFileSync(path.join(dir, 'doomed'), 'still here\n');
  const id = run(berthBin, ['import', '-', 'doomed:1'], execFileSync('tar', ['-C', dir, '-cf', '-', '.'], { maxBuffer: 1 << 26 })).out.trim();
  const snapshots = () => readdirSync(path.join(daemon.dataRoot, 'snapshots', 'snapshots')).length;
  const c1 = ok('create', '--name', 'doomed-a', 'doomed:1', 'cat', '/doomed').trim();
  const c2 = ok('create', '--name', 'doomed-b', 'doomed:1', 'true').trim();
  const before = snapshots();
  // Without -f: Docker's soft conflict. With -f: untagged and deleted, but no layer lines, since
  // the containers hold the layer.
  assert.match(berth('rmi', 'doomed:1').err, /unable to remove repository reference "doomed:1" \(must force\)/);
  assert.equal(ok('rmi', '-f', 'doomed:1'), `Untagged: doomed:1\nDeleted: ${id}\n`);
  assert.equal(berth('image', 'inspect', id).code, 1);
  assert.equal(ok('images', '-a', '-q', '--no-trunc').includes(id), false);
  // ps names the image by ID now that its name is gone, as dockerd does.
  assert.equal(same('ps', '-a', '--filter', 'name=doomed-a', '--format', '{{.Image}}'), `${id.slice(7, 19)}\n`);
  assert.equal(same('ps', '-a', '--no-trunc', '--filter', 'name=doomed-a', '--format', '{{.Image}}'), `${id}\n`);
  // The containers still start, diff and commit, also after a restart (whose garbage collection
  // must keep the deleted image's config and layer for them).
  await daemon.restart();
  assert.equal(snapshots(), before);
  assert.equal(ok('start', '-a', 'doomed-a'), 'still here\n');
  ok('diff', 'doomed-a');
  const committed = ok('commit', 'doomed-a', 'doomed:saved').trim();
  assert.match(committed, /^sha256:/);
  ok('rmi', 'doomed:saved');
  ok('rm', c1);
  assert.equal(snapshots(), before - 1, "doomed-a's own snapshot went; the image's layer stays for doomed-b");
  ok('rm', c2);
  assert.equal(snapshots(), before - 3, "the last container took the deleted image's layer with it");
  // Same by ID, with a fresh image and container.
  const id2 = run(berthBin, ['import', '-', 'doomed:2'], smallTar('doomed2', 'x')).out.trim();
  const c3 = ok('create', '--name', 'doomed-c', 'doomed:2', 'x').trim();
  assert.match(berth('rmi', id2.slice(7, 19)).err, /\(must be forced\) - image is being used by stopped container/);
  assert.equal(ok('rmi', '-f', id2.slice(7, 19)), `Untagged: doomed:2\nDeleted: ${id2}\n`);
  ok('rm', c3);
  assert.equal(snapshots(), before - 3);
});

test('events: image actions named as dockerd names them (tag, import, save, untag, delete, load, prune)', async () => {
  await sleep(1100); // keep earlier tests' events out of the window
  const since = String(Math.floor(Date.now() / 1000));
  const id = run(berthBin, ['import', '-c', 'LABEL ev=yes', '-', 'ev/x:1'], smallTar('ev', 'e')).out.trim();
  ok('tag', 'ev/x:1', 'ev/x:2');
  const file = path.join(tmp, 'ev.tar');
  ok('save', '-o', file, 'ev/x:1');
  ok('rmi', 'ev/x:2');
  ok('rmi', 'ev/x:1');
  ok('load', '-i', file);
  ok('image', 'prune', '-f');
  const until = String(Math.floor(Date.now() / 1000) + 1);
  const out = same('events', '--since', since, '--until', until, '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}');
  assert.equal(out, [
    `tag ${id} {"ev":"yes","name":"ev/x:1"}`,
    `import ${id} {"ev":"yes","name":"${id}"}`,
    `tag ${id} {"ev":"yes","name":"ev/x:2"}`,
    `save ${id} {"ev":"yes","name":"${id}"}`,
    `untag ${id} {"ev":"yes","name":"${id}"}`,
    `untag ${id} {"ev":"yes","name":"${id}"}`,
    `delete ${id} {"name":"${id}"}`,
    `tag ${id} {"ev":"yes","name":"ev/x:1"}`,
    `load ${id} {"ev":"yes","name":"${id}"}`,
    'prune  {"reclaimed":"0"}', // no actor ID, as dockerd's
    '',
  ].join('\n'));
});
