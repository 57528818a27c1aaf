// The create body berth builds from run/create flags, compared with the body the real docker CLI
// sends for the same flags (captured by a tiny recording server on a temp socket), and the value
// parsers (-p, --mount, -v, --env-file, memory, --cpus, --restart) on their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseFlags } from '../../src/cli/flags.js';
import { execBody } from '../../src/cli/commands/container-exec.js';
import { buildCreateBody, containerCreateFlags, expandEnv, parseCpus, parseEnvLines, parseMemory, parseMount, parsePortSpec, parseRestartPolicy, parseVolume, runOnlyFlags } from '../../src/cli/commands/container-opts.js';

const DOCKER = '/usr/local/bin/docker';

/** Runs the docker CLI against a server that records POST /containers/create and answers 201. */
async function dockerCreateBody(args: string[], env: NodeJS.ProcessEnv, recordPath = '/containers/create'): Promise<{ url: string; body: unknown }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-rec-'));
  const sock = path.join(dir, 'rec.sock');
  let recorded: { url: string; body: unknown } | undefined;
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      if (req.url!.includes(recordPath) && req.method === 'POST') {
        recorded = { url: req.url!, body: JSON.parse(b) };
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end('{"Id":"0123456789ab","Warnings":[]}');
        return;
      }
      res.writeHead(200, { 'Api-Version': '1.47', 'Content-Type': 'application/json' });
      res.end(req.url!.includes('_ping') ? 'OK' : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const child = spawn(DOCKER, args, { env: { ...env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise((r) => child.on('exit', r));
    assert.ok(recorded, `docker sent no create request: ${err}`);
    return recorded;
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function berthBody(args: string[], env: NodeJS.ProcessEnv) {
  const sub = args[0]!;
  const specs = sub === 'run' ? [...containerCreateFlags, ...runOnlyFlags] : containerCreateFlags;
  const { flags, args: rest } = parseFlags(args.slice(1), specs, { stopAtPositional: true });
  return JSON.parse(JSON.stringify(buildCreateBody(flags, rest[0]!, rest.slice(1), { run: sub === 'run', env })));
}

/** The docker CLI passes -e values through a Go map when some lack a value, so their order varies. */
function sortedEnv<T>(body: T): T {
  const b = body as { Env?: string[] | null };
  if (b.Env) b.Env = [...b.Env].sort();
  return body;
}

const cases: string[][] = [
  ['create', 'busybox'],
  ['create', '--name', 'n1', '-e', 'A=1', '-e', 'HOME', '-e', 'UNSET_VAR', '-w', '/w', '-u', '1:2', '--entrypoint', 'sh', '--hostname', 'hh', '-v', '/data', '-v', '/a:/b:ro',
    '--mount', 'type=bind,src=/x,dst=/y,readonly', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m', '--tmpfs', '/run:size=1m', '--read-only', '--init', '--restart', 'on-failure:3', '-m', '512m', '--cpus', '1.5',
    '--pids-limit', '10', '--cap-add', 'net_admin', '--cap-drop', 'ALL', '--privileged', '-l', 'a=b', '--stop-signal', 'SIGINT', '--stop-timeout', '5', '--network', 'net1',
    '-p', '8080:80', '-p', '127.0.0.1::53/udp', '-p', '9000-9001:9000-9001', '-P', '--dns', '1.1.1.1', '--add-host', 'h:1.2.3.4', '--network-alias', 'al', '--ip', '10.0.0.5', '-it', 'busybox', 'echo', 'hi'],
  ['create', '--entrypoint', '', '--restart', 'always', '-m', '1g', 'busybox'],
  ['run', '-d', '--rm', '-p', '80', '--expose', '7000-7001', '-i', 'busybox', 'sh'],
];

for (const args of cases) {
  test(`create body matches the docker CLI's: ${args.slice(0, 4).join(' ')}…`, { skip: !existsSync(DOCKER) && 'no docker CLI' }, async () => {
    const env = { PATH: process.env['PATH'], HOME: '/root' };
    const docker = await dockerCreateBody(args, env);
    assert.deepEqual(sortedEnv(berthBody(args, env)), sortedEnv(docker.body));
  });
}

test('env files, labels from files and bare -e names', { skip: !existsSync(DOCKER) && 'no docker CLI' }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-envf-'));
  try {
    const envFile = path.join(dir, 'env');
    writeFileSync(envFile, '# comment\n\nA=1\n  B=two words\nFROM_HOST\nNOT_SET\nC=\n');
    const labelFile = path.join(dir, 'labels');
    writeFileSync(labelFile, 'x=1\ny\n');
    const args = ['create', '--env-file', envFile, '--label-file', labelFile, '-l', 'x=2', 'busybox'];
    const env = { PATH: process.env['PATH'], FROM_HOST: 'yes' };
    const docker = await dockerCreateBody(args, env);
    assert.deepEqual(sortedEnv(berthBody(args, env)), sortedEnv(docker.body));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('port specs', () => {
  assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
  assert.deepEqual(parsePortSpec('8080:80/udp'), [{ port: '80/udp', binding: { HostIp: '', HostPort: '8080' } }]);
  assert.deepEqual(parsePortSpec('127.0.0.1:8080:80'), [{ port: '80/tcp', binding: { HostIp: '127.0.0.1', HostPort: '8080' } }]);
  assert.deepEqual(parsePortSpec('[::1]:8080:80'), [{ port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } }]);
  assert.deepEqual(parsePortSpec('1000-1001:2000-2001').map((p) => `${p.binding.HostPort}->${p.port}`), ['1000->2000/tcp', '1001->2001/tcp']);
  assert.throws(() => parsePortSpec('80/xyz'), /invalid proto: xyz/);
  assert.throws(() => parsePortSpec('a:b:c:d'), /invalid port format/);
  assert.throws(() => parsePortSpec('99999'), /invalid containerPort/);
});

test('mounts and volumes', () => {
  assert.deepEqual(parseMount('type=volume,source=v1,target=/data,volume-nocopy'), { Type: 'volume', Source: 'v1', Target: '/data', VolumeOptions: { NoCopy: true } });
  assert.deepEqual(parseMount('type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 64 << 20, Mode: 0o1770 } });
  assert.throws(() => parseMount('type=bind,target=/x'), /source is required/);
  assert.throws(() => parseMount('type=bind,src=/a'), /target is required/);
  assert.throws(() => parseMount('type=bind,src=/a,dst=/b,bogus=1'), /unexpected key 'bogus'/);
  assert.throws(() => parseMount('type=tmpfs,dst=/b,volume-nocopy'), /cannot mix 'volume-\*' options/);
  assert.deepEqual(parseVolume('/data'), { volume: '/data' });
  assert.deepEqual(parseVolume('named:/data:ro'), { bind: 'named:/data:ro' });
  assert.throws(() => parseVolume('relative'), /invalid volume specification/);
});

test('memory units, cpus, restart policies, env lines', () => {
  assert.equal(parseMemory('512m'), 512 * 1024 * 1024);
  assert.equal(parseMemory('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseMemory('100'), 100);
  assert.equal(parseMemory('4k'), 4096);
  assert.throws(() => parseMemory('lots'), /invalid size: 'lots'/);
  assert.equal(parseCpus('1.5'), 1_500_000_000);
  assert.equal(parseCpus('0.001'), 1_000_000);
  assert.throws(() => parseCpus('one'), /failed to parse one as a rational number/);
  assert.deepEqual(parseRestartPolicy('on-failure:5'), { Name: 'on-failure', MaximumRetryCount: 5 });
  assert.deepEqual(parseRestartPolicy('unless-stopped'), { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.throws(() => parseRestartPolicy('always:3'), /maximum retry count can only be used with 'on-failure'/);
  assert.throws(() => parseRestartPolicy('on-failure:x'), /must be an integer/);
  assert.deepEqual(parseEnvLines('A=1\n#c\nB\n', 'f', { B: 'b' }), ['A=1', 'B=b']);
  assert.throws(() => parseEnvLines('BAD KEY=1\n', 'f', {}), /variable 'BAD KEY' contains whitespaces/);
  assert.equal(expandEnv('X', { X: 'y' }), 'X=y');
  assert.equal(expandEnv('X', {}), 'X');
});

test('--rm with --restart and -a with -d conflict as in docker', () => {
  const parse = (argv: string[]) => parseFlags(argv, [...containerCreateFlags, ...runOnlyFlags], { stopAtPositional: true });
  assert.throws(() => buildCreateBody(parse(['--rm', '--restart', 'always', 'x']).flags, 'x', [], { run: true }), /Conflicting options: --restart and --rm/);
  assert.throws(() => buildCreateBody(parse(['-d', '-a', 'stdout', 'x']).flags, 'x', [], { run: true }), /Conflicting options: -a and -d/);
});

test('exec create body matches the docker CLI\'s', { skip: !existsSync(DOCKER) && 'no docker CLI' }, async () => {
  const args = ['exec', '-d', '-e', 'A=1', '-u', 'nobody', '-w', '/tmp', '--privileged', 'ctr', 'sh', '-c', 'true'];
  const docker = await dockerCreateBody(args, { PATH: process.env['PATH'] }, '/containers/ctr/exec');
  const spec = (await import('../../src/cli/commands/container-exec.js')).execCommand.flags;
  const { flags, args: rest } = parseFlags(args.slice(1), spec, { stopAtPositional: true });
  assert.deepEqual(JSON.parse(JSON.stringify(execBody(flags, rest.slice(1), {}))), docker.body);
});
