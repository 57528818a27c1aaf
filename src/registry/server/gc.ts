// Mark and sweep: every manifest linked in any repository is live, and so is everything it names
// (config, layers, index children). Blobs the registry brought in (labelled OWNED_LABEL) that
// nothing names are deleted, with the layer links that pointed at them. Blobs berthd wrote on a
// shared data root carry no such label and are never swept. Run it while no one pushes.
import { isDigest, type Digest } from '../../lib/digest.js';
import { parseManifest } from './manifests.js';
import { OWNED_LABEL } from './paths.js';
import type { RegistryStorage } from './storage.js';

export interface GcResult {
  marked: number;
  /** Upload sessions untouched for longer than `uploadMaxAgeMs`, dropped with their bytes. */
  purgedUploads: number;
  deleted: { digest: Digest; size: number }[];
  freedBytes: number;
}

/** Distribution's default: an upload untouched for a week is abandoned. */
export const UPLOAD_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export async function collectGarbage(
  storage: RegistryStorage,
  options: { dryRun?: boolean; uploadMaxAgeMs?: number; log?: (line: string) => void } = {},
): Promise<GcResult> {
  const live = new Set<Digest>();
  const repos = storage.repositories();
  for (const name of repos) {
    for (const digest of storage.revisions(name)) {
      live.add(digest);
      let bytes: Buffer;
      try {
        bytes = await storage.blobs.readAll(digest);
      } catch {
        continue;
      }
      try {
        const parsed = parseManifest(bytes, undefined);
        for (const b of parsed.blobs) live.add(b);
        for (const m of parsed.manifests) live.add(m.digest);
      } catch {
        // Not a manifest we can read: keep it, mark nothing beneath it.
      }
      options.log?.(`${name}: marking manifest ${digest}`);
    }
  }
  const deleted: GcResult['deleted'] = [];
  await storage.blobs.walk((info) => {
    if (!isDigest(info.digest) || live.has(info.digest) || info.labels[OWNED_LABEL] !== '1') return;
    deleted.push({ digest: info.digest, size: info.size });
  });
  const dead = new Set(deleted.map((d) => d.digest));
  for (const d of deleted) {
    options.log?.(`blob eligible for deletion: ${d.digest}`);
    if (!options.dryRun) await storage.blobs.delete(d.digest).catch(() => {});
  }
  if (!options.dryRun) {
    for (const name of repos) for (const d of storage.layerLinks(name)) if (dead.has(d)) storage.unlinkBlob(name, d);
  }
  const cutoff = Date.now() - (options.uploadMaxAgeMs ?? UPLOAD_MAX_AGE_MS);
  let purgedUploads = 0;
  for (const u of await storage.uploadSessions()) {
    if (u.updatedAt.getTime() > cutoff) continue;
    options.log?.(`${u.name}: abandoned upload ${u.uuid} (${u.offset} bytes)`);
    purgedUploads++;
    if (!options.dryRun) await storage.purgeUpload(u.name, u.uuid);
  }
  return { marked: live.size, purgedUploads, deleted, freedBytes: deleted.reduce((n, d) => n + d.size, 0) };
}
