export { applyLayer, OPAQUE_WHITEOUT, WHITEOUT_PREFIX, OVERLAY_OPAQUE_XATTR, type ApplyOptions, type ApplyResult } from './apply.js';
export { tarTree, diffUpper, type TreeOptions } from './tree.js';
export { decompress, detectCompression, type Compression, type DecompressOptions } from './decompress.js';
export { unpackInWorker } from './worker-unpack.js';
export { cleanEntryName, resolveInRoot } from './paths.js';
export { looksLikeArchive } from './sniff.js';
