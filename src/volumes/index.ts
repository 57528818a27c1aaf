export { VolumeService, diskUsage, type VolumeFilters } from './service.js';
export { planMounts, applyMounts, mountPointsOf, removeAnonymousVolumes, type MountPlan, type MountInput } from './mounts.js';
export type * from './types.js';
export { ANONYMOUS_LABEL } from './types.js';
