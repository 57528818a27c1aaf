// What runs in a container and what it uses: `top` (the host's ps, filtered to the container's
// PIDs, as Docker does) and `stats` (cgroup v1 counters in the Engine API's shape).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { Conflict, InvalidArgument } from '../errdefs/index.js';
import type { ContainerService } from './service.js';

const execFileP = promisify(execFile);
const CGROUP = '/sys/fs/cgroup';

function readNumber(file: string): number | undefined {
  try {
    const v = readFileSync(file, 'utf8').trim();
    return v === 'max' ? undefined : Number(v);
  } catch {
    return undefined;
  }
}

function readNumbers(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

function readKeyValues(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.split(' ');
      if (k && v !== undefined) out[k] = Number(v);
    }
  } catch {
    // absent controller
  }
  return out;
}

/** Total CPU time of the host in nanoseconds, from /proc/stat (what Docker reports as system usage). */
function systemCpuUsage(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const ticks = line.split(/\s+/).slice(1, 8).reduce((a, b) => a + Number(b), 0);
  return (ticks / 100) * 1e9;
}

export async function top(containers: ContainerService, ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
  const c = containers.resolve(ref);
  if (!c.State.Running) throw new Conflict(`Container ${c.Id} is not running`);
  const pids = new Set((await containers.runtime.ps(c.Id)).map(String));
  let stdout: string;
  try {
    ({ stdout } = await execFileP('ps', psArgs.split(/\s+/).filter(Boolean), { maxBuffer: 16 << 20 }));
  } catch (err) {
    throw new InvalidArgument(`ps: ${(err as Error).message}`);
  }
  const lines = stdout.split('\n').filter(Boolean);
  const titles = lines[0]!.trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw new InvalidArgument(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const l of lines.slice(1)) {
    const fields = l.trim().split(/\s+/);
    if (!pids.has(fields[pidCol]!)) continue;
    // The last column (CMD) keeps its spaces.
    processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  }
  return { Titles: titles, Processes: processes };
}

export function stats(containers: ContainerService, ref: string, previous?: { cpu: number; system: number; read: string }) {
  const c = containers.resolve(ref);
  const id = c.Id;
  const cg = (ctl: string, file: string) => `${CGROUP}/${ctl}/berth/${id}/${file}`;
  const running = c.State.Running;
  const memStat = running ? readKeyValues(cg('memory', 'memory.stat')) : {};
  // A container that exits while it is read has no cgroup any more: zeros, not a broken stream.
  const percpu = running ? readNumbers(cg('cpuacct', 'cpuacct.usage_percpu')) : [];
  const total = running ? readNumber(cg('cpuacct', 'cpuacct.usage')) ?? 0 : 0;
  const cpuStat = running ? readKeyValues(cg('cpuacct', 'cpuacct.stat')) : {};
  const system = systemCpuUsage();
  const now = new Date().toISOString();
  const limit = running ? readNumber(cg('memory', 'memory.limit_in_bytes')) : undefined;
  const cpuStats = {
    cpu_usage: { total_usage: total, percpu_usage: percpu, usage_in_kernelmode: (cpuStat['system'] ?? 0) * 1e7, usage_in_usermode: (cpuStat['user'] ?? 0) * 1e7 },
    system_cpu_usage: system, online_cpus: os.cpus().length, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
  const snapshot = {
    read: now, preread: previous?.read ?? '0001-01-01T00:00:00Z',
    pids_stats: running ? { current: readNumber(cg('pids', 'pids.current')) ?? 0, limit: readNumber(cg('pids', 'pids.max')) } : {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0, storage_stats: {},
    cpu_stats: cpuStats,
    precpu_stats: previous
      ? { cpu_usage: { total_usage: previous.cpu, percpu_usage: percpu, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: previous.system, online_cpus: os.cpus().length, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } }
      : { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: running ? {
      usage: readNumber(cg('memory', 'memory.usage_in_bytes')) ?? 0, max_usage: readNumber(cg('memory', 'memory.max_usage_in_bytes')) ?? 0,
      stats: memStat, failcnt: readNumber(cg('memory', 'memory.failcnt')) ?? 0, limit: Math.min(limit ?? os.totalmem(), os.totalmem()),
    } : {},
    name: c.Name, id,
  };
  return { snapshot, sample: { cpu: total, system, read: now } };
}
