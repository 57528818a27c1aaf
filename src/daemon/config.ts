// berthd's settings, from flags named as dockerd's where they overlap.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { InvalidArgument } from '../errdefs/index.js';
import { isLogLevel, type LogLevel } from '../lib/log.js';

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  logLevel: LogLevel;
  /** Registries reached over plain HTTP (loopback ones always are). */
  insecureRegistries?: string[];
  /** Registries never contacted (`docker.io` keeps a daemon, and its tests, off Docker Hub). */
  blockedRegistries?: string[];
  /** Default bridge network: gateway address with prefix, and the Linux bridge's name. */
  bip: string;
  bridge: string;
}

export const DEFAULT_SOCKET = 'unix:///run/berth/berth.sock';
export const USAGE = `Usage:	berthd [OPTIONS]

A container engine that speaks the Docker Engine API.

Options:
      --bip string         Specify default-bridge IPv4 network (default "172.30.0.1/16")
      --block-registry list  Never contact this registry (docker.io for Docker Hub): pulls, pushes,
                           logins and searches there fail at once
  -b, --bridge string      Attach containers to a network bridge (default "berth0")
      --data-root string   Root directory of persistent state (default "/var/lib/berth")
  -D, --debug              Enable debug mode
      --exec-root string   Root directory for execution state files (default "/run/berth")
      --insecure-registry list  Enable insecure registry communication
  -H, --host list          Daemon socket(s) to connect to (default unix:///run/berth/berth.sock)
  -l, --log-level string   Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
      --pidfile string     Path to use for daemon PID file (default "<exec-root>/berthd.pid")
  -v, --version            Print version information and quit
  -h, --help               Print usage
`;

export function parseDaemonArgs(argv: string[]): DaemonConfig | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        host: { type: 'string', short: 'H', multiple: true },
        'data-root': { type: 'string' },
        bip: { type: 'string' },
        bridge: { type: 'string', short: 'b' },
        'exec-root': { type: 'string' },
        'insecure-registry': { type: 'string', multiple: true },
        'block-registry': { type: 'string', multiple: true },
        pidfile: { type: 'string', short: 'p' },
        'log-level': { type: 'string', short: 'l' },
        debug: { type: 'boolean', short: 'D' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new InvalidArgument((err as Error).message.replace(/^Unknown option/, 'unknown flag'));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.version) return 'version';
  const logLevel = v.debug ? 'debug' : (v['log-level'] ?? 'info');
  if (!isLogLevel(logLevel)) throw new InvalidArgument(`unable to parse logging level: ${logLevel}`);
  const bip = v.bip ?? '172.30.0.1/16';
  if (!/^\d+\.\d+\.\d+\.\d+\/\d{1,2}$/.test(bip)) throw new InvalidArgument(`invalid value "${bip}" for flag --bip`);
  const bridge = v.bridge ?? 'berth0';
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw new InvalidArgument(`invalid value "${bridge}" for flag --bridge`);
  const dataRoot = path.resolve(v['data-root'] ?? '/var/lib/berth');
  const execRoot = path.resolve(v['exec-root'] ?? '/run/berth');
  return {
    hosts: v.host?.length ? v.host : [DEFAULT_SOCKET],
    dataRoot,
    execRoot,
    pidfile: path.resolve(v.pidfile ?? path.join(execRoot, 'berthd.pid')),
    logLevel,
    insecureRegistries: v['insecure-registry'] ?? [],
    blockedRegistries: v['block-registry'] ?? [],
    bip,
    bridge,
  };
}
