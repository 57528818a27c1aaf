// The flags of `create` and `run`, and the body the docker CLI sends to POST /containers/create
// built from them: Config, HostConfig and NetworkingConfig, with docker's value syntaxes
// (-p, -v, --mount, --tmpfs, --env-file, memory units, --cpus, --restart).
import { readFileSync } from 'node:fs';
import type { FlagSpec, FlagValues } from '../flags.js';
import { UsageError } from '../flags.js';

export const containerCreateFlags: FlagSpec[] = [
  { name: 'add-host', type: 'list', help: 'Add a custom host-to-IP mapping (host:ip)' },
  { name: 'attach', short: 'a', type: 'list', help: 'Attach to STDIN, STDOUT or STDERR' },
  { name: 'cap-add', type: 'list', help: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'list', help: 'Drop Linux capabilities' },
  { name: 'cpus', type: 'string', help: 'Number of CPUs', valueName: 'decimal' },
  { name: 'dns', type: 'list', help: 'Set custom DNS servers' },
  { name: 'entrypoint', type: 'string', help: 'Overwrite the default ENTRYPOINT of the image', valueName: 'string' },
  { name: 'env', short: 'e', type: 'list', help: 'Set environment variables' },
  { name: 'env-file', type: 'list', help: 'Read in a file of environment variables' },
  { name: 'expose', type: 'list', help: 'Expose a port or a range of ports' },
  { name: 'hostname', short: 'h', type: 'string', help: 'Container host name', valueName: 'string' },
  { name: 'init', type: 'bool', help: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'interactive', short: 'i', type: 'bool', help: 'Keep STDIN open even if not attached' },
  { name: 'ip', type: 'string', help: 'IPv4 address (e.g., 172.30.100.104)', valueName: 'string' },
  { name: 'label', short: 'l', type: 'list', help: 'Set meta data on a container' },
  { name: 'label-file', type: 'list', help: 'Read in a line delimited file of labels' },
  { name: 'memory', short: 'm', type: 'string', help: 'Memory limit', valueName: 'bytes' },
  { name: 'mount', type: 'list', help: 'Attach a filesystem mount to the container', valueName: 'mount' },
  { name: 'name', type: 'string', help: 'Assign a name to the container', valueName: 'string' },
  { name: 'network', type: 'string', help: 'Connect a container to a network', valueName: 'network' },
  { name: 'network-alias', type: 'list', help: 'Add network-scoped alias for the container' },
  { name: 'pids-limit', type: 'int', help: 'Tune container pids limit (set -1 for unlimited)', valueName: 'int' },
  { name: 'platform', type: 'string', help: 'Set platform if server is multi-platform capable', valueName: 'string' },
  { name: 'privileged', type: 'bool', help: 'Give extended privileges to this container' },
  { name: 'publish', short: 'p', type: 'list', help: "Publish a container's port(s) to the host" },
  { name: 'publish-all', short: 'P', type: 'bool', help: 'Publish all exposed ports to random ports' },
  { name: 'pull', type: 'string', help: 'Pull image before creating ("always", "missing", "never")', valueName: 'string', default: 'missing' },
  { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress the pull output' },
  { name: 'read-only', type: 'bool', help: "Mount the container's root filesystem as read only" },
  { name: 'restart', type: 'string', help: 'Restart policy to apply when a container exits', valueName: 'string', default: 'no' },
  { name: 'rm', type: 'bool', help: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { name: 'stop-signal', type: 'string', help: 'Signal to stop the container', valueName: 'string' },
  { name: 'stop-timeout', type: 'int', help: 'Timeout (in seconds) to stop a container', valueName: 'int' },
  { name: 'tmpfs', type: 'list', help: 'Mount a tmpfs directory' },
  { name: 'tty', short: 't', type: 'bool', help: 'Allocate a pseudo-TTY' },
  { name: 'user', short: 'u', type: 'string', help: 'Username or UID (format: <name|uid>[:<group|gid>])', valueName: 'string' },
  { name: 'volume', short: 'v', type: 'list', help: 'Bind mount a volume' },
  { name: 'workdir', short: 'w', type: 'string', help: 'Working directory inside the container', valueName: 'string' },
];

export const runOnlyFlags: FlagSpec[] = [
  { name: 'detach', short: 'd', type: 'bool', help: 'Run container in background and print container ID' },
  { name: 'detach-keys', type: 'string', help: 'Override the key sequence for detaching a container', valueName: 'string' },
  { name: 'sig-proxy', type: 'bool', help: 'Proxy received signals to the process', default: true },
];

export interface PortBinding { HostIp: string; HostPort: string }

/** `[ip:][hostPort:]containerPort[/proto]`, ranges allowed: docker's nat.ParsePortSpec. */
export function parsePortSpec(spec: string): Array<{ port: string; binding: PortBinding }> {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new UsageError(`invalid proto: ${proto}`);
  }
  let ip = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new UsageError(`invalid IP address: ${rest}`);
    ip = rest.slice(1, close);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  let hostPart = '';
  let containerPart: string;
  if (ip) {
    [hostPart, containerPart] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
  } else if (parts.length === 1) containerPart = parts[0]!;
  else if (parts.length === 2) [hostPart, containerPart] = [parts[0]!, parts[1]!];
  else if (parts.length === 3) [ip, hostPart, containerPart] = [parts[0]!, parts[1]!, parts[2]!];
  else throw new UsageError(`invalid port format: ${spec}`);
  if (!containerPart) throw new UsageError(`no port specified: ${spec}<empty>`);
  const range = (s: string, what: string): [number, number] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    if (!m) throw new UsageError(`invalid ${what}: ${s}`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (a > 65535 || b > 65535 || b < a) throw new UsageError(`invalid ${what}: ${s}`);
    return [a, b];
  };
  const [cs, ce] = range(containerPart, 'containerPort');
  const [hs, he] = hostPart ? range(hostPart, 'hostPort') : [0, 0];
  const count = ce - cs + 1;
  if (hostPart && he - hs + 1 !== count && he !== hs) throw new UsageError(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  const out = [];
  for (let i = 0; i < count; i++) {
    let hostPort = '';
    if (hostPart) hostPort = he === hs ? (count === 1 ? String(hs) : hostPart) : String(hs + i);
    out.push({ port: `${cs + i}/${proto}`, binding: { HostIp: ip, HostPort: hostPort } });
  }
  return out;
}

/** go-units RAMInBytes: `512m`, `1g`, `1.5GiB`, plain bytes. */
export function parseMemory(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new UsageError(`invalid size: '${s}'`);
  const mult: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.trunc(Number(m[1]) * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

/** `--cpus 1.5` -> NanoCpus 1500000000. */
export function parseCpus(s: string): number {
  if (!/^\d*\.?\d+$|^\d+\.$/.test(s)) throw new UsageError(`invalid argument "${s}" for "--cpus" flag: failed to parse ${s} as a rational number`);
  return Math.round(Number(s) * 1e9);
}

export function parseRestartPolicy(s: string): { Name: string; MaximumRetryCount: number } {
  if (s === '') return { Name: 'no', MaximumRetryCount: 0 };
  const [name, count, ...extra] = s.split(':');
  if (extra.length) throw new UsageError(`invalid restart policy format: maximum retry count must be an integer`);
  if (count === undefined) return { Name: name!, MaximumRetryCount: 0 };
  if (name !== 'on-failure') throw new UsageError(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  const n = Number(count);
  if (!/^\d+$/.test(count)) throw new UsageError(`invalid restart policy format: maximum retry count must be an integer`);
  return { Name: name, MaximumRetryCount: n };
}

/** KEY=VALUE lines; `#` comments and blank lines skipped; a bare KEY takes the caller's value or is dropped. */
export function parseEnvLines(text: string, file: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (/\s/.test(key)) throw new UsageError(`variable '${key}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
    void file;
  }
  return out;
}

/** `-e KEY` without a value takes it from the caller's environment, or stays bare (docker's ValidateEnv). */
export function expandEnv(v: string, env: NodeJS.ProcessEnv): string {
  if (v.startsWith('=')) throw new UsageError(`invalid argument "${v}" for "-e, --env" flag: invalid environment variable: ${v}`);
  if (v.includes('=')) return v;
  return env[v] !== undefined ? `${v}=${env[v]}` : v;
}

export interface MountSpec {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> }; Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** `--mount type=bind,source=/a,target=/b,readonly`: docker's opts.MountOpt. */
export function parseMount(value: string): MountSpec {
  const m: MountSpec = { Type: 'volume', Target: '' };
  let type = 'volume';
  const fields = value.split(',');
  for (const f of fields) if (f.split('=')[0]!.toLowerCase() === 'type') type = f.slice(f.indexOf('=') + 1);
  m.Type = type;
  const bool = (k: string, v: string | undefined) => {
    if (v === undefined) return true;
    if (['1', 't', 'true', 'True', 'TRUE'].includes(v)) return true;
    if (['0', 'f', 'false', 'False', 'FALSE'].includes(v)) return false;
    throw new UsageError(`invalid value for ${k}: ${v}`);
  };
  for (const f of fields) {
    const eq = f.indexOf('=');
    const key = (eq < 0 ? f : f.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : f.slice(eq + 1);
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive'].includes(key)) throw new UsageError(`invalid field '${f}' must be a key=value pair`);
    switch (key) {
      case 'type': break;
      case 'source': case 'src': m.Source = val; break;
      case 'target': case 'dst': case 'destination': m.Target = val!; break;
      case 'readonly': case 'ro': m.ReadOnly = bool(key, val); break;
      case 'consistency': m.Consistency = val; break;
      case 'bind-propagation': (m.BindOptions ??= {}).Propagation = val; break;
      case 'bind-nonrecursive': (m.BindOptions ??= {}).NonRecursive = bool(key, val); break;
      case 'volume-nocopy': (m.VolumeOptions ??= {}).NoCopy = bool(key, val); break;
      case 'volume-subpath': (m.VolumeOptions ??= {}).Subpath = val; break;
      case 'volume-label': {
        const [k, ...v] = val!.split('=');
        ((m.VolumeOptions ??= {}).Labels ??= {})[k!] = v.join('=');
        break;
      }
      case 'volume-driver': ((m.VolumeOptions ??= {}).DriverConfig ??= {}).Name = val; break;
      case 'volume-opt': {
        const [k, ...v] = val!.split('=');
        (((m.VolumeOptions ??= {}).DriverConfig ??= {}).Options ??= {})[k!] = v.join('=');
        break;
      }
      case 'tmpfs-size': (m.TmpfsOptions ??= {}).SizeBytes = parseMemory(val!); break;
      case 'tmpfs-mode': (m.TmpfsOptions ??= {}).Mode = parseInt(val!, 8); break;
      default: throw new UsageError(`unexpected key '${key}' in '${f}'`);
    }
  }
  if (!m.Target) throw new UsageError('target is required');
  if (m.Type === 'bind' && !m.Source) throw new UsageError('source is required when specifying bind mount');
  if (m.VolumeOptions && m.Type !== 'volume') throw new UsageError(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.BindOptions && m.Type !== 'bind') throw new UsageError(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== 'tmpfs') throw new UsageError(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}

/** `-v`: `/dir` alone is an anonymous volume (Config.Volumes); `src:dst[:mode]` a bind or named volume (Binds). */
export function parseVolume(spec: string): { volume?: string; bind?: string } {
  const parts = spec.split(':');
  if (parts.length === 1) {
    if (!spec.startsWith('/')) throw new UsageError(`invalid volume specification: '${spec}'`);
    return { volume: spec };
  }
  if (parts.length > 3 || !parts[1]!.startsWith('/') || !parts[0]) throw new UsageError(`invalid spec: ${spec}: invalid volume specification: '${spec}'`);
  return { bind: spec };
}

export interface CreateBody {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, object>;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig: Record<string, unknown>;
  NetworkingConfig: { EndpointsConfig: Record<string, unknown> };
}

/** `net_admin` -> `CAP_NET_ADMIN`; `ALL` stays. */
export function normalizeCapability(cap: string): string {
  const c = cap.toUpperCase();
  return c === 'ALL' || c.startsWith('CAP_') ? c : `CAP_${c}`;
}

function labelMap(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    out[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? '' : v.slice(eq + 1);
  }
  return out;
}

/**
 * The create request for IMAGE [COMMAND...]: the same Config/HostConfig/NetworkingConfig fields the
 * docker CLI fills from these flags. `run` differs only in which streams it attaches.
 */
export function buildCreateBody(flags: FlagValues, image: string, cmd: string[], opts: { run?: boolean; env?: NodeJS.ProcessEnv; readFile?: (p: string) => string } = {}): CreateBody {
  const env = opts.env ?? process.env;
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const list = (k: string) => (flags[k] as string[] | undefined) ?? [];
  const str = (k: string) => flags[k] as string | undefined;

  const tty = !!flags['tty'];
  const interactive = !!flags['interactive'];
  const detach = !!flags['detach'];
  const attach = list('attach').map((a) => a.toLowerCase());
  for (const a of attach) if (!['stdin', 'stdout', 'stderr'].includes(a)) throw new UsageError(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  if (detach && attach.length) throw new UsageError('Conflicting options: -a and -d');
  let attachStdin = attach.includes('stdin');
  let attachStdout = attach.includes('stdout');
  let attachStderr = attach.includes('stderr');
  if (!attach.length && !detach) {
    attachStdout = true;
    attachStderr = true;
    if (interactive) attachStdin = true;
  }
  if (!opts.run && !attach.length) {
    // `create` attaches nothing but the docker CLI still marks stdout/stderr (and stdin with -i).
    attachStdout = true;
    attachStderr = true;
    attachStdin = interactive;
  }
  if (flags['rm'] && str('restart') && str('restart') !== 'no') throw new UsageError('Conflicting options: --restart and --rm');

  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const p of list('publish')) {
    for (const { port, binding } of parsePortSpec(p)) {
      exposed[port] = {};
      (bindings[port] ??= []).push(binding);
    }
  }
  for (const e of list('expose')) {
    const [ports, proto = 'tcp'] = e.split('/');
    const [a, b = a] = ports!.split('-').map(Number);
    for (let i = a!; i <= b!; i++) exposed[`${i}/${proto}`] = {};
  }

  const envs: string[] = [];
  for (const f of list('env-file')) envs.push(...parseEnvLines(read(f), f, env));
  for (const e of list('env')) envs.push(expandEnv(e, env));
  const labels: Record<string, string> = {};
  for (const f of list('label-file')) Object.assign(labels, labelMap(parseEnvLines(read(f), f, {})));
  Object.assign(labels, labelMap(list('label')));

  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  for (const v of list('volume')) {
    const r = parseVolume(v);
    if (r.volume) volumes[r.volume] = {};
    else binds.push(r.bind!);
  }
  const mounts = list('mount').map(parseMount);
  const tmpfs: Record<string, string> = {};
  for (const t of list('tmpfs')) {
    const colon = t.indexOf(':');
    tmpfs[colon < 0 ? t : t.slice(0, colon)] = colon < 0 ? '' : t.slice(colon + 1);
  }

  const network = str('network') ?? 'default';
  const endpoints: Record<string, unknown> = {};
  {
    // The docker CLI sends the whole EndpointSettings struct, zero values included.
    endpoints[network] = {
      IPAMConfig: str('ip') ? { IPv4Address: str('ip') } : null,
      Links: null,
      Aliases: list('network-alias').length ? list('network-alias') : null,
      MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
    };
  }

  const entrypoint = str('entrypoint');
  const hostConfig: Record<string, unknown> = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: '',
    LogConfig: { Type: '', Config: {} },
    NetworkMode: network,
    PortBindings: bindings,
    RestartPolicy: parseRestartPolicy(str('restart') ?? 'no'),
    AutoRemove: !!flags['rm'],
    VolumeDriver: '',
    VolumesFrom: null,
    ConsoleSize: [0, 0],
    CapAdd: list('cap-add').length ? list('cap-add').map(normalizeCapability) : null,
    CapDrop: list('cap-drop').length ? list('cap-drop').map(normalizeCapability) : null,
    CgroupnsMode: '',
    Dns: list('dns'),
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: list('add-host').length ? list('add-host') : null,
    GroupAdd: null,
    IpcMode: '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: !!flags['privileged'],
    PublishAllPorts: !!flags['publish-all'],
    ReadonlyRootfs: !!flags['read-only'],
    SecurityOpt: null,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 0,
    Isolation: '',
    CpuShares: 0,
    Memory: str('memory') ? parseMemory(str('memory')!) : 0,
    NanoCpus: str('cpus') ? parseCpus(str('cpus')!) : 0,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: -1,
    OomKillDisable: false,
    PidsLimit: flags['pids-limit'] !== undefined ? flags['pids-limit'] : 0,
    Ulimits: [],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    Mounts: mounts.length ? mounts : undefined,
    MaskedPaths: null,
    ReadonlyPaths: null,
    Init: flags['init'] ? true : undefined,
  };
  return {
    Hostname: str('hostname') ?? '',
    Domainname: '',
    User: str('user') ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: interactive && attachStdin,
    Env: envs.length ? envs : null,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    Volumes: volumes,
    WorkingDir: str('workdir') ?? '',
    Entrypoint: entrypoint === undefined ? null : entrypoint === '' ? [''] : [entrypoint],
    OnBuild: null,
    Labels: labels,
    StopSignal: str('stop-signal'),
    StopTimeout: flags['stop-timeout'] as number | undefined,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
}
