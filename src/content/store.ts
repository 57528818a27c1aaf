// The content store's contract, after containerd's core/content: small role interfaces combined
// into one store. Helpers take the narrowest role they need. Nothing is visible before commit,
// and commit verifies size and digest.
import type { Readable } from 'node:stream';
import type { Digest } from '../lib/digest.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
  createdAt: Date;
  labels: Record<string, string>;
}

export interface ReadOptions {
  /** Byte offset to start at. */
  start?: number;
  /** Inclusive end offset, as node's fs.createReadStream. */
  end?: number;
}

export interface Provider {
  info(digest: Digest): Promise<BlobInfo>; // NotFound when absent
  has(digest: Digest): Promise<boolean>;
  read(digest: Digest, options?: ReadOptions): Promise<Readable>; // NotFound when absent
  readAll(digest: Digest): Promise<Buffer>;
  /** The blob's file on disk, for zero-copy consumers (sendfile, unpack). */
  path(digest: Digest): string;
}

export interface IngestStatus {
  ref: string;
  offset: number;
  startedAt: Date;
  updatedAt: Date;
}

export interface Writer {
  readonly ref: string;
  /** Bytes written so far (resumed writers start at the stored offset). */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Digest of what was written so far. */
  digest(): Digest;
  /**
   * Verifies and makes the blob visible. Throws InvalidArgument (and discards the ingest) on a size
   * or digest mismatch. If the blob already exists, succeeds and discards the ingest.
   */
  commit(expected?: { size?: number; digest?: Digest; labels?: Record<string, string> }): Promise<Digest>;
  /** Drops the ingest. */
  abort(): Promise<void>;
}

export interface Ingester {
  /** Opens (or, for the same ref, resumes) an ingest. Concurrent writers of one ref get Unavailable. */
  writer(ref: string): Promise<Writer>;
  ingests(): Promise<IngestStatus[]>;
  abortIngest(ref: string): Promise<void>;
}

export interface Manager {
  delete(digest: Digest): Promise<void>;
  walk(fn: (info: BlobInfo) => void | Promise<void>): Promise<void>;
  setLabels(digest: Digest, labels: Record<string, string | null>): Promise<BlobInfo>;
}

export type ContentStore = Provider & Ingester & Manager;
