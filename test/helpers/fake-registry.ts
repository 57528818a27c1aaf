// A hand-made registry on 127.0.0.1 serving one schema2 image of gzipped layers, where the test
// decides what goes out for each layer blob (cut off, corrupted, slow): for pull fault tests that
// a real registry cannot stage.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const hostArch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;

export interface FakeRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** The layer blobs' digests, bottom first. */
  digests: string[];
  close(): Promise<void>;
}

/** Serves the image whose layers are `tars` (uncompressed); `send` answers for layer i's blob. */
export function serveImage(tars: Buffer[], send: (res: http.ServerResponse, i: number, good: Buffer) => void, config: object = {}): Promise<FakeRegistry> {
  const blobs = tars.map((t) => gzipSync(t));
  const digests = blobs.map(sha);
  const cfg = Buffer.from(JSON.stringify({ architecture: hostArch, os: 'linux', ...config, rootfs: { type: 'layers', diff_ids: tars.map(sha) } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha(cfg), size: cfg.length },
    layers: blobs.map((b, i) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digests[i], size: b.length })),
  }));
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return res.end('{}');
    if (url.includes('/manifests/')) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json', 'Docker-Content-Digest': sha(manifest) });
      return res.end(manifest);
    }
    if (url.endsWith(sha(cfg))) return res.end(cfg);
    const i = digests.findIndex((d) => url.endsWith(d));
    if (i >= 0) return send(res, i, blobs[i]!);
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    resolve({ host, digests, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) });
  }));
}
