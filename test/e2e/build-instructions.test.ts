// Every Dockerfile instruction through POST /build against a real berthd, checked in the image's
// config, its history and files seen by running containers from it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startDaemon, dockerCli, type TestDaemon } from '../helpers/daemon.js';
import { buildFiles, getJson, importBusybox, runIn as runInImage } from '../helpers/build.js';

let d: TestDaemon;
let env: NodeJS.ProcessEnv;

before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  env = { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: d.dataRoot + '/docker-config' };
});
after(async () => {
  await d?.stop();
});

const runIn = (image: string, ...cmd: string[]) => runInImage(env, image, ...cmd);

test('config instructions set the image config and make no layers', async () => {
  const r = await buildFiles(d, {
    Dockerfile: [
      'FROM busybox',
      'MAINTAINER someone@example.com',
      'ENV A=1 B="two words"',
      'ENV C $A-${B}',
      'LABEL l1=one "l 2"="two ${A}"',
      'EXPOSE 80 53/udp 8000-8001',
      'VOLUME /data',
      'VOLUME ["/logs"]',
      'USER nobody',
      'STOPSIGNAL SIGUSR1',
      'HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD wget -q localhost || exit 1',
      'SHELL ["/bin/sh", "-ec"]',
      'ONBUILD RUN echo triggered',
      'ENTRYPOINT ["/bin/echo"]',
      'CMD hello $A',
    ].join('\n'),
  }, { t: 'cfg:1' });
  assert.equal(r.error, undefined, r.output);
  const img = (await getJson(d, '/images/cfg:1/json')).body;
  const c = img.Config;
  assert.equal(img.Author, 'someone@example.com');
  assert.ok(c.Env.includes('A=1') && c.Env.includes('B=two words') && c.Env.includes('C=1-two words'), c.Env.join(','));
  assert.deepEqual(c.Labels, { l1: 'one', 'l 2': 'two 1' });
  assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  assert.deepEqual(Object.keys(c.Volumes).sort(), ['/data', '/logs']);
  assert.equal(c.User, 'nobody');
  assert.equal(c.StopSignal, 'SIGUSR1');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q localhost || exit 1'], Interval: 5e9, Timeout: 2e9, Retries: 4 });
  assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
  assert.deepEqual(c.OnBuild, ['RUN echo triggered']);
  assert.deepEqual(c.Entrypoint, ['/bin/echo']);
  // CMD in shell form goes through the SHELL, unexpanded.
  assert.deepEqual(c.Cmd, ['/bin/sh', '-ec', 'hello $A']);
  // Same layers as busybox: config-only steps add none.
  const base = (await getJson(d, '/images/busybox/json')).body;
  assert.deepEqual(img.RootFS.Layers, base.RootFS.Layers);
  const hist = (await getJson(d, '/images/cfg:1/history')).body as Array<{ CreatedBy: string; Size: number }>;
  assert.equal(hist[0]!.CreatedBy, '/bin/sh -ec #(nop)  CMD ["/bin/sh" "-ec" "hello $A"]');
  assert.ok(hist.some((h) => h.CreatedBy === '/bin/sh -c #(nop)  ENV A=1 B=two words'));
  assert.match(r.output, /^Step 1\/15 : FROM busybox\n ---> [0-9a-f]{12}\nStep 2\/15 : MAINTAINER/);
  assert.match(r.output, /Successfully built [0-9a-f]{12}\nSuccessfully tagged cfg:1\n$/);
  // ONBUILD triggers run in a child build.
  const child = await buildFiles(d, { Dockerfile: 'FROM cfg:1\nENTRYPOINT []\nCMD ["true"]\n' }, { t: 'cfg-child' });
  assert.match(child.output, /# Executing 1 build trigger\n ---> Running in [0-9a-f]{12}\ntriggered\n/);
  const cc = (await getJson(d, '/images/cfg-child/json')).body.Config;
  assert.equal(cc.OnBuild, null);
});

test('ENTRYPOINT resets an inherited CMD; exec and shell forms of RUN and CMD', async () => {
  const r = await buildFiles(d, { Dockerfile: 'FROM busybox\nENTRYPOINT ["echo"]\n' }, { t: 'ep' });
  assert.equal(r.error, undefined, r.output);
  const c = (await getJson(d, '/images/ep/json')).body.Config;
  assert.equal(c.Cmd, null);
  const r2 = await buildFiles(d, { Dockerfile: 'FROM busybox\nRUN ["sh", "-c", "echo exec-form > /e"]\nRUN echo $HOME > /h\nCMD [ "cat", "/e", "/h" ]\n' }, { t: 'forms' });
  assert.equal(r2.error, undefined, r2.output);
  assert.equal(runIn('forms'), 'exec-form\n/root\n');
  // Invalid JSON falls back to shell form, as Docker does.
  const r3 = await buildFiles(d, { Dockerfile: "FROM busybox\nCMD ['echo', 'x']\n" }, { t: 'badjson' });
  assert.deepEqual((await getJson(d, '/images/badjson/json')).body.Config.Cmd, ['/bin/sh', '-c', "['echo', 'x']"]);
  assert.equal(r3.error, undefined);
});

test('RUN makes a layer with only its own changes, sees ENV and ARG, and RUN output streams', async () => {
  const r = await buildFiles(d, {
    Dockerfile: 'FROM busybox\nARG WHO=world\nENV GREETING=hello\nRUN echo "$GREETING $WHO" > /greeting && rm /bin/true && echo to-stderr >&2\n',
  }, { t: 'runl', buildargs: JSON.stringify({ WHO: 'berth' }) });
  assert.equal(r.error, undefined, r.output);
  assert.match(r.output, / ---> Running in ([0-9a-f]{12})\nto-stderr\n ---> Removed intermediate container \1\n/);
  assert.equal(runIn('runl', 'cat', '/greeting'), 'hello berth\n');
  // The deletion is a whiteout in the layer; the build arg is not in the image's environment.
  assert.throws(() => runIn('runl', 'ls', '/bin/true'));
  const img = (await getJson(d, '/images/runl/json')).body;
  assert.ok(!img.Config.Env.some((e: string) => e.startsWith('WHO=')));
  const hist = (await getJson(d, '/images/runl/history')).body;
  assert.equal(hist[0].CreatedBy, '|1 WHO=berth /bin/sh -c echo "$GREETING $WHO" > /greeting && rm /bin/true && echo to-stderr >&2');
  // The layer holds the new file and the whiteout only: no runtime mount points.
  const layers = img.RootFS.Layers;
  assert.equal(layers.length, 2);
  const save = spawnSync(dockerCli!, ['save', 'runl'], { env, maxBuffer: 64 << 20 });
  assert.equal(save.status, 0);
  const listing = spawnSync('sh', ['-c', 'd=$(mktemp -d); tar -xf - -C $d; for l in $(find $d -name "*.tar" -o -path "*blobs/sha256/*" -type f); do tar -tf $l 2>/dev/null | sort | tr "\\n" " "; echo; done; rm -rf $d'], { input: save.stdout, encoding: 'utf8' }).stdout;
  assert.ok(listing.split('\n').some((l) => l.trim() === 'bin/ bin/.wh.true greeting'), listing);
  // No containers are left behind.
  const ps = (await getJson(d, '/containers/json?all=1')).body;
  assert.equal(ps.length, 0);
});

test('WORKDIR is created and chains relative paths; COPY and RUN use it', async () => {
  const r = await buildFiles(d, {
    Dockerfile: 'FROM busybox\nWORKDIR /a\nWORKDIR b\nENV D=c\nWORKDIR $D\nCOPY f.txt .\nRUN pwd > /pwd\n',
    'f.txt': 'file\n',
  }, { t: 'wd' });
  assert.equal(r.error, undefined, r.output);
  assert.equal((await getJson(d, '/images/wd/json')).body.Config.WorkingDir, '/a/b/c');
  assert.equal(runIn('wd', 'cat', '/pwd', '/a/b/c/f.txt'), '/a/b/c\nfile\n');
});

test('COPY: directory rules, wildcards, --chown, --chmod, JSON form, metadata kept, heredocs', async () => {
  const r = await buildFiles(d, {
    Dockerfile: [
      'FROM busybox',
      'COPY dir /d1',
      'COPY dir /d2/',
      'COPY one.txt /newname',
      'COPY one.txt /existing-dir-less/',
      'COPY *.md /docs/',
      'COPY ["sp ace.txt", "/sp ace.txt"]',
      'COPY --chown=1:2 one.txt /owned',
      'COPY --chown=nobody:nogroup one.txt /owned-by-name',
      'COPY --chmod=741 one.txt /moded',
      'COPY exec.sh /exec.sh',
      'COPY <<EOF /heredoc.txt',
      'value=$HOME',
      'EOF',
    ].join('\n'),
    'dir/a.txt': 'a\n',
    'dir/sub/b.txt': 'b\n',
    'one.txt': 'one\n',
    'x.md': 'x\n',
    'y.md': 'y\n',
    'sp ace.txt': 'space\n',
    'exec.sh': { content: '#!/bin/sh\necho exec\n', mode: 0o755 },
  }, { t: 'cp' });
  assert.equal(r.error, undefined, r.output);
  const out = runIn('cp', 'sh', '-c', [
    'cat /d1/a.txt /d1/sub/b.txt /d2/a.txt /newname /existing-dir-less/one.txt /docs/x.md /docs/y.md "/sp ace.txt"',
    'stat -c "%u:%g %a %n" /owned /owned-by-name /moded /exec.sh /newname /d1',
    '/exec.sh', 'cat /heredoc.txt',
  ].join('; '));
  assert.equal(out, 'a\nb\na\none\none\nx\ny\nspace\n1:2 644 /owned\n65534:65534 644 /owned-by-name\n0:0 741 /moded\n0:0 755 /exec.sh\n0:0 644 /newname\n0:0 755 /d1\nexec\nvalue=\n');
});

test('COPY errors: escaping the context, symlinks out of it, missing files, several sources to a file', async () => {
  const esc = await buildFiles(d, { Dockerfile: 'FROM busybox\nCOPY ../etc/passwd /p\n' });
  assert.match(esc.error ?? '', /^COPY failed: forbidden path outside the build context: \.\.\/etc\/passwd /);
  // A symlink to an absolute path resolves inside the context, so the host's file is not reached.
  const link = await buildFiles(d, { Dockerfile: 'FROM busybox\nCOPY link /p\n', link: { symlink: '/etc/hostname' } });
  assert.match(link.error ?? '', /^COPY failed: file not found in build context or excluded by \.dockerignore: stat link: file does not exist/);
  const rel = await buildFiles(d, { Dockerfile: 'FROM busybox\nCOPY link /p\n', link: { symlink: '../../../../../../etc/hostname' } });
  assert.match(rel.error ?? '', /^COPY failed: file not found in build context/);
  const missing = await buildFiles(d, { Dockerfile: 'FROM busybox\nCOPY nope /p\n' });
  assert.equal(missing.error, 'COPY failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist');
  const none = await buildFiles(d, { Dockerfile: 'FROM busybox\nCOPY *.none /p/\n' });
  assert.equal(none.error, 'COPY failed: no source files were specified');
  const multi = await buildFiles(d, { Dockerfile: 'FROM busybox\nCOPY a b /file\n', a: 'a', b: 'b' });
  assert.equal(multi.error, 'When using COPY with more than one source file, the destination must be a directory and end with a /');
});

test('ADD extracts local archives (gzip, bzip2, xz, plain) and copies other files', async () => {
  const { execFileSync } = await import('node:child_process');
  const { rmSync } = await import('node:fs');
  const { makeContext, tarOf, postBuild } = await import('../helpers/build.js');
  const ctx = makeContext({ Dockerfile: 'FROM busybox\nADD a.tar /plain/\nADD *.gz /gz\nADD a.tar.bz2 /bz\nADD a.tar.xz /xz\nADD inside.txt /copied.txt\n', 'inside.txt': 'not an archive\n', 'src/inside.txt': 'inside\n' });
  try {
    execFileSync('sh', ['-c', 'tar -C src -cf a.tar inside.txt && gzip -k a.tar && bzip2 -k a.tar && xz -k a.tar && rm -r src'], { cwd: ctx });
    const r = await postBuild(d, tarOf(ctx), { t: 'add' });
    assert.equal(r.error, undefined, r.output);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  assert.equal(runIn('add', 'cat', '/plain/inside.txt', '/gz/inside.txt', '/bz/inside.txt', '/xz/inside.txt', '/copied.txt'), 'inside\ninside\ninside\ninside\nnot an archive\n');
});

test('ADD downloads URLs with mode 600 and does not extract them', async () => {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Last-Modified': 'Tue, 01 Jan 2019 00:00:00 GMT' });
    res.end('downloaded\n');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  try {
    const r = await buildFiles(d, { Dockerfile: `FROM busybox\nADD http://127.0.0.1:${port}/some/file.txt /dl/\n` }, { t: 'addurl' });
    assert.equal(r.error, undefined, r.output);
    assert.equal(runIn('addurl', 'sh', '-c', 'cat /dl/file.txt; stat -c "%a %Y" /dl/file.txt'), 'downloaded\n600 1546300800\n');
  } finally {
    server.close();
  }
});

test('ARG: defaults, --build-arg, scope per stage, predefined proxy args, unused warning', async () => {
  const r = await buildFiles(d, {
    Dockerfile: [
      'ARG BASE=busybox',
      'FROM $BASE AS first',
      'ARG BASE',
      'ARG X=default',
      'RUN echo "base=$BASE x=$X proxy=$HTTP_PROXY" > /args',
      'FROM ${BASE}',
      'RUN echo "x=[$X]" > /scope',
      'COPY --from=first /args /args',
    ].join('\n'),
  }, { t: 'args', buildargs: JSON.stringify({ X: 'given', HTTP_PROXY: 'http://proxy:1', UNUSED: 'u' }) });
  assert.equal(r.error, undefined, r.output);
  assert.equal(runIn('args', 'cat', '/args', '/scope'), 'base=busybox x=given proxy=http://proxy:1\nx=[]\n');
  assert.match(r.output, /\[Warning\] One or more build-args \[UNUSED\] were not consumed\n/);
  // Proxy args stay out of history.
  const hist = JSON.stringify((await getJson(d, '/images/args/history')).body);
  assert.ok(!hist.includes('proxy:1'));
});

test('STOPSIGNAL, USER and VOLUME expand variables; RUN does not', async () => {
  const r = await buildFiles(d, { Dockerfile: 'FROM busybox\nENV S=SIGINT U=nobody V=/vol\nSTOPSIGNAL $S\nUSER ${U}\nVOLUME $V\nRUN echo \'$S\' > /tmp/x || true\n' }, { t: 'exp' });
  assert.equal(r.error, undefined, r.output);
  const c = (await getJson(d, '/images/exp/json')).body.Config;
  assert.deepEqual([c.StopSignal, c.User, Object.keys(c.Volumes)], ['SIGINT', 'nobody', ['/vol']]);
});

test('parse errors are HTTP 400 naming the line; a failed RUN ends the stream with its code', async () => {
  const bad = await buildFiles(d, { Dockerfile: 'FROM busybox\n\nFOO bar\n' });
  assert.equal(bad.status, 400);
  assert.match(bad.body!, /Dockerfile parse error line 3: unknown instruction: FOO/);
  const fail = await buildFiles(d, { Dockerfile: 'FROM busybox\nRUN echo ok > /ok\nRUN false\n' });
  assert.equal(fail.error, "The command '/bin/sh -c false' returned a non-zero code: 1");
  assert.equal(fail.errorCode, 1);
  // The last good step's image exists; the failed container stays, as Docker leaves it.
  const m = /Step 2\/3 : RUN echo ok > \/ok\n[\s\S]*? ---> ([0-9a-f]{12})\nStep 3\/3/.exec(fail.output);
  assert.ok(m, fail.output);
  assert.equal((await getJson(d, `/images/${m![1]}/json`)).status, 200);
  const ps = (await getJson(d, '/containers/json?all=1')).body as Array<{ Id: string; State: string }>;
  assert.equal(ps.length, 1);
  const del = spawnSync(dockerCli!, ['rm', ps[0]!.Id], { env });
  assert.equal(del.status, 0);
  // --force-rm removes it.
  const forced = await buildFiles(d, { Dockerfile: 'FROM busybox\nRUN exit 3\n' }, { forcerm: '1' });
  assert.equal(forced.errorCode, 3);
  assert.equal((await getJson(d, '/containers/json?all=1')).body.length, 0);
});

test('a context tar with an entry escaping its root is refused and writes nothing outside', async () => {
  const { execFileSync } = await import('node:child_process');
  const { existsSync, mkdtempSync, rmSync } = await import('node:fs');
  const { postBuild } = await import('../helpers/build.js');
  const dir = mkdtempSync('/tmp/berth-evil-');
  const marker = `${dir}/escaped-${Math.random().toString(36).slice(2)}`;
  try {
    const tar = execFileSync('python3', ['-c', `
import io, sys, tarfile
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as t:
    for name, data in [('Dockerfile', b'FROM busybox\\n'), ('../../../../../../..${marker}', b'x')]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
sys.stdout.buffer.write(buf.getvalue())
`]);
    const r = await postBuild(d, tar);
    assert.notEqual(r.status, 200);
    assert.match(r.body ?? '', /escapes the root/);
    assert.equal(existsSync(marker), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid tag fails before any step runs', async () => {
  const r = await buildFiles(d, { Dockerfile: 'FROM busybox\nRUN echo should-not-run\n' }, { t: 'Bad:Name:x' });
  assert.equal(r.status, 400);
  assert.equal(r.output, '');
  assert.match(r.body!, /invalid reference format/);
});

test('RUN heredocs: a script for the shell, a shebang script for its interpreter, heredocs fed to a command', async () => {
  const r = await buildFiles(d, {
    Dockerfile: [
      'FROM busybox',
      'RUN <<EOF',
      'echo one > /one',
      'echo two >> /one',
      'EOF',
      'RUN <<EOF',
      '#!/bin/awk -f',
      'BEGIN { print "from awk" > "/awk" }',
      'EOF',
      'RUN cat <<A > /a && cat <<-"B" > /b',
      'a $HOME',
      'A',
      '\tb $HOME',
      '\tB',
    ].join('\n'),
  }, { t: 'heredocs' });
  assert.equal(r.error, undefined, r.output);
  assert.equal(runIn('heredocs', 'cat', '/one', '/awk', '/a', '/b'), 'one\ntwo\nfrom awk\na /root\nb $HOME\n');
  const layers = (await getJson(d, '/images/heredocs/json')).body.RootFS.Layers;
  assert.equal(layers.length, 4);
});
