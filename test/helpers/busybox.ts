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

/** Imports the busybox rootfs into a daemon as `ref` (CMD ["sh"]) through the API; returns the image ID. */
export async function importBusyboxImage(socketPath: string, ref = 'busybox:latest', changes: string[] = ['CMD ["sh"]']): Promise<string> {
  const { request } = await import('node:http');
  const [repo, tag = 'latest'] = ref.split(':');
  const q = new URLSearchParams({ fromSrc: '-', repo: repo!, tag });
  for (const c of changes) q.append('changes', c);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path: `/images/create?${q}`, headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(busyboxTar());
  });
  const last = JSON.parse(body.trim().split('\n').pop()!);
  if (!last.status?.startsWith('sha256:')) throw new Error(`import failed: ${body}`);
  return last.status as string;
}
