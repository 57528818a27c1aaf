// The OCI runtime spec (config.json) for a container, with Docker's defaults: its capability set,
// masked and read-only /proc and /sys paths, a minimal /dev, and namespaces for PID, mount, UTS,
// IPC and network.
import { readFileSync } from 'node:fs';
import { defaultSeccomp } from './seccomp.js';

export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** ALL_CAPABILITIES is in capability-number order; keep those berthd's own bounding set holds
 *  (a capability the host withholds makes runc fail with EPERM). */
let grantable: string[] | undefined;
export function grantableCapabilities(): string[] {
  if (grantable) return grantable;
  let bnd = (1n << BigInt(ALL_CAPABILITIES.length)) - 1n;
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) bnd = BigInt(`0x${m[1]}`);
  } catch {
    // keep all
  }
  grantable = ALL_CAPABILITIES.filter((_, i) => (bnd >> BigInt(i)) & 1n);
  return grantable;
}

const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface SpecInput {
  id: string;
  argv: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  hostname: string;
  tty: boolean;
  readonlyRootfs: boolean;
  /** 'host' shares the host's network namespace; anything else gets a new one (path if given). */
  network: { mode: 'host' } | { mode: 'new' } | { mode: 'path'; path: string };
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  mounts: OciMount[];
  memory?: number;
  memorySwap?: number;
  nanoCpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
  noNewPrivileges?: boolean;
  /** Docker's default seccomp filter (off for privileged containers and `seccomp=unconfined`). */
  seccomp?: boolean;
  /** Where runc puts the container's cgroup (cgroupfs, v1). */
  cgroupsPath: string;
  oomScoreAdj?: number;
}

function normalizeCap(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

export function capabilitiesFor(input: Pick<SpecInput, 'capAdd' | 'capDrop' | 'privileged'>): string[] {
  if (input.privileged) return grantableCapabilities();
  const add = input.capAdd.map(normalizeCap);
  const drop = input.capDrop.map(normalizeCap);
  let caps = add.includes('CAP_ALL') ? [...grantableCapabilities()] : [...DEFAULT_CAPABILITIES, ...add.filter((c) => c !== 'CAP_ALL')];
  if (drop.includes('CAP_ALL')) caps = add.filter((c) => c !== 'CAP_ALL');
  else caps = caps.filter((c) => !drop.includes(c));
  return [...new Set(caps)];
}

export function buildSpec(input: SpecInput): Record<string, unknown> {
  const caps = capabilitiesFor(input);
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (input.network.mode === 'new') namespaces.push({ type: 'network' });
  if (input.network.mode === 'path') namespaces.push({ type: 'network', path: input.network.path });
  const resources: Record<string, unknown> = {
    devices: input.privileged ? [{ allow: true, access: 'rwm' }] : [
      { allow: false, access: 'rwm' },
      ...[[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [136, -1], [10, 200]].map(([major, minor]) => ({ allow: true, type: 'c', major, minor: minor === -1 ? undefined : minor, access: 'rwm' })),
    ],
  };
  if (input.memory) resources['memory'] = { limit: input.memory, swap: input.memorySwap && input.memorySwap > 0 ? input.memorySwap : input.memorySwap === -1 ? -1 : input.memory * 2 };
  if (input.nanoCpus || input.cpuShares) {
    const period = 100_000;
    resources['cpu'] = {
      ...(input.cpuShares ? { shares: input.cpuShares } : {}),
      ...(input.nanoCpus ? { quota: Math.round((input.nanoCpus / 1e9) * period), period } : {}),
    };
  }
  if (input.pidsLimit && input.pidsLimit > 0) resources['pids'] = { limit: input.pidsLimit };
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', input.privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', input.privileged ? 'rw' : 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
    ...input.mounts,
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.tty,
      user: { uid: input.uid, gid: input.gid, additionalGids: input.additionalGids.length ? input.additionalGids : undefined },
      args: input.argv,
      env: input.env,
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: input.noNewPrivileges ?? false,
      oomScoreAdj: input.oomScoreAdj ?? 0,
    },
    root: { path: 'rootfs', readonly: input.readonlyRootfs },
    hostname: input.network.mode === 'host' ? undefined : input.hostname,
    mounts,
    linux: {
      cgroupsPath: input.cgroupsPath,
      resources,
      namespaces,
      maskedPaths: input.privileged ? [] : MASKED_PATHS,
      readonlyPaths: input.privileged ? [] : READONLY_PATHS,
      ...(input.seccomp && !input.privileged ? { seccomp: defaultSeccomp(caps) } : {}),
    },
  };
}
