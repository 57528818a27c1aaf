// The rtnetlink messages berth needs (links, addresses, a default route), each one request on a
// NETLINK_ROUTE socket: what `ip link|addr|route` would send, without spawning `ip` per step.
import { attrs, cstr, NetlinkError, NetlinkSocket, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, u32, type Attr } from '../lib/sys/index.js';

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const RTA_GATEWAY = 5;
const RTA_OIF = 4;

const AF_UNSPEC = 0;
const AF_INET = 2;
const IFF_UP = 1;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;
export const LOOPBACK_IFINDEX = 1;

/** struct ifinfomsg: family, type, index, flags, change. */
function ifinfomsg(index = 0, up = false): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(up ? IFF_UP : 0, 8);
  b.writeUInt32LE(up ? IFF_UP : 0, 12);
  return b;
}

function ipv4(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function mac(addr: string): Buffer {
  return Buffer.from(addr.split(':').map((h) => parseInt(h, 16)));
}

const ACK_CREATE = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

export function isNoDevice(err: unknown): boolean {
  return err instanceof NetlinkError && err.code === 'ENODEV';
}

export function isExists(err: unknown): boolean {
  return err instanceof NetlinkError && err.code === 'EEXIST';
}

/** The link's index, or undefined when there is no such link. */
export function linkIndex(nl: NetlinkSocket, name: string): number | undefined {
  try {
    const r = nl.request(RTM_GETLINK, 0, Buffer.concat([ifinfomsg(), attrs([[IFLA_IFNAME, cstr(name)]])]), `link ${name}`);
    return r.payload.readInt32LE(4);
  } catch (err) {
    if (isNoDevice(err)) return undefined;
    throw err;
  }
}

export function addBridge(nl: NetlinkSocket, name: string): void {
  const info = attrs([[IFLA_INFO_KIND, cstr('bridge')]]);
  nl.request(RTM_NEWLINK, ACK_CREATE, Buffer.concat([ifinfomsg(), attrs([[IFLA_IFNAME, cstr(name)], [IFLA_LINKINFO, info]])]), `add bridge ${name}`);
}

export interface VethPair {
  hostIf: string;
  /** Host end's master (a bridge's index). */
  master: number;
  /** The peer: its name and MAC inside the namespace open at nsFd. */
  peerIf: string;
  peerMac: string;
  nsFd: number;
}

/** A veth pair made in one request: the host end up on its bridge, the peer created inside the namespace. */
export function addVeth(nl: NetlinkSocket, v: VethPair): void {
  const peer = Buffer.concat([ifinfomsg(), attrs([[IFLA_IFNAME, cstr(v.peerIf)], [IFLA_ADDRESS, mac(v.peerMac)], [IFLA_NET_NS_FD, u32(v.nsFd)]])]);
  const info = attrs([[IFLA_INFO_KIND, cstr('veth')], [IFLA_INFO_DATA, attrs([[VETH_INFO_PEER, peer]])]]);
  const list: Attr[] = [[IFLA_IFNAME, cstr(v.hostIf)], [IFLA_MASTER, u32(v.master)], [IFLA_LINKINFO, info]];
  nl.request(RTM_NEWLINK, ACK_CREATE, Buffer.concat([ifinfomsg(0, true), attrs(list)]), `add veth ${v.hostIf}`);
}

export function setLinkUp(nl: NetlinkSocket, index: number): void {
  nl.request(RTM_NEWLINK, NLM_F_ACK, ifinfomsg(index, true), `set link ${index} up`);
}

/** Deletes a link by name; false when there was none. */
export function deleteLink(nl: NetlinkSocket, name: string): boolean {
  try {
    nl.request(RTM_DELLINK, NLM_F_ACK, Buffer.concat([ifinfomsg(), attrs([[IFLA_IFNAME, cstr(name)]])]), `delete link ${name}`);
    return true;
  } catch (err) {
    if (isNoDevice(err)) return false;
    throw err;
  }
}

/** Adds ip/prefix (with its broadcast address) to a link; an address already there is fine. */
export function addAddress(nl: NetlinkSocket, index: number, ip: string, prefix: number): void {
  const head = Buffer.alloc(8);
  head.writeUInt8(AF_INET, 0);
  head.writeUInt8(prefix, 1);
  head.writeUInt8(RT_SCOPE_UNIVERSE, 3);
  head.writeUInt32LE(index, 4);
  const list: Attr[] = [[IFA_LOCAL, ipv4(ip)], [IFA_ADDRESS, ipv4(ip)]];
  if (prefix < 31) {
    const host = prefix === 0 ? 0xffffffff : (1 << (32 - prefix)) - 1;
    const b = Buffer.alloc(4);
    b.writeUInt32BE((ipv4(ip).readUInt32BE(0) | host) >>> 0, 0);
    list.push([IFA_BROADCAST, b]);
  }
  try {
    nl.request(RTM_NEWADDR, ACK_CREATE, Buffer.concat([head, attrs(list)]), `add address ${ip}/${prefix}`);
  } catch (err) {
    if (!isExists(err)) throw err;
  }
}

/** `ip route replace default via GATEWAY dev INDEX`. */
export function replaceDefaultRoute(nl: NetlinkSocket, gateway: string, index: number): void {
  const head = Buffer.alloc(12);
  head.writeUInt8(AF_INET, 0);
  head.writeUInt8(RT_TABLE_MAIN, 4);
  head.writeUInt8(RTPROT_BOOT, 5);
  head.writeUInt8(RT_SCOPE_UNIVERSE, 6);
  head.writeUInt8(RTN_UNICAST, 7);
  nl.request(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, Buffer.concat([head, attrs([[RTA_GATEWAY, ipv4(gateway)], [RTA_OIF, u32(index)]])]), `default route via ${gateway}`);
}
