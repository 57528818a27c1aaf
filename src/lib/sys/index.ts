export * from './libc.js';
export { mountAll, mountOne, unmount, unmountRecursive, mountPoints, isMountPoint } from './mounts.js';
export { openPty, setWinsize } from './terminal.js';
export { connectSeqpacket } from './socket.js';
