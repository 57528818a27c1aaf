// Address management for one network: hands out each address once, never the network, broadcast or
// gateway address, preferring addresses not used recently (as Docker does) so a removed container's
// address is not immediately reused by the next one. State is plain data for the network record.
import { Conflict, InvalidArgument, Unavailable } from '../errdefs/index.js';
import { contains, formatIPv4, parseIPv4, size, type Subnet } from './subnet.js';

export interface IpamState {
  /** Allocated addresses (dotted) -> owner (endpoint or container ID). */
  allocated: Record<string, string>;
  /** Where the next sequential search starts. */
  cursor: number;
}

export class Ipam {
  constructor(
    private readonly subnet: Subnet,
    private readonly gateway: number,
    readonly state: IpamState = { allocated: {}, cursor: 0 },
    /** Optional narrower range to allocate dynamic addresses from (--ip-range). */
    private readonly range: Subnet = subnet,
  ) {}

  /** Allocates `requested` if given (it must be free and inside the subnet), else the next free address. */
  allocate(owner: string, requested?: string): string {
    if (requested !== undefined) {
      const ip = parseIPv4(requested);
      if (!contains(this.subnet, ip) || this.reserved(ip)) {
        throw new InvalidArgument(`no available IPv4 addresses on this network's address pools: requested address ${requested} is not in the subnet or is reserved`);
      }
      if (this.state.allocated[requested]) throw new Conflict(`Address already in use: ${requested}`);
      this.state.allocated[requested] = owner;
      return requested;
    }
    const n = size(this.range);
    for (let i = 0; i < n; i++) {
      const offset = (this.state.cursor + i) % n;
      const ip = (this.range.base + offset) >>> 0;
      const dotted = formatIPv4(ip);
      if (this.reserved(ip) || this.state.allocated[dotted]) continue;
      this.state.allocated[dotted] = owner;
      this.state.cursor = (offset + 1) % n;
      return dotted;
    }
    throw new Unavailable('no available IPv4 addresses on this network\'s address pools');
  }

  release(ip: string): void {
    delete this.state.allocated[ip];
  }

  releaseOwner(owner: string): void {
    for (const [ip, o] of Object.entries(this.state.allocated)) if (o === owner) delete this.state.allocated[ip];
  }

  private reserved(ip: number): boolean {
    const last = (this.subnet.base + size(this.subnet) - 1) >>> 0;
    return ip === this.subnet.base || ip === last || ip === this.gateway;
  }
}
