// Bundles each entry point into one file: an esbuild bundle starts in ~120 ms vs ~400 ms through tsx.
import { build } from 'esbuild';

const entries = {
  berthd: 'src/daemon/main.ts',
  berth: 'src/cli/main.ts',
  registry: 'src/registry/server/main.ts',
  // The layer unpack worker (src/lib/archive/worker-unpack.ts finds it beside berthd.js).
  'unpack-worker': 'src/lib/archive/unpack-worker.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // koffi loads a native module at run time; keep it (and its prebuilt binaries) in node_modules.
  external: ['koffi', 'dockerode'],
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
