export { applyLayer, OPAQUE_WHITEOUT, WHITEOUT_PREFIX, OVERLAY_OPAQUE_XATTR, type ApplyOptions, type ApplyResult } from './apply.js';
export { tarTree, diffUpper, type TreeOptions } from './tree.js';
export { decompress, detectCompression, type Compression } from './decompress.js';
export { cleanEntryName, resolveInRoot } from './paths.js';
export { looksLikeArchive } from './sniff.js';
