export * from './libc.js';
export { mountAll, mountOne, unmount, unmountRecursive, mountPoints, isMountPoint } from './mounts.js';
export { openPty, setWinsize } from './terminal.js';
export { connectSeqpacket } from './socket.js';
export { NetlinkSocket, NetlinkError, attrs, cstr, u32, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type Attr } from './netlink.js';
export { createNetns, deleteNetns, inNetns } from './netns.js';
