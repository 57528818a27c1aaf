export type { BlobInfo, ContentStore, IngestStatus, Ingester, Manager, Provider, ReadOptions, Writer } from './store.js';
export { LocalContentStore } from './local.js';
