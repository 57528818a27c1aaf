// Networks and container attachments: records for networks (with their address leases) and for
// each container's sandbox, the host plumbing for both, published ports and the embedded DNS.
// restore() re-does the plumbing from the records, so a berthd restart (even kill -9) leaves
// running containers connected. A container's start and stop sit on `run`'s critical path and
// each durable write costs an fsync, so the sandbox record is the one truth about who holds an
// address: start writes it once before the container runs; leases in network records follow it
// and are rebuilt from the sandboxes at restore; stop removes the namespace first and need not
// write at all (a record naming a namespace that is gone is a stopped container to restore()).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Conflict, Forbidden, InvalidArgument, NotFound } from '../errdefs/index.js';
import { log } from '../lib/log.js';
import { RecordStore } from '../metadata/index.js';
import { DnsServer } from './dns.js';
import {
  addVeth, deleteLink, deleteNetns, ensureBridge, ensureBridgeRules, ensureNetns, hostRoutes, netnsExists, netnsPath, removeBridgeRules,
} from './host.js';
import { Ipam } from './ipam.js';
import { openProxy, portsToPublish, type PortMap, type Proxy } from './ports.js';
import { contains, formatIPv4, formatSubnet, overlaps, parseIPv4, parseSubnet, type Subnet } from './subnet.js';
import type { ContainerNetworkInput, Endpoint, EndpointSettings, NetworkRecord, SandboxRecord } from './types.js';
import { matchAllLabels } from '../lib/labels.js';

export interface NetworkServiceOptions {
  /** Data root: records live under <root>/metadata/{networks,sandboxes}. */
  root: string;
  /** Default bridge's gateway with prefix (berthd --bip). */
  bip: string;
  /** Default bridge's Linux name (berthd --bridge). */
  bridgeName: string;
}

export interface CreateNetworkRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }> | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface ContainerLookup {
  resolve(ref: string): { Id: string; Name: string; running: boolean };
}

/** What start() needs from the network: the namespace to join and the files to mount. */
export interface SandboxSetup {
  network: { mode: 'host' } | { mode: 'path'; path: string };
  hosts: string;
  resolvConf: string;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);
const HOSTS_HEADER = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

