export { ContainerService, normalizeSignal, type ContainerEvent, type CreateRequest } from './service.js';
export type * from './types.js';
