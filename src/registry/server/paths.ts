// Where registry meaning lives on disk, in one file (after distribution's storage/paths.go):
//   <root>/content/                                    blobs, the berthd content-store format
//   <root>/repositories/<name>/_layers/<alg>/<hex>     blob links: the repository may serve the blob
//   <root>/repositories/<name>/_manifests/revisions/<alg>/<hex>   manifest links
//   <root>/repositories/<name>/_manifests/tags/<tag>   the tag's current manifest digest
//   <root>/repositories/<name>/_referrers/<alg>/<subject hex>/<alg>:<hex>   manifests naming a subject
//   <root>/repositories/<name>/_uploads/<uuid>         an upload session (its bytes are a content ingest)
// Names and tags are validated before they reach these functions, so they cannot escape the root.
import path from 'node:path';
import { algorithmOf, encodedOf, type Digest } from '../../lib/digest.js';

export class RegistryPaths {
  constructor(readonly root: string) {}

  get content(): string {
    return path.join(this.root, 'content');
  }
  get repositories(): string {
    return path.join(this.root, 'repositories');
  }
  repository(name: string): string {
    return path.join(this.repositories, ...name.split('/'));
  }
  layerLink(name: string, d: Digest): string {
    return path.join(this.repository(name), '_layers', algorithmOf(d), encodedOf(d));
  }
  revisionsDir(name: string): string {
    return path.join(this.repository(name), '_manifests', 'revisions');
  }
  revisionLink(name: string, d: Digest): string {
    return path.join(this.revisionsDir(name), algorithmOf(d), encodedOf(d));
  }
  tagsDir(name: string): string {
    return path.join(this.repository(name), '_manifests', 'tags');
  }
  tag(name: string, tag: string): string {
    return path.join(this.tagsDir(name), tag);
  }
  referrersDir(name: string, subject: Digest): string {
    return path.join(this.repository(name), '_referrers', algorithmOf(subject), encodedOf(subject));
  }
  referrerLink(name: string, subject: Digest, manifest: Digest): string {
    return path.join(this.referrersDir(name, subject), manifest);
  }
  uploadsDir(name: string): string {
    return path.join(this.repository(name), '_uploads');
  }
  upload(name: string, uuid: string): string {
    return path.join(this.uploadsDir(name), uuid);
  }
}

/** The content-store ingest ref of an upload session. */
export function uploadRef(uuid: string): string {
  return `registry-upload-${uuid}`;
}

/** Label marking blobs the registry brought in, so `registry gc` never sweeps a berthd blob. */
export const OWNED_LABEL = 'berth.registry/owned';
