// The ~300 MB image the registry bench moves: bigRootfs split into a busybox base layer and
// several package layers (a realistic image has several, and they let parallel downloads matter),
// each gzipped once by pigz; cached with the rootfs between runs. Also a `docker save`-format
// archive of the same layers, uncompressed, so engines can load an image with no compressed blobs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bigRootfs } from './scenarios.js';

export const PACKAGE_LAYERS = 5;

export interface BenchLayer {
  /** Uncompressed tar and its digest (the diff ID). */
  tar: string;
  diffID: string;
  /** pigz -n -6 of the tar. */
  gz: string;
  digest: string;
  size: number;
}

export interface BenchImage {
  layers: BenchLayer[];
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  /** docker-archive (`docker save` format) tagged `bench/push:1`. */
  archive: string;
  /** Sum of the compressed layer sizes. */
  bytes: number;
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(`sha256:${h.digest('hex')}`)).on('error', reject);
  });
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// Deterministic tars: the same rootfs always gives the same layer digests.
const TAR_FLAGS = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@946684800', '--format=posix', '--pax-option=delete=atime,delete=ctime'];

export async function benchImage(cache: string, repo: string): Promise<BenchImage> {
  bigRootfs(cache, repo);
  const rootfs = path.join(cache, 'rootfs-300m');
  const dir = path.join(cache, `registry-image-${PACKAGE_LAYERS}`);
  const meta = path.join(dir, 'layers.json');
  if (!existsSync(meta)) {
    const work = `${dir}.tmp`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const pkgs = readdirSync(path.join(rootfs, 'usr/share')).filter((d) => d.startsWith('pkg')).sort();
    const groups: string[][] = [[]];
    for (let i = 0; i < PACKAGE_LAYERS; i++) groups.push(pkgs.filter((_, j) => j % PACKAGE_LAYERS === i).map((p) => `./usr/share/${p}`));
    const layers: BenchLayer[] = [];
    for (const [i, paths] of groups.entries()) {
      const tar = path.join(work, `layer${i}.tar`);
      const args = i === 0 ? ['--exclude=./usr/share/pkg*', '.'] : paths;
      execFileSync('tar', [...TAR_FLAGS, '-C', rootfs, '-cf', tar, ...args]);
      const gz = `${tar}.gz`;
      execFileSync('sh', ['-c', 'pigz -n -6 -c "$1" > "$2"', 'sh', tar, gz]);
      layers.push({ tar: path.basename(tar), diffID: await sha256File(tar), gz: path.basename(gz), digest: await sha256File(gz), size: statSync(gz).size });
    }
    writeFileSync(path.join(work, 'layers.json'), JSON.stringify(layers));
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  }
  const layers = (JSON.parse(readFileSync(meta, 'utf8')) as BenchLayer[]).map((l) => ({ ...l, tar: path.join(dir, l.tar), gz: path.join(dir, l.gz) }));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    history: layers.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `layer ${i}` })),
  }));
  const configDigest = sha256(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.size, digest: l.digest })),
  }));
  const archive = path.join(dir, 'archive.tar');
  if (!existsSync(archive)) {
    const a = path.join(dir, 'archive');
    rmSync(a, { recursive: true, force: true });
    mkdirSync(a);
    writeFileSync(path.join(a, 'config.json'), config);
    writeFileSync(path.join(a, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['bench/push:1'], Layers: layers.map((l) => path.basename(l.tar)) }]));
    // -h stores the layer tars themselves rather than symlinks to them.
    for (const l of layers) execFileSync('ln', ['-s', l.tar, path.join(a, path.basename(l.tar))]);
    execFileSync('tar', ['-h', '-C', a, '-cf', `${archive}.tmp`, '.']);
    renameSync(`${archive}.tmp`, archive);
    rmSync(a, { recursive: true, force: true });
  }
  return { layers, config, configDigest, manifest, archive, bytes: layers.reduce((n, l) => n + l.size, 0) };
}

/** Pushes the image to a registry at http://host as `name:tag` (curl uploads the big blobs). */
export async function pushBenchImage(host: string, name: string, tag: string, img: BenchImage): Promise<void> {
  const upload = async (digest: string, body: { file?: string; bytes?: Buffer }) => {
    const start = await fetch(`http://${host}/v2/${name}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
    const loc = new URL(start.headers.get('location')!, `http://${host}`);
    loc.searchParams.set('digest', digest);
    if (body.file) {
      const code = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-T', body.file, loc.toString()], { encoding: 'utf8' });
      if (code !== '201') throw new Error(`upload of ${digest}: ${code}`);
    } else {
      const r = await fetch(loc, { method: 'PUT', body: body.bytes as Uint8Array<ArrayBuffer>, headers: { 'Content-Type': 'application/octet-stream' } });
      if (r.status !== 201) throw new Error(`upload of ${digest}: ${r.status}`);
    }
  };
  for (const l of img.layers) await upload(l.digest, { file: l.gz });
  await upload(img.configDigest, { bytes: img.config });
  const r = await fetch(`http://${host}/v2/${name}/manifests/${tag}`, { method: 'PUT', body: img.manifest as Uint8Array<ArrayBuffer>, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' } });
  if (r.status !== 201) throw new Error(`manifest: ${r.status} ${await r.text()}`);
}
