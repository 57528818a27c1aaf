export { ContainerService, normalizeSignal, type ContainerEvent, type CreateRequest } from './service.js';
export type * from './types.js';
export { ExecManager, type ExecConfig, type ExecIO, type ExecRecord } from './exec.js';
export { ContainerFiles, type Change, type CommitOptions, type PathStat } from './filesystem.js';
export { stats, top } from './processes.js';
