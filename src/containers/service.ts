// Containers: an image's layers plus a writable overlay layer of its own, and a process that is
// PID 1 of its own namespaces, run by runc under conmon. Records are written crash-safely; the
// exit directory that conmon writes is the truth about exits, also across a daemon restart.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Conflict, InvalidArgument, NotFound } from '../errdefs/index.js';
import { log } from '../lib/log.js';
import { isMountPoint, mountAll, unmountRecursive } from '../lib/sys/index.js';
import { RecordStore } from '../metadata/index.js';
import type { ImageService } from '../images/index.js';
import type { EndpointSettings, NetworkService, SandboxSetup } from '../network/index.js';
import { buildSpec, composeArgv, readLogs, resolveUser, Runtime, RuntimeError, type LogRecord, type OciMount } from '../runtime/index.js';
import { randomName, validName } from './names.js';
import { ZERO_TIME, type ContainerConfig, type ContainerRecord, type HostConfig } from './types.js';

export interface ContainerEvent {
  action: string;
  id: string;
  attributes: Record<string, string>;
}

export interface CreateRequest {
  name?: string;
  config: ContainerConfig;
  hostConfig?: HostConfig;
  networkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings | null> | null } | null;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class ContainerService {
  private readonly records: RecordStore<ContainerRecord>;
  private readonly dir: string;
  private readonly waiters = new Map<string, Array<() => void>>();
  private watcher?: FSWatcher;
  private readonly exits = new Map<string, Promise<void>>();
  private readonly exitResolvers = new Map<string, () => void>();
  // network: set by the daemon; sandboxes (netns, veths, leases, ports) live in network/
  private networks?: NetworkService;

  constructor(
    root: string,
    private readonly images: ImageService,
    readonly runtime: Runtime,
    private readonly emit: (e: ContainerEvent) => void,
  ) {
    this.dir = path.join(root, 'containers');
    this.records = new RecordStore(path.join(root, 'metadata', 'containers'));
    mkdirSync(this.dir, { recursive: true });
  }

  setNetworks(n: NetworkService): void {
    this.networks = n;
  }

  // ---- lookup ------------------------------------------------------------------------------------

  resolve(ref: string): ContainerRecord {
    const byId = this.records.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    for (const r of this.records.values()) if (r.Name === name) return r;
    const matches = [...this.records.values()].filter((r) => r.Id.startsWith(ref));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new InvalidArgument(`multiple IDs found with provided prefix: ${ref}`);
    throw new NotFound(`No such container: ${ref}`);
  }

  all(): ContainerRecord[] {
    return [...this.records.values()];
  }

  /** Which containers use an image (for rmi). */
  usersOf(imageId: string): Array<{ containerID: string; running: boolean }> {
    return this.all().filter((c) => c.Image === imageId).map((c) => ({ containerID: c.Id, running: c.State.Running }));
  }

  bundle(id: string): string {
    return path.join(this.dir, id);
  }

  logPath(id: string): string {
    return path.join(this.bundle(id), 'ctr.log');
  }

  private save(c: ContainerRecord): void {
    this.records.put(c.Id, c);
  }

  private event(action: string, c: ContainerRecord, extra: Record<string, string> = {}): void {
    this.emit({ action, id: c.Id, attributes: { image: c.Config.Image ?? c.Image, name: c.Name.slice(1), ...(c.Config.Labels ?? {}), ...extra } });
  }

  // ---- create --------------------------------------------------------------------------------------

  async create(req: CreateRequest): Promise<{ Id: string; Warnings: string[] }> {
    const cfg = req.config;
    if (!cfg.Image) throw new InvalidArgument('Config.Image is required');
    const image = this.images.resolve(cfg.Image);
    const imageConfig = (await this.images.records.config(image.id)).config ?? {};
    let name = req.name?.replace(/^\//, '');
    if (name) {
      if (!validName(name)) throw new InvalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      const taken = this.all().find((c) => c.Name === `/${name}`);
      if (taken) throw new Conflict(`Conflict. The container name "/${name}" is already in use by container "${taken.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
    } else {
      name = randomName((n) => this.all().some((c) => c.Name === `/${n}`));
    }
    const hostConfig: HostConfig = { NetworkMode: 'default', ...req.hostConfig };
    const network = hostConfig.NetworkMode ?? 'default';
    if (!this.networks && !['default', 'none', 'host', 'bridge'].includes(network)) throw new NotFound(`network ${network} not found`);
    const entrypoint = cfg.Entrypoint === undefined ? undefined : cfg.Entrypoint;
    const argv = composeArgv({ imageEntrypoint: imageConfig.Entrypoint, imageCmd: imageConfig.Cmd, entrypoint, cmd: cfg.Cmd });
    const env = mergeEnv(imageConfig.Env ?? [], cfg.Env ?? []);
    const id = randomBytes(32).toString('hex');
    const config: ContainerConfig = {
      ...cfg,
      Hostname: cfg.Hostname || id.slice(0, 12),
      Env: env,
      Cmd: cfg.Cmd?.length ? cfg.Cmd : (entrypoint !== undefined && entrypoint !== null ? [] : imageConfig.Cmd ?? null),
      Entrypoint: entrypoint !== undefined && entrypoint !== null ? entrypoint : imageConfig.Entrypoint ?? null,
      WorkingDir: cfg.WorkingDir || imageConfig.WorkingDir || '',
      User: cfg.User ?? imageConfig.User ?? '',
      Labels: { ...(imageConfig.Labels ?? {}), ...(cfg.Labels ?? {}) },
      StopSignal: cfg.StopSignal ?? imageConfig.StopSignal,
      ExposedPorts: { ...(imageConfig.ExposedPorts ?? {}), ...(cfg.ExposedPorts ?? {}) },
      Volumes: cfg.Volumes ?? imageConfig.Volumes ?? null,
    };
    const snapshotKey = `container-${id}`;
    await this.images.snapshotter.prepare(snapshotKey, this.images.topChainID(image.id));
    mkdirSync(path.join(this.bundle(id), 'rootfs'), { recursive: true });
    const rec: ContainerRecord = {
      Id: id,
      Name: `/${name}`,
      Created: new Date().toISOString(),
      Path: argv[0]!,
      Args: argv.slice(1),
      Config: config,
      HostConfig: hostConfig,
      Image: image.id,
      State: { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME },
      RestartCount: 0,
      snapshotKey,
    };
    try {
      this.networks?.register(rec, req.networkingConfig?.EndpointsConfig); // network: validates and records the wanted networks
    } catch (err) {
      await this.images.snapshotter.remove(snapshotKey).catch(() => {});
      rmSync(this.bundle(id), { recursive: true, force: true });
      throw err;
    }
    this.save(rec);
    this.event('create', rec);
    return { Id: id, Warnings: [] };
  }

  // ---- start ---------------------------------------------------------------------------------------

  private async mountRootfs(c: ContainerRecord): Promise<string> {
    const rootfs = path.join(this.bundle(c.Id), 'rootfs');
    if (!isMountPoint(rootfs)) mountAll(await this.images.snapshotter.mounts(c.snapshotKey), rootfs);
    return rootfs;
  }

  private writeEtcFiles(c: ContainerRecord, net?: SandboxSetup): OciMount[] {
    const b = this.bundle(c.Id);
    const hostname = c.Config.Hostname!;
    const host = c.HostConfig.NetworkMode === 'host';
    writeFileSync(path.join(b, 'hostname'), `${host ? readFileSync('/etc/hostname', 'utf8').trim() : hostname}\n`);
    writeFileSync(path.join(b, 'hosts'), host ? readFileSync('/etc/hosts', 'utf8') : `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`);
    let resolv = '';
    try {
      resolv = readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      resolv = '';
    }
    writeFileSync(path.join(b, 'resolv.conf'), resolv);
    if (net) { // network: its hosts and resolv.conf (own address, --add-host, embedded DNS)
      writeFileSync(path.join(b, 'hosts'), net.hosts);
      writeFileSync(path.join(b, 'resolv.conf'), net.resolvConf);
    }
    const bind = (name: string, dest: string): OciMount => ({ destination: dest, type: 'bind', source: path.join(b, name), options: ['rbind', 'rprivate'] });
    return [bind('hostname', '/etc/hostname'), bind('hosts', '/etc/hosts'), bind('resolv.conf', '/etc/resolv.conf')];
  }

  async start(ref: string): Promise<void> {
    const c = this.resolve(ref);
    if (c.State.Running) return; // Docker answers 304 Not Modified; the route checks first
    const rootfs = await this.mountRootfs(c);
    try {
      const user = resolveUser(rootfs, c.Config.User);
      const cwd = c.Config.WorkingDir || '/';
      mkdirSync(path.join(rootfs, cwd), { recursive: true });
      const env = c.Config.Env!.some((e) => e.startsWith('PATH=')) ? [...c.Config.Env!] : [`PATH=${DEFAULT_PATH}`, ...c.Config.Env!];
      if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${c.Config.Hostname}`);
      if (c.Config.Tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
      if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
      const hc = c.HostConfig;
      const net = await this.networks?.setUp(c); // network: namespace, veths, address, published ports
      const spec = buildSpec({
        id: c.Id, argv: [c.Path, ...c.Args], env, cwd, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids,
        hostname: c.Config.Hostname!, tty: !!c.Config.Tty, readonlyRootfs: !!hc.ReadonlyRootfs,
        network: net?.network ?? (hc.NetworkMode === 'host' ? { mode: 'host' } : { mode: 'new' }),
        capAdd: hc.CapAdd ?? [], capDrop: hc.CapDrop ?? [], privileged: !!hc.Privileged, mounts: this.writeEtcFiles(c, net),
        memory: hc.Memory || undefined, memorySwap: hc.MemorySwap || undefined, nanoCpus: hc.NanoCpus || undefined,
        cpuShares: hc.CpuShares || undefined, pidsLimit: hc.PidsLimit ?? undefined, cgroupsPath: `/berth/${c.Id}`,
        noNewPrivileges: (hc.SecurityOpt ?? []).includes('no-new-privileges'),
      });
      writeFileSync(path.join(this.bundle(c.Id), 'config.json'), JSON.stringify(spec));
      rmSync(this.runtime.exitFile(c.Id), { force: true });
      await this.runtime.delete(c.Id); // a leftover from a crash would block create
      const pid = await this.runtime.create({ id: c.Id, name: c.Name.slice(1), bundle: this.bundle(c.Id), logPath: this.logPath(c.Id), tty: !!c.Config.Tty, stdin: !!c.Config.OpenStdin });
      this.expectExit(c.Id);
      await this.runtime.start(c.Id);
      c.State = { ...c.State, Status: 'running', Running: true, Paused: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString(), FinishedAt: ZERO_TIME, OOMKilled: false };
      this.save(c);
      this.event('start', c);
      // A process that exited before the record said running was skipped by onExit: handle it now.
      if (this.runtime.exitCode(c.Id) !== undefined) void this.onExit(c.Id);
    } catch (err) {
      const code = err instanceof RuntimeError ? err.exitCode : 128;
      await this.runtime.delete(c.Id).catch(() => {});
      this.networks?.tearDown(c.Id); // network
      unmountRecursive(rootfs);
      c.State = { ...c.State, Status: c.State.StartedAt === ZERO_TIME ? 'created' : 'exited', Running: false, Pid: 0, ExitCode: code, Error: err instanceof Error ? err.message : String(err) };
      this.save(c);
      // Whoever waits for the next exit (docker run) learns the code now; --rm still removes it.
      this.exitResolvers.get(c.Id)?.();
      this.exitResolvers.delete(c.Id);
      this.exits.delete(c.Id);
      for (const w of this.waiters.get(c.Id) ?? []) w();
      this.waiters.delete(c.Id);
      if (c.HostConfig.AutoRemove) await this.remove(c.Id, { force: true }).catch(() => {});
      throw err;
    }
  }

  /** A promise that settles when the running container exits (from conmon's exit file). */
  private expectExit(id: string): void {
    if (this.exits.has(id)) return;
    const p = new Promise<void>((resolve) => this.exitResolvers.set(id, resolve));
    this.exits.set(id, p);
  }

  /** Watches conmon's exit directory; each new file is a container that exited. */
  watchExits(): void {
    this.watcher = watch(this.runtime.config.exitDir, (_, file) => {
      if (file) void this.onExit(file.toString());
    });
  }

  private readonly handling = new Set<string>();

  private async onExit(id: string): Promise<void> {
    const c = this.records.get(id);
    if (!c || !c.State.Running || this.handling.has(id)) return;
    const code = this.runtime.exitCode(id);
    if (code === undefined) return; // the file is still being written; a second event follows
    this.handling.add(id);
    try {
      const oom = this.oomKilled(id);
      await this.runtime.delete(id).catch((err) => log.warn('runc delete failed', { id, error: err }));
      this.networks?.tearDown(id); // network
      unmountRecursive(path.join(this.bundle(id), 'rootfs'));
      c.State = { ...c.State, Status: 'exited', Running: false, Paused: false, Pid: 0, ExitCode: code, OOMKilled: oom, FinishedAt: new Date().toISOString() };
      this.save(c);
      this.event('die', c, { exitCode: String(code) });
      this.exitResolvers.get(id)?.();
      this.exitResolvers.delete(id);
      this.exits.delete(id);
      for (const w of this.waiters.get(id) ?? []) w();
      this.waiters.delete(id);
      if (c.HostConfig.AutoRemove) await this.remove(id, { force: true }).catch((err) => log.warn('auto-remove failed', { id, error: err }));
    } finally {
      this.handling.delete(id);
    }
  }

  private oomKilled(id: string): boolean {
    try {
      return /oom_kill (\d+)/.exec(readFileSync(`/sys/fs/cgroup/memory/berth/${id}/memory.oom_control`, 'utf8'))?.[1] !== '0';
    } catch {
      return false;
    }
  }

  /** After a restart: containers that exited while berthd was down get their real exit codes. */
  async recover(): Promise<void> {
    for (const c of this.all()) {
      if (!c.State.Running) continue;
      const state = await this.runtime.state(c.Id).catch(() => undefined);
      if (state && (state.status === 'running' || state.status === 'paused')) {
        this.expectExit(c.Id);
        if (this.runtime.exitCode(c.Id) !== undefined) await this.onExit(c.Id);
        continue;
      }
      if (this.runtime.exitCode(c.Id) === undefined) writeFileSync(this.runtime.exitFile(c.Id), '255');
      this.expectExit(c.Id);
      await this.onExit(c.Id);
    }
  }

  // ---- stop, kill, wait, remove -------------------------------------------------------------------

  async kill(ref: string, signal = 'KILL'): Promise<void> {
    const c = this.resolve(ref);
    if (!c.State.Running) throw new Conflict(`Cannot kill container: ${ref}: Container ${c.Id} is not running`);
    await this.runtime.kill(c.Id, normalizeSignal(signal));
    this.event('kill', c, { signal: normalizeSignal(signal) });
  }

  /** STOPSIGNAL (or SIGTERM), then SIGKILL after the timeout. Returns false if it was not running. */
  async stop(ref: string, timeoutSec?: number, signal?: string): Promise<boolean> {
    const c = this.resolve(ref);
    if (!c.State.Running) return false;
    const exited = this.exits.get(c.Id) ?? Promise.resolve();
    const t = timeoutSec ?? c.Config.StopTimeout ?? 10;
    await this.runtime.kill(c.Id, normalizeSignal(signal ?? c.Config.StopSignal ?? 'TERM')).catch(() => {});
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), Math.max(0, t) * 1000))]);
    if (timedOut) {
      await this.runtime.kill(c.Id, 'KILL', true).catch(() => {});
      await exited;
    }
    this.event('stop', this.records.get(c.Id) ?? c);
    return true;
  }

  /** Resolves with the exit code when `condition` holds: not-running (default), next-exit, removed. */
  async wait(ref: string, condition = 'not-running'): Promise<number> {
    const c = this.resolve(ref);
    const id = c.Id;
    if (condition === 'not-running' && !c.State.Running) return c.State.ExitCode;
    await new Promise<void>((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
    const after = this.records.get(id);
    if (condition === 'removed' && after) {
      await new Promise<void>((resolve) => {
        const list = this.waiters.get(`removed:${id}`) ?? [];
        list.push(resolve);
        this.waiters.set(`removed:${id}`, list);
      });
    }
    return (after ?? c).State.ExitCode;
  }

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const c = this.resolve(ref);
    if (c.State.Running) {
      if (!opts.force) throw new Conflict(`cannot remove container "${c.Name}": container is running: stop the container before removing or force remove`);
      await this.runtime.kill(c.Id, 'KILL', true).catch(() => {});
      await (this.exits.get(c.Id) ?? Promise.resolve());
    }
    const latest = this.records.get(c.Id);
    if (!latest) return; // auto-removed meanwhile
    await this.runtime.delete(c.Id).catch(() => {});
    unmountRecursive(path.join(this.bundle(c.Id), 'rootfs'));
    await this.images.snapshotter.remove(c.snapshotKey).catch(() => {});
    this.networks?.forget(c.Id); // network
    this.records.delete(c.Id);
    rmSync(this.bundle(c.Id), { recursive: true, force: true });
    rmSync(this.runtime.exitFile(c.Id), { force: true });
    this.event('destroy', c);
    for (const w of this.waiters.get(`removed:${c.Id}`) ?? []) w();
    this.waiters.delete(`removed:${c.Id}`);
  }

  // ---- logs ----------------------------------------------------------------------------------------

  logs(ref: string, opts: { follow?: boolean; tail?: number; sinceNs?: bigint; untilNs?: bigint; signal?: AbortSignal }): AsyncGenerator<LogRecord> {
    const c = this.resolve(ref);
    const stopped = c.State.Running ? this.exits.get(c.Id) ?? Promise.resolve() : Promise.resolve();
    return readLogs(this.logPath(c.Id), { ...opts, stopped });
  }

  /** A promise that settles when the container is no longer running. */
  exited(ref: string): Promise<void> {
    const c = this.resolve(ref);
    return c.State.Running ? this.exits.get(c.Id) ?? Promise.resolve() : Promise.resolve();
  }

  /** Created but never started: attach must wait for the start before the exit promise exists. */
  async startedOrExited(id: string): Promise<void> {
    for (;;) {
      const c = this.records.get(id);
      if (!c || c.State.Running || c.State.StartedAt !== ZERO_TIME || c.State.Error) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.watcher?.close();
  }
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (const e of extra) {
    const k = e.split('=')[0];
    const i = out.findIndex((x) => x.split('=')[0] === k);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

export function normalizeSignal(s: string | number): string {
  const v = String(s).toUpperCase();
  if (/^\d+$/.test(v)) return v;
  return v.startsWith('SIG') ? v.slice(3) : v;
}

