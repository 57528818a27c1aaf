// A busybox root filesystem for tests, made once per process from the host's static busybox by
// scripts/busybox-rootfs.sh (deterministic: the same busybox gives the same bytes).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let cached: Buffer | undefined;

/** The rootfs as an uncompressed tar. */
export function busyboxTar(): Buffer {
  cached ??= execFileSync(path.join(repoRoot, 'scripts/busybox-rootfs.sh'), { maxBuffer: 64 << 20 });
  return cached;
}

/** Unpacks the rootfs into `dir` (created if missing) with GNU tar. */
export function extractBusybox(dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-C', dir, '-xf', '-'], { input: busyboxTar() });
}
