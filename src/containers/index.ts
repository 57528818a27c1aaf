export { ContainerService, normalizeSignal, type ContainerEvent, type CreateRequest } from './service.js';
export type * from './types.js';
export { ExecManager, type ExecConfig, type ExecIO, type ExecRecord } from './exec.js';
