// Pure row builders of ps and stats, and logs' --since parsing, checked against docker's rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayPorts, psRow } from '../../src/cli/commands/container-ps.js';
import { statsRow } from '../../src/cli/commands/container-stats.js';
import { timestampParam } from '../../src/cli/commands/container-logs.js';
import { detachKeyBytes } from '../../src/cli/commands/container-attach.js';
import { startErrorCode } from '../../src/cli/commands/container-run.js';

test('ps rows: truncation, quoting, ports', () => {
  const now = Date.UTC(2024, 0, 1, 0, 0, 10);
  const row = psRow({ Id: 'a'.repeat(64), Names: ['/web', '/other/link'], Image: 'sha256:' + 'b'.repeat(64), ImageID: 'sha256:' + 'b'.repeat(64), Command: 'sh -c "sleep 1000000"', Created: now / 1000 - 5, Ports: [{ PrivatePort: 443, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], Labels: { b: '2', a: '1' }, State: 'running', Status: 'Up 5 seconds' }, true, now);
  assert.equal(row.ID, 'a'.repeat(12));
  assert.equal(row.Names, 'web');
  assert.equal(row.Image, 'b'.repeat(12));
  assert.equal(row.Command, '"sh -c \\"sleep 100000…"');
  assert.equal(row.Ports, '0.0.0.0:8080->80/tcp, 443/tcp');
  assert.equal(row.Labels, 'a=1,b=2');
  assert.equal(row.RunningFor, '5 seconds ago');
  assert.equal(displayPorts([{ IP: '::', PrivatePort: 53, PublicPort: 5353, Type: 'udp' }]), '[::]:5353->53/udp');
});

test('stats rows use docker\'s CPU and memory arithmetic', () => {
  const r = statsRow({
    cpu_stats: { cpu_usage: { total_usage: 300 }, system_cpu_usage: 2000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 1000 },
    memory_stats: { usage: 10 * 1024 * 1024, limit: 100 * 1024 * 1024, stats: { inactive_file: 5 * 1024 * 1024 } },
    networks: { eth0: { rx_bytes: 1500, tx_bytes: 0 } },
    pids_stats: { current: 3 },
  }, 'abc', 'web');
  assert.equal(r.CPUPerc, '40.00%');
  assert.equal(r.MemUsage, '5MiB / 100MiB');
  assert.equal(r.MemPerc, '5.00%');
  assert.equal(r.NetIO, '1.5kB / 0B');
  assert.equal(r.PIDs, '3');
});

test('--since values, detach keys, start error exit codes', () => {
  assert.equal(timestampParam('10s', 100_000), '90.000000000');
  assert.equal(timestampParam('1700000000'), '1700000000');
  assert.equal(timestampParam('2024-01-01T00:00:00Z'), '1704067200.000000000');
  assert.equal(timestampParam('2024-01-01T00:00:01.123456789Z'), '1704067201.123456789', 'logs -t timestamps keep their nanoseconds');
  assert.deepEqual(detachKeyBytes('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(detachKeyBytes('a,ctrl-@'), [97, 0]);
  assert.throws(() => detachKeyBytes('ctrl-xx'), /Unknown character/);
  assert.equal(startErrorCode('exec: "x": executable file not found in $PATH'), 127);
  assert.equal(startErrorCode('exec: "/etc": permission denied'), 126);
  assert.equal(startErrorCode('something else'), 125);
});

test('cp arguments: container paths vs local paths', async () => {
  const { splitCpArg } = await import('../../src/cli/commands/container-cp.js');
  assert.deepEqual(splitCpArg('web:/etc/hosts'), { container: 'web', path: '/etc/hosts' });
  assert.deepEqual(splitCpArg('/tmp/a:b'), { path: '/tmp/a:b' });
  assert.deepEqual(splitCpArg('./x:y'), { path: './x:y' });
  assert.deepEqual(splitCpArg('-'), { path: '-' });
});
