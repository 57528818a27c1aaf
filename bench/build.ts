// The build scenario: a 10-instruction Dockerfile over a generated 5,000-file, 50 MB context,
// built cold, rebuilt fully cached, and rebuilt after one file changed, on each engine: berthd
// (through the docker CLI's classic builder and through `berth build`), the reference dockerd
// (DOCKER_BUILDKIT=0 docker build) and `podman build`.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Engine } from './engines.js';
import { time, type Result } from './scenarios.js';

const PODMAN_LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

const DOCKERFILE = [
  'FROM bench/busybox',
  'ENV APP=/app',
  'WORKDIR /app',
  'LABEL bench=build',
  'COPY . /app',
  'RUN find /app -type f | wc -l > /file-count',
  'ENV MODE=bench',
  'RUN echo "$MODE" > /mode',
  'EXPOSE 8080',
  'CMD ["cat", "/file-count"]',
].join('\n') + '\n';

/** 5,000 files of pseudo-random bytes (50 MB in all) in 50 directories, made once and kept in `cache`. */
export function buildContext(cache: string): string {
  const dir = path.join(cache, 'build-context-5000');
  const done = path.join(cache, 'build-context-5000.done');
  if (!existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    for (let d = 0; d < 50; d++) {
      const sub = path.join(dir, `pkg${d}`);
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 100; f++) {
        // Sizes 2-18 KB averaging 10 KB; the bytes are a hash chain so they neither compress nor vary between runs.
        const size = 2048 + (((d * 100 + f) * 7919) % 16384);
        const chunks: Buffer[] = [];
        let seed = createHash('sha256').update(`${d}/${f}`).digest();
        for (let n = 0; n < size; n += 32) chunks.push((seed = createHash('sha256').update(seed).digest()));
        writeFileSync(path.join(sub, `file${f}.bin`), Buffer.concat(chunks).subarray(0, size));
      }
    }
    writeFileSync(done, '');
  }
  writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
  return dir;
}

function runBuild(argv: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(argv[0]!, argv.slice(1), { env, maxBuffer: 1 << 28, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Client {
  name: string;
  argv(tag: string, ctx: string): string[];
  env: NodeJS.ProcessEnv;
}

function clientsFor(engines: Engine[], repo: string): Client[] {
  const env = { ...process.env, DOCKER_BUILDKIT: '0' };
  const out: Client[] = [];
  for (const e of engines) {
    if (e.name === 'podman') out.push({ name: 'podman', env, argv: (t, c) => [...e.cli, 'build', ...PODMAN_LIMITS, '-t', t, c] });
    else out.push({ name: e.name, env, argv: (t, c) => [...e.cli, 'build', '-t', t, c] });
    if (e.name === 'berth') {
      out.push({ name: 'berth (berth CLI)', env, argv: (t, c) => [path.join(repo, 'bin/berth'), '-H', `unix://${e.socket}`, 'build', '-t', t, c] });
    }
  }
  return out;
}

export async function scenarioBuild(engines: Engine[], repo: string, cache: string): Promise<Result[]> {
  const ctx = buildContext(cache);
  const touched = path.join(ctx, 'pkg7', 'file42.bin');
  const original = readFileSync(touched);
  const cold: Record<string, number> = {};
  const cached: Record<string, number> = {};
  const oneFile: Record<string, number> = {};
  try {
    for (const c of clientsFor(engines, repo)) {
      // Each client gets a cold start: its own build arg would not do (the classic builder keys
      // COPY on content only), so the berth CLI's cold build uses --no-cache after the docker CLI's.
      const cold1 = c.name === 'berth (berth CLI)' ? ['--no-cache'] : [];
      const argv = (tag: string, extra: string[] = []) => {
        const a = c.argv(tag, ctx);
        return [...a.slice(0, -1), ...extra, a[a.length - 1]!];
      };
      cold[c.name] = time(() => runBuild(argv('bench/built:cold', cold1), c.env));
      cached[c.name] = time(() => {
        const out = runBuild(argv('bench/built:cached'), c.env);
        if (c.name !== 'podman' && !/Using cache[\s\S]*Using cache/.test(out)) throw new Error(`${c.name}: the rebuild used no cache:\n${out}`);
      });
      appendFileSync(touched, `changed by ${c.name}\n`);
      oneFile[c.name] = time(() => runBuild(argv('bench/built:touched'), c.env));
      writeFileSync(touched, original);
    }
  } finally {
    writeFileSync(touched, original);
  }
  const note = '10 instructions, 5,000 files / 50 MB context';
  return [
    { scenario: `build, cold (${note})`, unit: 's', values: cold },
    { scenario: 'build, fully cached rebuild', unit: 's', values: cached },
    { scenario: 'build, rebuild after one file changed', unit: 's', values: oneFile },
  ];
}
