// Container scenarios: the latency of `run --rm busybox true` (the docker CLI against each engine,
// and the berth CLI against berthd), and 50 detached containers started, listed and removed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { rssKiB, type Engine } from './engines.js';
import { sh, time, type Result } from './scenarios.js';

const PODMAN_LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

function runArgs(e: Engine): string[] {
  return e.name === 'podman' ? ['run', '--rm', ...PODMAN_LIMITS, 'bench/busybox', 'true'] : ['run', '--rm', 'bench/busybox', 'true'];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function importBusybox(engines: Engine[], repo: string): void {
  const tar = execFileSync(path.join(repo, 'scripts/busybox-rootfs.sh'), { maxBuffer: 1 << 26 });
  for (const e of engines) sh([...e.cli, 'import', '-c', 'CMD ["sh"]', '-', 'bench/busybox'], tar);
}

export function scenarioRunRm(engines: Engine[], repo: string, rounds = 15): Result {
  const values: Record<string, number> = {};
  for (const e of engines) {
    sh([...e.cli, ...runArgs(e)]); // warm the page cache
    values[e.name] = median(Array.from({ length: rounds }, () => time(() => sh([...e.cli, ...runArgs(e)])) * 1000));
  }
  const berth = engines.find((e) => e.name === 'berth');
  if (berth) {
    const cli = [path.join(repo, 'bin/berth'), '-H', `unix://${berth.socket}`, 'run', '--rm', 'bench/busybox', 'true'];
    try {
      sh(cli);
      values['berth (berth CLI)'] = median(Array.from({ length: rounds }, () => time(() => sh(cli)) * 1000));
    } catch {
      // the berth CLI predates `run`
    }
  }
  return { scenario: '`run --rm busybox true` (median of 15)', unit: 'ms', values };
}

export function scenarioFifty(engines: Engine[]): Result[] {
  const start: Record<string, number> = {};
  const list: Record<string, number> = {};
  const remove: Record<string, number> = {};
  const memory: Record<string, number> = {};
  for (const e of engines) {
    const extra = e.name === 'podman' ? PODMAN_LIMITS : [];
    const ids: string[] = [];
    start[e.name] = time(() => {
      for (let i = 0; i < 50; i++) ids.push(sh([...e.cli, 'run', '-d', ...extra, 'bench/busybox', 'sleep', '600']).trim());
    });
    list[e.name] = time(() => {
      const n = sh([...e.cli, 'ps', '-q']).trim().split('\n').length;
      if (n < 50) throw new Error(`${e.name}: ps listed ${n} of 50`);
    }) * 1000;
    if (e.pids().length) memory[e.name] = rssKiB(e.pids()) / 1024;
    remove[e.name] = time(() => sh([...e.cli, 'rm', '-f', ...ids]));
  }
  return [
    { scenario: '50 × `run -d` (sequential)', unit: 's', values: start },
    { scenario: '`ps` with 50 running', unit: 'ms', values: list },
    { scenario: '`rm -f` of 50 running', unit: 's', values: remove },
    { scenario: 'daemon memory with 50 running (RSS; monitors not counted)', unit: 'MiB', values: memory },
  ];
}
