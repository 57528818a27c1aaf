// Side-by-side benchmark: the same scenarios on berthd, a reference dockerd and podman, reported as
// times and ratios from one run. Usage: bench/run.sh [scenario...] (import, saveload, images, run, network, fifty, build, registry, memory).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBerth, startDocker, startPodman, type Engine } from './engines.js';
import { importBusybox, scenarioFifty, scenarioRunRm } from './containers.js';
import { scenarioBuild } from './build.js';
import { scenarioNetwork } from './network.js';
import { scenarioRegistryClient } from './registry.js';
import { scenarioRegistryServer } from './registry-server.js';
import { bigRootfs, scenarioIdleMemory, scenarioImages1000, scenarioImport, scenarioSaveLoad, type Result } from './scenarios.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wanted = new Set(process.argv.slice(2));
const want = (s: string) => wanted.size === 0 || wanted.has(s);

function report(results: Result[]): string {
  const lines = ['| scenario | berth | docker | podman | berth/docker | berth/podman |', '|---|---|---|---|---|---|'];
  const fmt = (v: number | undefined, unit: string) => (v === undefined ? '–' : `${unit === 's' ? v.toFixed(2) : Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)} ${unit}`);
  const ratio = (a?: number, b?: number) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}x`);
  for (const r of results) {
    const extra = Object.entries(r.values).filter(([k]) => !['berth', 'docker', 'podman'].includes(k)).map(([k, v]) => `; ${k}: ${fmt(v, r.unit)}`).join('');
    lines.push(`| ${r.scenario}${extra}${r.note ? ` (${r.note})` : ''} | ${fmt(r.values['berth'], r.unit)} | ${fmt(r.values['docker'], r.unit)} | ${fmt(r.values['podman'], r.unit)} | ${ratio(r.values['berth'], r.values['docker'])} | ${ratio(r.values['berth'], r.values['podman'])} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const top = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  const cache = '/var/cache/berth-bench';
  mkdirSync(cache, { recursive: true });
  const engines: Engine[] = [];
  const results: Result[] = [];
  try {
    engines.push(await startBerth(repo, path.join(top, 'berth')));
    engines.push(await startDocker(path.join(top, 'docker')));
    engines.push(await startPodman(path.join(top, 'podman')));
    // A failing scenario is reported and the others still run.
    const attempt = async (name: string, fn: () => Promise<Result | Result[]>) => {
      try {
        const r = await fn();
        results.push(...(Array.isArray(r) ? r : [r]));
      } catch (err) {
        console.error(`scenario ${name} failed: ${err instanceof Error ? err.message : err}`);
        results.push({ scenario: `${name} (failed: see log)`, unit: 's', values: {} });
      }
    };
    if (want('memory')) await attempt('idle memory', async () => scenarioIdleMemory(engines));
    const rootfs = want('import') || want('saveload') ? bigRootfs(cache, repo) : '';
    if (want('import') || want('saveload')) await attempt('import', () => scenarioImport(engines, rootfs));
    if (want('saveload')) await attempt('save/load', () => scenarioSaveLoad(engines, top));
    if (want('images')) await attempt('images', () => scenarioImages1000(engines, repo, top));
    if (want('run') || want('network') || want('fifty') || want('build')) await attempt('busybox', async () => (importBusybox(engines, repo), []));
    if (want('run')) await attempt('run --rm', async () => scenarioRunRm(engines, repo));
    if (want('network')) await attempt('network', () => scenarioNetwork(engines));
    if (want('fifty')) await attempt('50 containers', async () => scenarioFifty(engines));
    if (want('build')) await attempt('build', () => scenarioBuild(engines, repo, cache));
    if (want('registry')) await attempt('registry pull/push', () => scenarioRegistryClient(engines, repo, cache));
    if (want('registry')) await attempt('registry serve', () => scenarioRegistryServer());
    if (want('memory')) await attempt('memory', async () => ({ ...scenarioIdleMemory(engines), scenario: 'daemon memory after the scenarios (RSS)' }));
  } finally {
    for (const e of engines.reverse()) await e.stop().catch((err) => console.error(`stopping ${e.name}: ${err}`));
    rmSync(top, { recursive: true, force: true });
  }
  const table = report(results);
  console.log(table);
  mkdirSync(path.join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(repo, 'bench', 'results', 'latest.json'), JSON.stringify({ date: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, results }, null, 2));
  writeFileSync(path.join(repo, 'bench', 'results', 'latest.md'), table + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
