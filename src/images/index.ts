export { ImageService, chainIDsOf, type ContainerUse, type ImageServiceOptions, type ImportOptions } from './service.js';
export { saveImages, selectForSave } from './save.js';
export { loadImages } from './load.js';
export * from './reference.js';
export type * from './types.js';
export type { ImageRecord, LayerRecord } from './store.js';
export { pullImage, parsePlatform, MAX_CONCURRENT_DOWNLOADS, type PullOptions } from './pull.js';
export { pushImage } from './push.js';
export { CompressedBlobIndex, type RemoteRepository } from './remote.js';