function macFor(ip: string): string {
  return ['02', '42', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

export class NetworkService {
  private readonly networks: RecordStore<NetworkRecord>;
  private readonly sandboxes: RecordStore<SandboxRecord>;
  private readonly proxies = new Map<string, Proxy[]>();
  private readonly dns = new Map<string, DnsServer>();
  private containers?: ContainerLookup;

  constructor(private readonly opts: NetworkServiceOptions) {
    this.networks = new RecordStore(path.join(opts.root, 'metadata', 'networks'));
    this.sandboxes = new RecordStore(path.join(opts.root, 'metadata', 'sandboxes'));
  }

  setContainers(c: ContainerLookup): void {
    this.containers = c;
  }

  // ---- startup -------------------------------------------------------------------------------------

  /** Predefined networks, then every bridge, rule, DNS server and port proxy the records call for. */
  async restore(): Promise<void> {
    this.ensurePredefined();
    for (const n of this.networks.values()) if (n.Driver === 'bridge') await this.plumbNetwork(n);
    for (const s of this.sandboxes.values()) {
      if (!s.netns) continue;
      const before = JSON.stringify(s);
      if (netnsExists(s.netns)) {
        await this.openPorts(s).catch((err) => log.warn('cannot re-publish ports', { id: s.containerId, error: err }));
      } else {
        // The namespace is gone (stopped, or a host reboot): the container cannot be running.
        this.releaseEndpoints(s);
      }
      if (JSON.stringify(s) !== before) this.sandboxes.put(s.containerId, s);
    }
    this.reconcileLeases();
  }

  /** Leases as the sandboxes say: an address is held exactly while a sandbox's endpoint has it. */
  private reconcileLeases(): void {
    const held = new Map<string, Record<string, string>>();
    for (const s of this.sandboxes.values()) {
      if (!s.netns) continue;
      for (const e of Object.values(s.endpoints)) {
        const m = held.get(e.networkId) ?? {};
        m[e.ip] = s.containerId;
        held.set(e.networkId, m);
      }
    }
    for (const n of this.networks.values()) {
      if (!n.leases) continue;
      const want = held.get(n.Id) ?? {};
      if (JSON.stringify(Object.entries(want).sort()) === JSON.stringify(Object.entries(n.leases.allocated).sort())) continue;
      n.leases.allocated = want;
      this.networks.put(n.Id, n);
    }
  }

  private ensurePredefined(): void {
    const gw = this.opts.bip.split('/')[0]!;
    const prefix = Number(this.opts.bip.split('/')[1] ?? 16);
    const subnet = formatSubnet({ base: (parseIPv4(gw) & (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)))) >>> 0, prefix });
    const existing = this.find('bridge');
    const sameConfig = existing && existing.IPAM.Config[0]?.Subnet === subnet && existing.IPAM.Config[0]?.Gateway === gw && existing.bridge === this.opts.bridgeName;
    if (!existing || !sameConfig) {
      const id = existing?.Id ?? newId();
      this.networks.put(id, this.base({
        Name: 'bridge', Id: id, Driver: 'bridge', IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: subnet, Gateway: gw }] },
        Options: {
          'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': this.opts.bridgeName, 'com.docker.network.driver.mtu': '1500',
        },
        bridge: this.opts.bridgeName, leases: existing?.leases ?? { allocated: {}, cursor: 0 },
      }));
      // A changed --bip or --bridge: the old bridge and its rules go.
      if (existing?.bridge && existing.bridge !== this.opts.bridgeName) this.unplumbNetwork(existing);
    }
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!this.find(name)) {
        const id = newId();
        this.networks.put(id, this.base({ Name: name, Id: id, Driver: driver, IPAM: { Driver: 'default', Options: null, Config: [] }, Options: {} }));
      }
    }
  }

  private base(p: Partial<NetworkRecord> & Pick<NetworkRecord, 'Name' | 'Driver' | 'IPAM' | 'Options'>): NetworkRecord {
    const id = p.Id || newId();
    return {
      Name: p.Name, Id: id, Created: p.Created ?? new Date().toISOString(), Scope: 'local', Driver: p.Driver, EnableIPv6: false, IPAM: p.IPAM,
      Internal: p.Internal ?? false, Attachable: p.Attachable ?? false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Options: p.Options, Labels: p.Labels ?? {}, bridge: p.bridge, leases: p.leases,
    };
  }

  private async plumbNetwork(n: NetworkRecord): Promise<void> {
    const pool = n.IPAM.Config[0]!;
    ensureBridge(n.bridge!, `${pool.Gateway}/${pool.Subnet.split('/')[1]}`);
    ensureBridgeRules(n.bridge!, pool.Subnet, n.Internal);
    if (!this.isDefault(n) && !this.dns.has(n.Id)) {
      const server = new DnsServer(pool.Gateway, (name) => this.lookup(n.Id, name));
      await server.start().then(() => this.dns.set(n.Id, server), (err) => log.warn('embedded DNS unavailable', { network: n.Name, error: err }));
    }
  }

  private isDefault(n: NetworkRecord): boolean {
    return n.Options['com.docker.network.bridge.default_bridge'] === 'true';
  }

  // ---- networks ------------------------------------------------------------------------------------

  private find(ref: string): NetworkRecord | undefined {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const all = [...this.networks.values()];
    return all.find((n) => n.Name === ref) ?? (() => {
      const m = all.filter((n) => n.Id.startsWith(ref));
      return m.length === 1 ? m[0] : undefined;
    })();
  }

  resolve(ref: string): NetworkRecord {
    const n = this.find(ref);
    if (!n) throw new NotFound(`network ${ref} not found`);
    return n;
  }

  list(filters: Record<string, string[]> = {}): NetworkRecord[] {
    return [...this.networks.values()].filter((n) => Object.entries(filters).every(([k, vals]) => vals.some((v) => {
      switch (k) {
        case 'name': return n.Name.includes(v);
        case 'id': return n.Id.startsWith(v);
        case 'driver': return n.Driver === v;
        case 'scope': return v === 'local';
        case 'type': return v === 'builtin' ? PREDEFINED.has(n.Name) : v === 'custom' ? !PREDEFINED.has(n.Name) : false;
        case 'label': return matchAllLabels(n.Labels, vals);
        case 'dangling': return (v === 'true' || v === '1') === (!PREDEFINED.has(n.Name) && this.endpointsOn(n.Id).length === 0);
        default: throw new InvalidArgument(`invalid filter '${k}'`);
      }
    }))).sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** The API's view: the record without berth's fields, plus the attached containers. */
  view(n: NetworkRecord): Record<string, unknown> {
    const { bridge: _b, leases: _l, ...pub } = n;
    void _b;
    void _l;
    const containers: Record<string, unknown> = {};
    for (const [s, e] of this.endpointsOn(n.Id)) {
      containers[s.containerId] = { Name: s.containerName, EndpointID: e.endpointId, MacAddress: e.mac, IPv4Address: `${e.ip}/${e.prefix}`, IPv6Address: '' };
    }
    return { ...pub, Containers: containers };
  }

  private endpointsOn(networkId: string): Array<[SandboxRecord, Endpoint]> {
    const out: Array<[SandboxRecord, Endpoint]> = [];
    for (const s of this.sandboxes.values()) {
      const e = s.endpoints[networkId];
      if (e) out.push([s, e]);
    }
    return out;
  }

  private usersOf(networkId: string): SandboxRecord[] {
    return [...this.sandboxes.values()].filter((s) => networkId in s.wanted);
  }

  async create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    const name = req.Name;
    if (!name) throw new InvalidArgument('network name is required');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new InvalidArgument(`invalid network name "${name}"`);
    if (this.find(name)?.Name === name) throw new Conflict(`network with name ${name} already exists`);
    const driver = req.Driver || 'bridge';
    if (PREDEFINED.has(name)) throw new Forbidden(`operation is not permitted on predefined ${name} network `);
    if (driver !== 'bridge') throw new NotFound(`plugin "${driver}" not found`);
    const pools = req.IPAM?.Config ?? [];
    if (pools.length > 1) throw new InvalidArgument('berth supports one IPv4 pool per network');
    const pool = pools[0] ?? {};
    const subnet = pool.Subnet ? parseSubnet(pool.Subnet) : this.freeSubnet();
    if (pool.Subnet) {
      for (const other of this.networks.values()) {
        const o = other.IPAM.Config[0]?.Subnet;
        if (o && overlaps(parseSubnet(o), subnet)) throw new Forbidden('invalid pool request: Pool overlaps with other one on this address space');
      }
    }
    const gateway = pool.Gateway ?? formatIPv4(subnet.base + 1);
    if (!contains(subnet, parseIPv4(gateway))) throw new Forbidden(`no matching subnet for gateway ${gateway}`);
    let range: Subnet | undefined;
    if (pool.IPRange) {
      range = parseSubnet(pool.IPRange);
      if (!contains(subnet, range.base) || range.prefix < subnet.prefix) throw new Forbidden(`no matching subnet for range ${pool.IPRange}`);
    }
    const id = newId();
    const options = req.Options ?? {};
    const bridge = options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
    if (bridge.length > 15) throw new InvalidArgument(`bridge name ${bridge} is longer than 15 characters`);
    if ([...this.networks.values()].some((n) => n.bridge === bridge)) throw new Conflict(`bridge name ${bridge} is already in use`);
    const rec = this.base({
      Name: name, Id: id, Driver: 'bridge', Internal: !!req.Internal, Attachable: !!req.Attachable, Labels: req.Labels ?? {}, Options: options,
      IPAM: { Driver: req.IPAM?.Driver || 'default', Options: req.IPAM?.Options ?? {}, Config: [{ Subnet: formatSubnet(subnet), Gateway: gateway, ...(pool.IPRange ? { IPRange: pool.IPRange } : {}) }] },
      bridge, leases: { allocated: {}, cursor: 0 },
    });
    try {
      await this.plumbNetwork(rec);
    } catch (err) {
      this.unplumbNetwork(rec);
      throw err;
    }
    this.networks.put(id, rec);
    return { Id: id, Warning: '' };
  }

  /** The first 172.18-31.0.0/16, then 192.168.x.0/20, clear of every network and host route. */
  private freeSubnet(): Subnet {
    const taken = [
      ...[...this.networks.values()].flatMap((n) => n.IPAM.Config.map((c) => parseSubnet(c.Subnet))),
      ...hostRoutes().map((r) => {
        try {
          return parseSubnet(r.includes('/') ? r : `${r}/32`);
        } catch {
          return undefined;
        }
      }).filter((s): s is Subnet => !!s),
    ];
    const candidates: Subnet[] = [];
    for (let b = 18; b <= 31; b++) candidates.push({ base: parseIPv4(`172.${b}.0.0`), prefix: 16 });
    for (let c = 0; c < 256; c += 16) candidates.push({ base: parseIPv4(`192.168.${c}.0`), prefix: 20 });
    const free = candidates.find((s) => !taken.some((t) => overlaps(s, t)));
    if (!free) throw new Forbidden('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    return free;
  }

  private unplumbNetwork(n: NetworkRecord): void {
    this.dns.get(n.Id)?.close();
    this.dns.delete(n.Id);
    const pool = n.IPAM.Config[0];
    if (pool) removeBridgeRules(n.bridge!, pool.Subnet, n.Internal);
    deleteLink(n.bridge!);
  }

  remove(ref: string): void {
    const n = this.resolve(ref);
    if (PREDEFINED.has(n.Name)) throw new Forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
    if (this.usersOf(n.Id).length) throw new Forbidden(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    this.unplumbNetwork(n);
    this.networks.delete(n.Id);
  }

  prune(filters: Record<string, string[]> = {}): string[] {
    const deleted: string[] = [];
    for (const n of this.list(Object.fromEntries(Object.entries(filters).filter(([k]) => k === 'label')))) {
      if (PREDEFINED.has(n.Name) || this.usersOf(n.Id).length) continue;
      if (filters['until']?.length && Date.parse(n.Created) >= Date.parse(filters['until'][0]!)) continue;
      this.unplumbNetwork(n);
      this.networks.delete(n.Id);
      deleted.push(n.Name);
    }
    return deleted;
  }

  // ---- DNS -----------------------------------------------------------------------------------------

  private lookup(networkId: string, name: string): string[] {
    const ips: string[] = [];
    for (const [s, e] of this.endpointsOn(networkId)) {
      const aliases = (s.wanted[networkId]?.Aliases ?? []).map((a) => a.toLowerCase());
      if (s.containerName.toLowerCase() === name || s.containerId.slice(0, 12) === name || aliases.includes(name)) ips.push(e.ip);
    }
    return ips;
  }

  // ---- containers ----------------------------------------------------------------------------------

  /**
   * At container create: checks the networks it names and records what it asked for. A network
   * that does not exist (yet) fails the start, not the create, as with Docker: a 404 from create
   * would make the docker CLI try to pull the image. strict (at start) throws it.
   */
  register(c: ContainerNetworkInput, endpointsConfig?: Record<string, EndpointSettings | null> | null, strict = false): void {
    const hc = c.HostConfig;
    const mode = hc.NetworkMode || 'default';
    const s: SandboxRecord = {
      containerId: c.Id, containerName: c.Name.replace(/^\//, ''), mode: mode === 'host' ? 'host' : mode === 'none' ? 'none' : 'bridge', wanted: {},
      portBindings: hc.PortBindings ?? {}, exposedPorts: Object.keys(c.Config.ExposedPorts ?? {}), publishAll: !!hc.PublishAllPorts,
      dns: hc.Dns ?? [], extraHosts: hc.ExtraHosts ?? [], hostname: c.Config.Hostname || c.Id.slice(0, 12), endpoints: {}, ports: [],
    };
    if (mode.startsWith('container:')) throw new InvalidArgument('berth does not support --network container:<id> yet');
    portsToPublish(s.portBindings, undefined, false); // validates the keys
    if (s.mode === 'bridge') {
      const wantedRefs = [mode === 'default' ? 'bridge' : mode, ...Object.keys(endpointsConfig ?? {}).map((r) => (r === 'default' ? 'bridge' : r))];
      const unknown = wantedRefs.find((r) => !this.find(r));
      if (unknown !== undefined && !strict) {
        // Start registers again with these (aliases, --ip), and fails if the network is still missing.
        this.sandboxes.put(c.Id, { ...s, pendingEndpoints: endpointsConfig ?? null });
        return;
      }
      const primary = this.resolve(mode === 'default' ? 'bridge' : mode);
      if (primary.Driver !== 'bridge') throw new InvalidArgument(`network ${primary.Name} cannot be used this way`);
      const cfg = endpointsConfig ?? {};
      s.wanted[primary.Id] = this.checkEndpoint(primary, cfg[mode] ?? cfg[primary.Name] ?? cfg[primary.Id] ?? {});
      for (const [ref, ec] of Object.entries(cfg)) {
        const n = this.resolve(ref === 'default' ? 'bridge' : ref);
        if (n.Id !== primary.Id) s.wanted[n.Id] = this.checkEndpoint(n, ec ?? {});
      }
    }
    this.sandboxes.put(c.Id, s);
  }

  private checkEndpoint(n: NetworkRecord, ec: EndpointSettings): EndpointSettings {
    const ip = ec.IPAMConfig?.IPv4Address;
    if (ip) {
      if (this.isDefault(n)) throw new InvalidArgument('user specified IP address is supported on user defined networks only');
      if (!contains(parseSubnet(n.IPAM.Config[0]!.Subnet), parseIPv4(ip))) {
        throw new InvalidArgument(`invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${ip}`);
      }
    }
    if (ec.Aliases?.length && this.isDefault(n)) throw new InvalidArgument('network-scoped alias is supported only for containers in user defined networks');
    return { IPAMConfig: ip ? { IPv4Address: ip } : null, Aliases: ec.Aliases ?? null };
  }

  /** At container start: the namespace with its endpoints and published ports, and /etc files. */
  async setUp(c: ContainerNetworkInput): Promise<SandboxSetup> {
    const containerId = c.Id;
    const known = this.sandboxes.get(containerId);
    // Its network was unknown at create (or it predates networking): register now, strictly.
    if (!known || known.pendingEndpoints !== undefined) this.register(c, known?.pendingEndpoints, true);
    const s = this.sandboxes.get(containerId)!;
    if (s.mode === 'host') return { network: { mode: 'host' }, hosts: readFileSync('/etc/hosts', 'utf8'), resolvConf: hostResolvConf() };
    this.tearDownSandbox(s);
    s.netns = `berth-${containerId.slice(0, 12)}`;
    try {
      ensureNetns(s.netns);
      let index = 0;
      for (const networkId of Object.keys(s.wanted)) this.attach(s, this.resolve(networkId), index++);
      await this.openPorts(s);
      this.sandboxes.put(containerId, s); // durable before the container can use its address
    } catch (err) {
      this.tearDownSandbox(s);
      this.sandboxes.put(containerId, s);
      throw err;
    }
    return { network: { mode: 'path', path: netnsPath(s.netns) }, hosts: this.hostsFile(s), resolvConf: this.resolvConf(s) };
  }

  /** An address from the network's pool and a veth into the namespace; the caller records the sandbox. */
  private attach(s: SandboxRecord, n: NetworkRecord, index: number): Endpoint {
    const pool = n.IPAM.Config[0]!;
    const subnet = parseSubnet(pool.Subnet);
    const ipam = new Ipam(subnet, parseIPv4(pool.Gateway), n.leases ?? { allocated: {}, cursor: 0 }, pool.IPRange ? parseSubnet(pool.IPRange) : subnet);
    const ip = ipam.allocate(s.containerId, s.wanted[n.Id]?.IPAMConfig?.IPv4Address || undefined);
    n.leases = ipam.state; // in memory: the sandbox record, written before use, is what restore() trusts
    const e: Endpoint = {
      networkId: n.Id, endpointId: newId(), ip, prefix: subnet.prefix, gateway: pool.Gateway, mac: macFor(ip),
      hostIf: `veth${randomBytes(4).toString('hex').slice(0, 7)}`, containerIf: `eth${index}`,
    };
    s.endpoints[n.Id] = e;
    const hasDefault = Object.values(s.endpoints).some((x) => x !== e && !this.networks.get(x.networkId)?.Internal);
    addVeth({
      netns: s.netns!, hostIf: e.hostIf, containerIf: e.containerIf, bridge: n.bridge!, mac: e.mac, addressCidr: `${ip}/${subnet.prefix}`,
      gateway: n.Internal || hasDefault ? undefined : pool.Gateway,
    });
    return e;
  }

  /** Releases the endpoint's address; its veth goes too unless the whole namespace is going. */
  private detach(s: SandboxRecord, networkId: string, removeLink = true): void {
    const e = s.endpoints[networkId];
    if (!e) return;
    if (removeLink) deleteLink(e.hostIf);
    const n = this.networks.get(networkId);
    if (n?.leases && n.leases.allocated[e.ip] === s.containerId) delete n.leases.allocated[e.ip];
    delete s.endpoints[networkId];
  }

  private async openPorts(s: SandboxRecord): Promise<void> {
    this.closePorts(s.containerId);
    const primary = Object.values(s.endpoints)[0];
    if (!primary) return;
    const exposed = Object.fromEntries(s.exposedPorts.map((k) => [k, {}]));
    const wanted = s.ports.length ? s.ports : portsToPublish(s.portBindings, exposed, s.publishAll);
    const open: Proxy[] = [];
    this.proxies.set(s.containerId, open);
    const done: SandboxRecord['ports'] = [];
    for (const p of wanted) {
      const proxy = await openProxy(p, primary.ip);
      open.push(proxy);
      done.push({ hostIp: p.hostIp, hostPort: proxy.port, containerPort: p.containerPort, proto: p.proto });
    }
    s.ports = done;
  }

  private closePorts(containerId: string): void {
    for (const p of this.proxies.get(containerId) ?? []) p.close();
    this.proxies.delete(containerId);
  }

  /** In memory only; see the top of this file for why that is safe. */
  private releaseEndpoints(s: SandboxRecord, removeLinks = true): void {
    for (const id of Object.keys(s.endpoints)) this.detach(s, id, removeLinks);
    s.netns = undefined;
    s.ports = [];
  }

  private tearDownSandbox(s: SandboxRecord): void {
    this.closePorts(s.containerId);
    // The namespace goes first and the kernel takes each veth pair with it, in the background (a
    // synchronous link delete waits tens of ms for the kernel); then the addresses are free.
    deleteNetns(`berth-${s.containerId.slice(0, 12)}`);
    this.releaseEndpoints(s, false);
  }

  /** At container exit: published ports, namespace (and with it the veths) and leases go. */
  tearDown(containerId: string): void {
    const s = this.sandboxes.get(containerId);
    if (s) this.tearDownSandbox(s);
  }

  /** At container removal. */
  forget(containerId: string): void {
    this.tearDown(containerId);
    this.sandboxes.delete(containerId);
  }

  private hostsFile(s: SandboxRecord): string {
    let out = HOSTS_HEADER;
    for (const h of s.extraHosts) {
      const i = h.indexOf(':');
      if (i > 0) out += `${h.slice(i + 1).replace(/^\[|\]$/g, '')}\t${h.slice(0, i)}\n`;
    }
    const primary = Object.values(s.endpoints)[0];
    if (primary) out += `${primary.ip}\t${s.hostname}\n`;
    return out;
  }

  private resolvConf(s: SandboxRecord): string {
    const host = hostResolvConf().split('\n').filter((l) => /^\s*(search|options)\s/.test(l));
    const userNet = Object.keys(s.endpoints).map((id) => this.networks.get(id)).find((n) => n && !this.isDefault(n));
    if (userNet) return [`nameserver ${userNet.IPAM.Config[0]!.Gateway}`, ...host].join('\n') + '\n';
    if (s.dns.length) return [...s.dns.map((d) => `nameserver ${d}`), ...host].join('\n') + '\n';
    return hostResolvConf();
  }

  // ---- connect / disconnect ------------------------------------------------------------------------

  async connect(networkRef: string, containerRef: string, ec: EndpointSettings = {}): Promise<void> {
    const n = this.resolve(networkRef);
    const c = this.containerLookup().resolve(containerRef);
    const s = this.sandboxes.get(c.Id);
    if (!s) throw new NotFound(`No such container: ${containerRef}`);
    if (n.Driver !== 'bridge' || s.mode !== 'bridge') throw new Forbidden('container cannot be disconnected from host network or connected to host network');
    if (n.Id in s.wanted) throw new Forbidden(`endpoint with name ${s.containerName} already exists in network ${n.Name}`);
    s.wanted[n.Id] = this.checkEndpoint(n, ec);
    if (s.pendingEndpoints !== undefined) s.pendingEndpoints = { ...(s.pendingEndpoints ?? {}), [n.Id]: ec }; // start re-registers from these
    this.sandboxes.put(c.Id, s);
    if (c.running && s.netns) {
      try {
        this.attach(s, n, Math.max(-1, ...Object.values(s.endpoints).map((e) => Number(e.containerIf.slice(3)))) + 1);
      } catch (err) {
        this.detach(s, n.Id);
        delete s.wanted[n.Id];
        this.sandboxes.put(c.Id, s);
        throw err;
      }
      this.sandboxes.put(c.Id, s);
    }
  }

  disconnect(networkRef: string, containerRef: string): void {
    const n = this.resolve(networkRef);
    const c = this.containerLookup().resolve(containerRef);
    const s = this.sandboxes.get(c.Id);
    if (!s || !(n.Id in s.wanted)) throw new Forbidden(`container ${c.Id} is not connected to network ${n.Name}`);
    this.detach(s, n.Id);
    delete s.wanted[n.Id];
    this.sandboxes.put(c.Id, s);
  }

  private containerLookup(): ContainerLookup {
    if (!this.containers) throw new Error('network service has no container lookup');
    return this.containers;
  }

  // ---- inspect -------------------------------------------------------------------------------------

  /** NetworkSettings of `GET /containers/{id}/json`. */
  settings(containerId: string): Record<string, unknown> {
    const s = this.sandboxes.get(containerId);
    const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
    const networks: Record<string, unknown> = {};
    let top = { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' };
    if (s) {
      const running = !!s.netns;
      if (running) {
        for (const k of s.exposedPorts) ports[k.includes('/') ? k : `${k}/tcp`] = null;
        for (const p of s.ports) (ports[`${p.containerPort}/${p.proto}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
      }
      const wanted = s.mode === 'bridge' ? s.wanted : { [this.resolve(s.mode).Id]: {} as EndpointSettings };
      for (const [id, ec] of Object.entries(wanted)) {
        const n = this.networks.get(id);
        if (!n) continue;
        const e = s.endpoints[id];
        const entry = {
          IPAMConfig: ec.IPAMConfig ?? null, Links: null, Aliases: ec.Aliases ?? null, MacAddress: e?.mac ?? '', DriverOpts: null, GwPriority: 0,
          NetworkID: n.Id, EndpointID: e?.endpointId ?? '', Gateway: e?.gateway ?? '', IPAddress: e?.ip ?? '', IPPrefixLen: e?.prefix ?? 0,
          IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
          DNSNames: e && !this.isDefault(n) ? [s.containerName, s.containerId.slice(0, 12), ...(ec.Aliases ?? [])] : null,
        };
        networks[n.Name] = entry;
        if (this.isDefault(n) && e) top = { EndpointID: e.endpointId, Gateway: e.gateway, IPAddress: e.ip, IPPrefixLen: e.prefix, MacAddress: e.mac };
      }
    }
    return {
      Bridge: '', SandboxID: s?.netns ? s.containerId : '', SandboxKey: s?.netns ? netnsPath(s.netns) : '', Ports: ports,
      HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
      ...top, GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPv6Gateway: '', Networks: networks,
    };
  }

  /** Ports of `GET /containers/json`. */
  portSummary(containerId: string): Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> {
    const s = this.sandboxes.get(containerId);
    if (!s?.netns) return [];
    const published = s.ports.map((p) => ({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto }));
    const bare = s.exposedPorts.map((k) => k.split('/')).filter(([port, proto]) => !s.ports.some((p) => String(p.containerPort) === port && p.proto === (proto ?? 'tcp')))
      .map(([port, proto]) => ({ PrivatePort: Number(port), Type: proto ?? 'tcp' }));
    return [...published, ...bare];
  }

  /** Closes sockets (proxies, DNS); the kernel side stays for the next berthd. */
  close(): void {
    for (const id of [...this.proxies.keys()]) this.closePorts(id);
    for (const d of this.dns.values()) d.close();
    this.dns.clear();
  }
}

function newId(): string {
  return randomBytes(32).toString('hex');
}

export type { PortMap };
