// The Engine API's network shapes, as berth stores and returns them.
import type { IpamState } from './ipam.js';
import type { PortMap } from './ports.js';

export interface IpamPoolConfig {
  Subnet: string;
  Gateway: string;
  IPRange?: string;
}

export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null';
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamPoolConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** berth's own: the Linux bridge and the address leases (persisted with the record). */
  bridge?: string;
  leases?: IpamState;
}

export interface EndpointSettings {
  IPAMConfig?: { IPv4Address?: string } | null;
  Aliases?: string[] | null;
  [k: string]: unknown;
}

/** One container's attachment to one network while it runs. */
export interface Endpoint {
  networkId: string;
  endpointId: string;
  ip: string;
  prefix: number;
  gateway: string;
  mac: string;
  hostIf: string;
  containerIf: string;
}

/** Everything berth knows about a container's networking, kept across restarts. */
export interface SandboxRecord {
  containerId: string;
  containerName: string;
  /** 'bridge' (one or more networks), 'none' or 'host'. */
  mode: 'bridge' | 'none' | 'host';
  /** Networks the container belongs to, by network ID, with the settings it asked for. */
  wanted: Record<string, EndpointSettings>;
  portBindings: PortMap;
  exposedPorts: string[];
  publishAll: boolean;
  dns: string[];
  extraHosts: string[];
  hostname: string;
  /** What create asked for while a network it names did not exist yet: start registers with it. */
  pendingEndpoints?: Record<string, EndpointSettings | null> | null;
  /** Present while running. */
  netns?: string;
  endpoints: Record<string, Endpoint>;
  ports: Array<{ hostIp: string; hostPort: number; containerPort: number; proto: 'tcp' | 'udp' }>;
}

/** The parts of a container record networking reads (structurally, so containers/ is not imported). */
export interface ContainerNetworkInput {
  Id: string;
  Name: string;
  Config: { Hostname?: string; ExposedPorts?: Record<string, unknown> | null };
  HostConfig: {
    NetworkMode?: string;
    PortBindings?: PortMap | null;
    PublishAllPorts?: boolean;
    Dns?: string[] | null;
    ExtraHosts?: string[] | null;
    [k: string]: unknown;
  };
}
