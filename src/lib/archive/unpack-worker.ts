// The worker side of unpackInWorker: compressed layer bytes arrive as messages, are decompressed
// here (node:zlib for gzip: in-process beats piping through unpigz for blobs this size) and applied
// with applyLayer, so tar parsing, hashing and the thousands of sync file writes of one layer run
// off berthd's main thread and several layers use several cores.
import { parentPort, workerData } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { applyLayer, type ApplyOptions } from './apply.js';
import { decompress } from './decompress.js';

export interface UnpackWorkerData {
  root: string;
  whiteouts: ApplyOptions['whiteouts'];
}

export type ToWorker = { chunk: Uint8Array } | { end: true };
export type FromWorker =
  | { ack: number }
  | { done: { diffID: string; size: number; unpackedSize: number } }
  | { error: { name: string; message: string; code?: string } };

const port = parentPort!;
const { root, whiteouts } = workerData as UnpackWorkerData;
const queue: Buffer[] = [];
let ended = false;
let wake: (() => void) | undefined;

port.on('message', (m: ToWorker) => {
  if ('chunk' in m) queue.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
  else ended = true;
  wake?.();
  wake = undefined;
});

// Each chunk is acknowledged once consumed, so the main thread keeps only a bounded window queued.
async function* input(): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = queue.shift();
    if (chunk) {
      yield chunk;
      port.postMessage({ ack: chunk.length } satisfies FromWorker);
      continue;
    }
    if (ended) return;
    await new Promise<void>((r) => (wake = r));
  }
}

const send = (m: FromWorker) => port.postMessage(m);

try {
  const { stream } = await decompress(Readable.from(input(), { objectMode: false }), { gzip: 'zlib' });
  const r = await applyLayer(root, stream as AsyncIterable<Buffer>, { whiteouts });
  send({ done: { diffID: r.diffID!, size: r.size, unpackedSize: r.unpackedSize } });
} catch (err) {
  const e = err as Error & { code?: unknown };
  send({ error: { name: e?.name ?? 'Error', message: e?.message ?? String(err), code: typeof e?.code === 'string' ? e.code : undefined } });
}
port.close();
