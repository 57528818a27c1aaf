// The host side of networking, done with iproute2 and iptables: bridges, per-container network
// namespaces with a veth pair, and NAT rules in berth's own chains. Calls are synchronous and
// short; every "add" tolerates a previous run having done it, every "delete" a missing object.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { log } from '../lib/log.js';

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

export function linkExists(name: string, netns?: string): boolean {
  return tryRun('ip', [...(netns ? ['-n', netns] : []), 'link', 'show', name]);
}

/** A bridge with the gateway address, up. */
export function ensureBridge(name: string, gatewayCidr: string): void {
  if (!linkExists(name)) run('ip', ['link', 'add', name, 'type', 'bridge']);
  const addrs = run('ip', ['-4', '-o', 'addr', 'show', 'dev', name]);
  if (!addrs.includes(` ${gatewayCidr} `)) run('ip', ['addr', 'add', gatewayCidr, 'dev', name]);
  run('ip', ['link', 'set', name, 'up']);
  // Published ports on 127.0.0.1 are served by berthd's proxy, but forwarding must be on for NAT.
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

export function deleteLink(name: string): void {
  if (linkExists(name)) tryRun('ip', ['link', 'del', name]);
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

export function netnsExists(name: string): boolean {
  return tryRun('ip', ['netns', 'pids', name]);
}

export function ensureNetns(name: string): void {
  if (!netnsExists(name)) run('ip', ['netns', 'add', name]);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export function deleteNetns(name: string): void {
  if (netnsExists(name)) tryRun('ip', ['netns', 'del', name]);
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

/** A veth pair: the host end on the bridge, the other end in the namespace as `containerIf`. */
export function addVeth(v: VethSpec): void {
  const peer = `p${v.hostIf.slice(1)}`;
  deleteLink(v.hostIf);
  run('ip', ['link', 'add', v.hostIf, 'type', 'veth', 'peer', 'name', peer, 'netns', v.netns]);
  try {
    run('ip', ['link', 'set', v.hostIf, 'master', v.bridge, 'up']);
    const n = ['-n', v.netns];
    run('ip', [...n, 'link', 'set', peer, 'name', v.containerIf, 'address', v.mac]);
    run('ip', [...n, 'addr', 'add', v.addressCidr, 'dev', v.containerIf]);
    run('ip', [...n, 'link', 'set', v.containerIf, 'up']);
    if (v.gateway) run('ip', [...n, 'route', 'replace', 'default', 'via', v.gateway, 'dev', v.containerIf]);
  } catch (err) {
    deleteLink(v.hostIf);
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
