// The berth CLI against a real berthd, compared line for line with the docker CLI where it is
// installed (both talk to the same daemon, so any difference is the CLI's).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { busyboxTar } from '../helpers/busybox.js';
import { berthBin, dockerCli, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';

let daemon: TestDaemon;
let tmp: string;

before(async () => {
  daemon = await startDaemon();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-cli-'));
});
after(async () => {
  await daemon?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const run = (bin: string, args: string[], input?: Buffer | string) => runCli(bin, args, { host: daemon.host, config: tmp, input });
const berth = (...args: string[]) => run(berthBin, args);

test('import, images, tag, inspect, history, rmi with Docker\'s output', () => {
  const imported = run(berthBin, ['import', '-c', 'CMD ["sh"]', '-c', 'LABEL stage=test', '-m', 'the host busybox', '-', 'cli/busybox:1'], busyboxTar());
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /^sha256:[a-f0-9]{64}\n$/);
  const id = imported.out.trim();
  assert.equal(berth('tag', 'cli/busybox:1', 'cli/busybox:latest').code, 0);
  const table = berth('images', 'cli/busybox');
  assert.match(table.out, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\n/);
  assert.match(table.out, new RegExp(`cli/busybox +1 +${id.slice(7, 19)} `));
  assert.equal(berth('images', '-q', 'cli/busybox').out, `${id.slice(7, 19)}\n${id.slice(7, 19)}\n`);
  assert.equal(berth('images', '--no-trunc', '--format', '{{.ID}} {{.Tag}}', '-f', 'label=stage=test').out, `${id} 1\n${id} latest\n`);
  assert.equal(berth('inspect', '--format', '{{.Config.Labels.stage}} {{json .Config.Cmd}}', 'cli/busybox').out, 'test ["sh"]\n');
  assert.match(berth('history', 'cli/busybox').out, /^IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n[a-f0-9]{12} .* the host busybox\n$/);
  const rmi = berth('rmi', 'cli/busybox:latest', 'no/such:image');
  assert.equal(rmi.code, 1);
  assert.equal(rmi.out, 'Untagged: cli/busybox:latest\n');
  assert.equal(rmi.err, 'Error response from daemon: No such image: no/such:image\n');
});

test('usage errors are Docker\'s, with exit code 125 for flags and 1 for arguments', () => {
  const bad = berth('images', '--bogus');
  assert.equal(bad.code, 125);
  assert.equal(bad.err, "unknown flag: --bogus\nSee 'berth images --help'.\n");
  const arity = berth('tag', 'only-one');
  assert.equal(arity.code, 1);
  assert.match(arity.err, /^"berth tag" requires exactly 2 arguments\.\nSee 'berth tag --help'\./);
  assert.match(berth('images', '--help').out, /Usage:  berth images \[OPTIONS\] \[REPOSITORY\[:TAG\]\]/);
});

test('save to a file, remove, load back, then prune', () => {
  const file = path.join(tmp, 'saved.tar');
  assert.equal(berth('save', '-o', file, 'cli/busybox:1').code, 0);
  const id = berth('inspect', '-f', '{{.Id}}', 'cli/busybox:1').out.trim();
  assert.equal(berth('rmi', 'cli/busybox:1').code, 0);
  assert.equal(berth('load', '-i', file).out, 'Loaded image: cli/busybox:1\n');
  assert.equal(berth('inspect', '-f', '{{.Id}}', 'cli/busybox:1').out.trim(), id);
  // Re-importing under the same name leaves the old image dangling; prune removes it.
  run(berthBin, ['import', '-', 'cli/busybox:1'], busyboxTar());
  assert.equal(berth('images', '-q', '-f', 'dangling=true').out.trim(), id.slice(7, 19));
  const pruned = berth('image', 'prune', '-f');
  assert.match(pruned.out, new RegExp(`^Deleted Images:\ndeleted: ${id}\n\nTotal reclaimed space: 0B\n$`));
  assert.equal(berth('images', '-q', '-f', 'dangling=true').out, '');
});

test('berth and docker print the same tables and JSON for the same daemon', { skip: !dockerCli }, () => {
  const same = (...args: string[]) => {
    const a = run(berthBin, args);
    const b = run(dockerCli!, args);
    assert.equal(a.code, b.code, `${args.join(' ')}: ${a.err} / ${b.err}`);
    assert.equal(a.out, b.out, args.join(' '));
  };
  same('images', '--format', 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}');
  same('images', '--digests', '--format', '{{.Repository}} {{.Digest}} {{.VirtualSize}}');
  same('image', 'inspect', 'cli/busybox:1');
  same('history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'cli/busybox:1');
  same('inspect', '--format', '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', 'cli/busybox:1');
  same('system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Size}} {{.Reclaimable}}');
});
