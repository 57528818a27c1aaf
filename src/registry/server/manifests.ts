// Reading a pushed manifest: its media type, the blobs and child manifests it needs, its subject.
// Schema2 manifests, manifest lists, OCI manifests and indexes are accepted; anything else is
// MANIFEST_INVALID.
import { isDigest, type Digest } from '../../lib/digest.js';
import { MediaType, isIndexMediaType, isManifestMediaType, type Descriptor } from '../../lib/oci.js';
import { RegistryError } from './errcodes.js';

export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList];
/** Layers a registry need not hold (Windows foreign layers, OCI non-distributable). */
const FOREIGN_LAYER = /foreign|nondistributable/;
export const MAX_MANIFEST_BYTES = 4 << 20;

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must be in the repository (config and layers). */
  blobs: Digest[];
  /** Manifests that must be in the repository (an index's children). */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

function descriptor(value: unknown, where: string): Descriptor {
  const d = value as Descriptor | null;
  if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.size !== 'number' || typeof d.digest !== 'string' || !isDigest(d.digest)) {
    throw new RegistryError('MANIFEST_INVALID', `invalid descriptor in ${where}`);
  }
  return d;
}

/** Parses and checks a manifest; `contentType` is the request's Content-Type (may be empty). */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError('MANIFEST_INVALID', 'manifest is not valid JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new RegistryError('MANIFEST_INVALID', 'manifest is not a JSON object');
  if (doc['schemaVersion'] !== 2) throw new RegistryError('MANIFEST_INVALID', 'unsupported manifest schemaVersion', { schemaVersion: doc['schemaVersion'] ?? null });
  const declared = typeof doc['mediaType'] === 'string' ? (doc['mediaType'] as string) : undefined;
  const header = contentType?.split(';')[0]!.trim() || undefined;
  const headerIsManifest = header !== undefined && MANIFEST_MEDIA_TYPES.includes(header);
  if (declared && headerIsManifest && declared !== header) {
    throw new RegistryError('MANIFEST_INVALID', 'mediaType in manifest does not match Content-Type', { mediaType: declared, contentType: header });
  }
  const mediaType = declared ?? (headerIsManifest ? header! : Array.isArray(doc['manifests']) ? MediaType.OciIndex : MediaType.OciManifest);
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) throw new RegistryError('MANIFEST_INVALID', `unsupported manifest media type ${mediaType}`);
  const subject = doc['subject'] === undefined ? undefined : descriptor(doc['subject'], 'subject');
  const out: ParsedManifest = {
    mediaType,
    blobs: [],
    manifests: [],
    subject,
    artifactType: typeof doc['artifactType'] === 'string' ? (doc['artifactType'] as string) : undefined,
    annotations: doc['annotations'] as Record<string, string> | undefined,
  };
  if (isManifestMediaType(mediaType)) {
    const config = descriptor(doc['config'], 'config');
    if (!Array.isArray(doc['layers'])) throw new RegistryError('MANIFEST_INVALID', 'manifest has no layers array');
    out.blobs.push(config.digest);
    for (const l of doc['layers']) {
      const layer = descriptor(l, 'layers');
      if (!(FOREIGN_LAYER.test(layer.mediaType) && layer.urls?.length)) out.blobs.push(layer.digest);
    }
    // An artifact manifest's type is artifactType, else its config's media type (image-spec 1.1).
    out.artifactType ??= config.mediaType;
  } else if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc['manifests'])) throw new RegistryError('MANIFEST_INVALID', 'index has no manifests array');
    for (const m of doc['manifests']) out.manifests.push(descriptor(m, 'manifests'));
  }
  return out;
}

/** Media types a client will take, from its Accept headers (empty: no preference stated). */
export function acceptedTypes(accept: string | string[] | undefined): string[] {
  const values = Array.isArray(accept) ? accept : accept ? [accept] : [];
  return values.flatMap((v) => v.split(',')).map((v) => v.split(';')[0]!.trim()).filter(Boolean);
}
