// Networking: bridges, IPAM, container sandboxes, published ports, embedded DNS.
export { NetworkService, type CreateNetworkRequest, type ContainerLookup, type SandboxSetup, type NetworkServiceOptions } from './service.js';
export type { NetworkRecord, EndpointSettings, ContainerNetworkInput } from './types.js';
export { parsePortKey, type PortMap } from './ports.js';
