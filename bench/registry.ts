// Registry client bench: each engine pulls the ~300 MB multi-layer image from a distribution
// registry on loopback (plain HTTP: 127.0.0.0/8 is insecure by default), then loads the same layers
// uncompressed (`docker save` format) and pushes them to a fresh, empty distribution registry, so
// every engine compresses and uploads every byte.
import { startRegistry } from '../test/helpers/distribution.js';
import type { Engine } from './engines.js';
import { benchImage, pushBenchImage } from './registry-image.js';
import { sh, time, type Result } from './scenarios.js';

// podman refuses plain HTTP unless told; docker and berth treat loopback as insecure.
const tlsFlags = (e: Engine) => (e.name === 'podman' ? ['--tls-verify=false'] : []);
const MiB = 1 << 20;

export async function scenarioRegistryClient(engines: Engine[], repo: string, cache: string): Promise<Result[]> {
  const img = await benchImage(cache, repo);
  const source = await startRegistry();
  const pull: Record<string, number> = {};
  const push: Record<string, number> = {};
  try {
    await pushBenchImage(source.host, 'bench/big', '1', img);
    for (const e of engines) pull[e.name] = time(() => sh([...e.cli, 'pull', ...tlsFlags(e), `${source.host}/bench/big:1`]));
    for (const e of engines) {
      sh([...e.cli, 'load', '-i', img.archive]);
      const sink = await startRegistry();
      try {
        const name = `${sink.host}/bench/push:1`;
        sh([...e.cli, 'tag', 'bench/push:1', name]);
        push[e.name] = time(() => sh([...e.cli, 'push', ...tlsFlags(e), name]));
      } finally {
        await sink.stop();
      }
    }
  } finally {
    await source.stop();
  }
  const mb = (img.bytes / MiB).toFixed(0);
  const rate = (v: Record<string, number>) => Object.entries(v).map(([k, s]) => `${k} ${(img.bytes / MiB / s).toFixed(0)} MiB/s`).join(', ');
  return [
    { scenario: `pull of a ${mb} MiB image (${img.layers.length} gzip layers) from a local distribution registry`, unit: 's', values: pull, note: rate(pull) },
    { scenario: `push of that image, loaded uncompressed, to an empty registry`, unit: 's', values: push, note: rate(push) },
  ];
}
