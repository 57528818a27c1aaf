// Unpacking a compressed layer on a worker thread (unpack-worker.ts): the caller streams the
// compressed bytes in, the worker decompresses, hashes (the diff ID) and writes the files. The
// main thread only copies chunks across, so a pull can unpack several layers at once on two cores.
import { Worker } from 'node:worker_threads';
import * as errdefs from '../../errdefs/index.js';
import type { ApplyOptions, ApplyResult } from './apply.js';
import type { FromWorker, ToWorker, UnpackWorkerData } from './unpack-worker.js';

/** Bytes sent to a worker and not yet consumed by it before the sender waits. */
const WINDOW = 8 << 20;
const BATCH = 1 << 20;

// In the esbuild bundle the worker is dist/unpack-worker.js, beside berthd.js (scripts/build.mjs
// builds it as its own entry). Run from source (tests through tsx) it is the .ts beside this file,
// and tsx's loader is not inherited by workers, so a small bootstrap registers it first.
function startWorker(workerData: UnpackWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./unpack-worker.js', import.meta.url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./unpack-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

const errorClasses: Record<string, new (message: string) => Error> = {
  InvalidArgument: errdefs.InvalidArgument,
  NotFound: errdefs.NotFound,
  AlreadyExists: errdefs.AlreadyExists,
  FailedPrecondition: errdefs.FailedPrecondition,
  Unavailable: errdefs.Unavailable,
};

/** The worker's error as the same class on this side (InvalidArgument stays a 400). */
function revive(e: { name: string; message: string; code?: string }): Error {
  const Cls = errorClasses[e.name];
  const err = Cls ? new Cls(e.message) : new Error(e.message);
  if (e.code && !Cls) (err as Error & { code?: string }).code = e.code;
  return err;
}

/**
 * Decompresses (gzip, zstd, xz, bzip2 or none) and applies a layer into `root` on a worker thread.
 * An abort of `signal`, or a failure of `compressed`, stops the worker mid-layer: the caller then
 * removes `root`, which is in an uncommitted snapshot.
 */
export async function unpackInWorker(root: string, compressed: AsyncIterable<Buffer>, opts: { whiteouts?: ApplyOptions['whiteouts']; signal?: AbortSignal } = {}): Promise<ApplyResult> {
  opts.signal?.throwIfAborted();
  const worker = startWorker({ root, whiteouts: opts.whiteouts ?? 'overlay' });
  let queued = 0;
  let room: (() => void) | undefined;
  let settled = false;
  let resolve!: (r: ApplyResult) => void;
  let reject!: (e: unknown) => void;
  const result = new Promise<ApplyResult>((ok, fail) => ((resolve = ok), (reject = fail)));
  const settle = (fn: () => void) => {
    if (settled) return;
    settled = true;
    room?.();
    fn();
  };
  worker.on('message', (m: FromWorker) => {
    if ('ack' in m) {
      queued -= m.ack;
      if (queued <= WINDOW) room?.();
    } else if ('done' in m) settle(() => resolve({ ...m.done, diffID: m.done.diffID as ApplyResult['diffID'] }));
    else settle(() => reject(revive(m.error)));
  });
  worker.on('error', (err) => settle(() => reject(err)));
  worker.on('exit', (code) => settle(() => reject(new Error(`layer unpack worker exited (${code}) before it finished`))));
  const onAbort = () => settle(() => reject(opts.signal!.reason ?? new errdefs.Cancelled('unpack cancelled')));
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  // Network chunks (~64 KiB) are gathered into one message per BATCH bytes: a message each way
  // per chunk cost more CPU than the copies.
  let batch: Buffer[] = [];
  let batched = 0;
  const post = () => {
    // One copy of the batch's bytes, moved (not cloned) into the worker.
    const own = new Uint8Array(batched);
    let at = 0;
    for (const b of batch) (own.set(b, at), (at += b.length));
    queued += own.length;
    worker.postMessage({ chunk: own } satisfies ToWorker, [own.buffer]);
    batch = [];
    batched = 0;
  };
  const feed = async () => {
    for await (const chunk of compressed) {
      if (settled) return;
      batch.push(chunk);
      batched += chunk.length;
      if (batched < BATCH) continue;
      post();
      while (queued > WINDOW && !settled) await new Promise<void>((r) => (room = r));
      room = undefined;
    }
    if (settled) return;
    if (batched) post();
    worker.postMessage({ end: true } satisfies ToWorker);
  };
  feed().catch((err) => settle(() => reject(err)));
  try {
    return await result;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}
