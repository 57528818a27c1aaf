// `stats`: one sample per container from GET /containers/{id}/stats (stream=0 with --no-stream),
// with docker's CPU and memory arithmetic and columns.
import type { Command } from '../command.js';
import { renderRows } from '../render/table.js';
import { bytesSize, humanSize } from '../render/units.js';
import { formatFlag } from './common.js';
import type { ContainerSummary } from './container-ps.js';

interface StatsJson {
  name?: string;
  id?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  pids_stats?: { current?: number };
}

/** docker's calculateCPUPercentUnix and memory-minus-cache, as the CLI prints them. */
export function statsRow(s: StatsJson, id: string, name: string) {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const st = s.memory_stats?.stats ?? {};
  const cache = st['total_inactive_file'] ?? st['inactive_file'] ?? 0;
  const usage = Math.max(0, (s.memory_stats?.usage ?? 0) - cache);
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === 'read') read += e.value;
    if (e.op.toLowerCase() === 'write') write += e.value;
  }
  return {
    BlockIO: `${humanSize(read)} / ${humanSize(write)}`,
    CPUPerc: `${cpu.toFixed(2)}%`,
    Container: id,
    ID: id,
    MemPerc: `${(limit ? (usage / limit) * 100 : 0).toFixed(2)}%`,
    MemUsage: `${bytesSize(usage)} / ${bytesSize(limit)}`,
    Name: name,
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  };
}

export const statsCommand: Command = {
  path: ['container', 'stats'],
  aliases: [['stats']],
  usage: '[OPTIONS] [CONTAINER...]',
  short: 'Display a live stream of container(s) resource usage statistics',
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
    formatFlag,
    { name: 'no-stream', type: 'bool', help: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
  ],
  async run(ctx, args, flags) {
    const client = await ctx.client();
    const names = args.length ? args : (await client.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: !!flags['all'] || undefined } })).map((c) => c.Id);
    const def = '{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
    const headers = { ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };
    const sample = async () => {
      const rows = [];
      for (const n of names) {
        const s = await client.json<StatsJson>('GET', `/containers/${encodeURIComponent(n)}/stats`, { query: { stream: false } });
        const id = (s.id ?? n);
        rows.push(statsRow(s, flags['no-trunc'] ? id : id.slice(0, 12), (s.name ?? '').replace(/^\//, '')));
      }
      return renderRows(rows, flags['format'] as string | undefined, def, headers);
    };
    if (flags['no-stream']) {
      ctx.stdout.write(await sample());
      return;
    }
    // Streaming: redraw once a second until interrupted, as docker does on a terminal.
    for (;;) {
      const out = await sample();
      ctx.stdout.write(((ctx.stdout as NodeJS.WriteStream).isTTY ? '\x1b[2J\x1b[H' : '') + out);
      await new Promise((r) => setTimeout(r, 1000));
    }
  },
};
