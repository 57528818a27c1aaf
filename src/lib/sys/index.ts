export * from './libc.js';
export { mountAll, mountOne, unmount, unmountRecursive, mountPoints, isMountPoint } from './mounts.js';
