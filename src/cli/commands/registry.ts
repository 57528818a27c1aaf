// `berth registry ...` runs the registry server, which is not a daemon command: the CLI loads the
// separately bundled dist/registry.js (or, under tsx, its source) only when asked.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function runRegistry(argv: string[]): Promise<number> {
  const bundled = new URL('./registry.js', import.meta.url);
  const source = new URL('../../registry/server/main.ts', import.meta.url);
  const target = import.meta.url.endsWith('.ts') || !existsSync(fileURLToPath(bundled)) ? source : bundled;
  const mod = (await import(target.href)) as { runRegistryCommand(argv: string[]): Promise<number> };
  return mod.runRegistryCommand(argv);
}
