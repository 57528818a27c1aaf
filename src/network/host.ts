// The host side of networking: bridges, per-container network namespaces with a veth pair (all
// through rtnetlink, in-process: no `ip` per step on a container's start), and NAT rules in berth's
// own iptables chains (only when a network is made). Calls are synchronous and short; every "add"
// tolerates a previous run having done it, every "delete" a missing object.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { log } from '../lib/log.js';
import { createNetns, deleteNetns as removeNetns, inNetns, NetlinkSocket } from '../lib/sys/index.js';
import * as rt from './rtnetlink.js';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

// The host's netlink socket, opened on first use and kept: berthd's own namespace never changes.
let hostSocket: NetlinkSocket | undefined;
function host(): NetlinkSocket {
  hostSocket ??= NetlinkSocket.open();
  return hostSocket;
}

/** Runs fn with a netlink socket bound inside the namespace (only the socket's creation happens there). */
function withNetnsSocket<T>(netns: string, fn: (nl: NetlinkSocket) => T): T {
  const nl = inNetns(netnsPath(netns), () => NetlinkSocket.open());
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

/** A bridge with the gateway address, up. */
export function ensureBridge(name: string, gatewayCidr: string): void {
  const nl = host();
  if (rt.linkIndex(nl, name) === undefined) rt.addBridge(nl, name);
  const index = rt.linkIndex(nl, name)!;
  const [gateway, prefix] = gatewayCidr.split('/');
  rt.addAddress(nl, index, gateway!, Number(prefix));
  rt.setLinkUp(nl, index);
  // Published ports on 127.0.0.1 are served by berthd's proxy, but forwarding must be on for NAT.
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

export function deleteLink(name: string): void {
  rt.deleteLink(host(), name);
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** A fresh namespace with lo up (a leftover of the same name is replaced). */
export function ensureNetns(name: string): void {
  createNetns(netnsPath(name), () => {
    const nl = NetlinkSocket.open();
    try {
      rt.setLinkUp(nl, rt.LOOPBACK_IFINDEX);
    } finally {
      nl.close();
    }
  });
}

export function deleteNetns(name: string): void {
  removeNetns(netnsPath(name));
}

export interface VethSpec {
  netns: string;
  hostIf: string;
  containerIf: string;
  bridge: string;
  mac: string;
  addressCidr: string;
  gateway?: string;
}

/** A veth pair: the host end up on the bridge, the other end in the namespace as `containerIf` with its address and route. */
export function addVeth(v: VethSpec): void {
  const nl = host();
  const master = rt.linkIndex(nl, v.bridge);
  if (master === undefined) throw new Error(`bridge ${v.bridge} is missing`);
  const nsFd = openSync(netnsPath(v.netns), 'r');
  try {
    rt.addVeth(nl, { hostIf: v.hostIf, master, peerIf: v.containerIf, peerMac: v.mac, nsFd });
  } finally {
    closeSync(nsFd);
  }
  try {
    withNetnsSocket(v.netns, (ns) => {
      const index = rt.linkIndex(ns, v.containerIf)!;
      const [ip, prefix] = v.addressCidr.split('/');
      rt.addAddress(ns, index, ip!, Number(prefix));
      rt.setLinkUp(ns, index);
      if (v.gateway) rt.replaceDefaultRoute(ns, v.gateway, index);
    });
  } catch (err) {
    rt.deleteLink(nl, v.hostIf);
    throw err;
  }
}

// ---- iptables: berth's own chains, jumped to from the built-in ones ----------------------------------

const NAT_CHAIN = 'BERTH-POSTROUTING';
const FILTER_CHAIN = 'BERTH-FORWARD';

function ensureChain(table: string, chain: string, from: string): void {
  tryRun('iptables', ['-w', '-t', table, '-N', chain]);
  if (!tryRun('iptables', ['-w', '-t', table, '-C', from, '-j', chain])) run('iptables', ['-w', '-t', table, '-I', from, '-j', chain]);
}

function ensureRule(table: string, chain: string, rule: string[]): void {
  if (!tryRun('iptables', ['-w', '-t', table, '-C', chain, ...rule])) run('iptables', ['-w', '-t', table, '-A', chain, ...rule]);
}

function removeRule(table: string, chain: string, rule: string[]): void {
  while (tryRun('iptables', ['-w', '-t', table, '-D', chain, ...rule])) { /* drop duplicates too */ }
}

function bridgeRules(bridge: string, subnet: string, internal: boolean): Array<[string, string, string[]]> {
  const tag = ['-m', 'comment', '--comment', `berth:${bridge}`];
  if (internal) {
    return [
      ['filter', FILTER_CHAIN, ['-i', bridge, '!', '-o', bridge, '-j', 'DROP', ...tag]],
      ['filter', FILTER_CHAIN, ['-o', bridge, '!', '-i', bridge, '-j', 'DROP', ...tag]],
    ];
  }
  return [
    ['nat', NAT_CHAIN, ['-s', subnet, '!', '-o', bridge, '-j', 'MASQUERADE', ...tag]],
    ['filter', FILTER_CHAIN, ['-i', bridge, '-j', 'ACCEPT', ...tag]],
    ['filter', FILTER_CHAIN, ['-o', bridge, '-j', 'ACCEPT', ...tag]],
  ];
}

/** Outbound NAT and forwarding for a bridge's subnet (or isolation for an internal network). */
export function ensureBridgeRules(bridge: string, subnet: string, internal: boolean): void {
  ensureChain('nat', NAT_CHAIN, 'POSTROUTING');
  ensureChain('filter', FILTER_CHAIN, 'FORWARD');
  for (const [table, chain, rule] of bridgeRules(bridge, subnet, internal)) ensureRule(table, chain, rule);
}

export function removeBridgeRules(bridge: string, subnet: string, internal: boolean): void {
  for (const [table, chain, rule] of bridgeRules(bridge, subnet, internal)) removeRule(table, chain, rule);
}

/** IPv4 routes on the host, to keep automatically chosen subnets clear of them. */
export function hostRoutes(): string[] {
  try {
    return run('ip', ['-4', '-o', 'route', 'show']).split('\n').map((l) => l.split(' ')[0]!).filter((d) => d && d !== 'default');
  } catch (err) {
    log.warn('cannot list routes', { error: err });
    return [];
  }
}
