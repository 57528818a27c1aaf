// Containers: an image's layers plus a writable overlay layer of its own, and a process that is
// PID 1 of its own namespaces, run by runc under conmon. Records are written crash-safely; the
// exit directory that conmon writes is the truth about exits, also across a daemon restart.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Conflict, InvalidArgument, NotFound } from '../errdefs/index.js';
import { log } from '../lib/log.js';
import type { Digest } from '../lib/digest.js';
import { isMountPoint, mountAll, unmountRecursive } from '../lib/sys/index.js';
import { RecordStore } from '../metadata/index.js';
import type { ImageService } from '../images/index.js';
import type { EndpointSettings, NetworkService, SandboxSetup } from '../network/index.js';
import { buildSpec, composeArgv, readLogs, resizeTerminal, resolveUser, Runtime, RuntimeError, StdinPipe, type LogRecord, type OciMount } from '../runtime/index.js';
import { applyMounts, planMounts, removeAnonymousVolumes, type VolumeService } from '../volumes/index.js';
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
  private sweeper?: NodeJS.Timeout;
  private closing = false;
  private readonly pendingRestarts = new Set<string>();
  /** Restarts whose start is under way: a stop waits for it, then stops what it started. */
  private readonly restartsStarting = new Map<string, Promise<void>>();
  private readonly exits = new Map<string, Promise<void>>();
  private readonly exitResolvers = new Map<string, () => void>();
  /** Readers (attach streams) that must finish with the log before an auto-remove deletes it. */
  private readonly stdins = new Map<string, StdinPipe>();
  private readonly holds = new Map<string, { count: number; idle: Array<() => void> }>();
  // network: set by the daemon; sandboxes (netns, veths, leases, ports) live in network/
  private networks?: NetworkService;

  constructor(
    root: string,
    private readonly images: ImageService,
    readonly runtime: Runtime,
    private readonly emit: (e: ContainerEvent) => void,
    private readonly volumes?: VolumeService,
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

  /** The record by full ID, or undefined once removed. */
  get(id: string): ContainerRecord | undefined {
    return this.records.get(id);
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
      Volumes: mergeVolumes(imageConfig.Volumes, cfg.Volumes), // volumes: the image's VOLUMEs plus `-v /path`
    };
    // volumes: validate -v/--mount/--tmpfs/VOLUME and create the volumes (nothing left on error)
    const mounts = this.volumes ? planMounts(this.volumes, { ...hostConfig, Volumes: config.Volumes }) : [];
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
      mounts,
    };
    try {
      // A user name the image does not know is refused now, leaving no container behind.
      if (config.User && !/^\d*(:\d*)?$/.test(config.User)) {
        const rootfs = await this.mountRootfs(rec);
        try {
          resolveUser(rootfs, config.User);
        } finally {
          unmountRecursive(rootfs);
        }
      }
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

  /** Mounts the container's root at <bundle>/rootfs (idempotent); it stays while running. */
  async mountRootfs(c: ContainerRecord): Promise<string> {
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
      // --init: tini (statically linked, from the host) is PID 1, reaping zombies and passing signals.
      const init = hc.Init ? initBinary() : undefined;
      const mounts = this.writeEtcFiles(c, net);
      if (init) mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: init, options: ['rbind', 'ro', 'rprivate'] });
      const spec = buildSpec({
        id: c.Id, argv: init ? ['/sbin/docker-init', '--', c.Path, ...c.Args] : [c.Path, ...c.Args], env, cwd, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids,
        hostname: c.Config.Hostname!, tty: !!c.Config.Tty, readonlyRootfs: !!hc.ReadonlyRootfs,
        network: net?.network ?? (hc.NetworkMode === 'host' ? { mode: 'host' } : { mode: 'new' }),
        capAdd: hc.CapAdd ?? [], capDrop: hc.CapDrop ?? [], privileged: !!hc.Privileged,
        mounts: [...mounts, ...(this.volumes ? applyMounts(this.volumes, c.mounts, rootfs) : [])], // volumes
        memory: hc.Memory || undefined, memorySwap: hc.MemorySwap || undefined, nanoCpus: hc.NanoCpus || undefined,
        cpuShares: hc.CpuShares || undefined, pidsLimit: hc.PidsLimit ?? undefined, cgroupsPath: `/berth/${c.Id}`,
        noNewPrivileges: (hc.SecurityOpt ?? []).some((o) => /^no-new-privileges(:true|=true)?$/.test(o)),
        seccomp: !(hc.SecurityOpt ?? []).some((o) => /^seccomp[=:]unconfined$/.test(o)),
      });
      writeFileSync(path.join(this.bundle(c.Id), 'config.json'), JSON.stringify(spec));
      rmSync(this.runtime.exitFile(c.Id), { force: true });
      await this.runtime.delete(c.Id); // a leftover from a crash would block create
      const pid = await this.runtime.create({ id: c.Id, name: c.Name.slice(1), bundle: this.bundle(c.Id), logPath: this.logPath(c.Id), tty: !!c.Config.Tty, stdin: !!c.Config.OpenStdin, stdinOnce: !!c.Config.StdinOnce });
      this.expectExit(c.Id);
      // The client's terminal size (API 1.42+ sends it at create): set before the process starts.
      const size = hc['ConsoleSize'] as [number, number] | undefined;
      if (c.Config.Tty && size?.[0] && size[1]) {
        try {
          resizeTerminal(this.bundle(c.Id), size[0], size[1]);
        } catch {
          // the client resizes again once attached
        }
      }
      await this.runtime.start(c.Id);
      c.manuallyStopped = false;
      c.State = { ...c.State, Status: 'running', Running: true, Paused: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString(), FinishedAt: ZERO_TIME, OOMKilled: false };
      this.save(c);
      this.event('start', c);
      // A process that exited before the state said running had its exit event ignored: handle it now.
      if (existsSync(this.runtime.exitFile(c.Id))) void this.onExit(c.Id);
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
      if (c.HostConfig.AutoRemove) await this.remove(c.Id, { force: true, volumes: true }).catch(() => {});
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
    // inotify events can race a start that has not yet recorded the container as running; a slow
    // sweep makes sure no exit is missed for long.
    this.sweeper = setInterval(() => {
      for (const name of readdirSync(this.runtime.config.exitDir)) if (this.records.get(name)?.State.Running) void this.onExit(name);
    }, 2000);
    this.sweeper.unref();
  }

  private readonly handling = new Set<string>();

  private async onExit(id: string): Promise<void> {
    const c = this.records.get(id);
    if (!c || !c.State.Running || this.handling.has(id)) return;
    const code = this.runtime.exitCode(id);
    if (code === undefined) {
      // the file is still being written: look again rather than trust a second event to come
      if (existsSync(this.runtime.exitFile(id))) setTimeout(() => void this.onExit(id), 50);
      return;
    }
    this.handling.add(id);
    try {
      const oom = this.oomKilled(id);
      this.stdins.get(id)?.close();
      this.stdins.delete(id);
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
      if (this.shouldRestart(c, code)) {
        this.scheduleRestart(c.Id);
      } else if (c.HostConfig.AutoRemove) {
        await this.released(id, 10_000);
        await this.remove(id, { force: true, volumes: true }).catch((err) => log.warn('auto-remove failed', { id, error: err }));
      }
    } finally {
      this.handling.delete(id);
    }
  }

  private shouldRestart(c: ContainerRecord, code: number): boolean {
    const latest = this.records.get(c.Id) ?? c;
    if (latest.manuallyStopped || this.closing) return false;
    const p = latest.HostConfig.RestartPolicy;
    switch (p?.Name) {
      case 'always': case 'unless-stopped': return true;
      case 'on-failure': return code !== 0 && (!p.MaximumRetryCount || latest.RestartCount < p.MaximumRetryCount);
      default: return false;
    }
  }

  /** Docker's back-off: 100 ms, doubling per restart, reset after 10 s of running. */
  private scheduleRestart(id: string): void {
    if (this.pendingRestarts.has(id)) return;
    this.pendingRestarts.add(id);
    const c = this.records.get(id)!;
    const ranFor = Date.now() - Date.parse(c.State.StartedAt);
    const delay = ranFor > 10_000 ? 100 : Math.min(100 * 2 ** Math.min(c.RestartCount, 9), 60_000);
    c.State = { ...c.State, Restarting: true, Status: 'restarting' };
    this.save(c);
    const t = setTimeout(() => {
      this.pendingRestarts.delete(id);
      const now = this.records.get(id);
      if (!now || now.manuallyStopped || this.closing) {
        if (now) {
          now.State = { ...now.State, Restarting: false, Status: 'exited' };
          this.save(now);
        }
        return;
      }
      now.RestartCount++;
      now.State = { ...now.State, Restarting: false };
      this.save(now);
      const starting = this.start(id).then(() => this.event('restart', now), (err) => log.warn('restart failed', { id, error: err }));
      this.restartsStarting.set(id, starting);
      void starting.finally(() => this.restartsStarting.delete(id));
    }, delay);
    t.unref();
  }

  /**
   * After berthd starts: restarts that were pending when it went down are scheduled again, and
   * stopped containers start as Docker's daemon starts them: `always` even if a user stopped it,
   * `unless-stopped` unless one did, `on-failure` after a failure within its retry count.
   */
  applyRestartPolicies(): void {
    for (const c of this.all()) {
      if (c.State.Running) continue;
      if (c.State.Restarting && !c.manuallyStopped) {
        this.scheduleRestart(c.Id);
        continue;
      }
      if (c.State.Status !== 'exited' || !restartsWithDaemon(c)) continue;
      c.manuallyStopped = false;
      this.save(c);
      this.scheduleRestart(c.Id);
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
    this.markStopped(c);
    await this.runtime.kill(c.Id, normalizeSignal(signal));
    this.event('kill', c, { signal: normalizeSignal(signal) });
  }

  /** STOPSIGNAL (or SIGTERM), then SIGKILL after the timeout. Returns false if it was not running. */
  async stop(ref: string, timeoutSec?: number, signal?: string): Promise<boolean> {
    await this.restartsStarting.get(this.resolve(ref).Id);
    const c = this.resolve(ref);
    if (!c.State.Running) {
      if (!c.State.Restarting) return false;
      // Between a restart's back-off and its start: stopping cancels the restart, as in Docker.
      this.markStopped(c);
      c.State = { ...c.State, Restarting: false, Status: 'exited' };
      this.save(c);
      this.event('stop', c);
      return true;
    }
    this.markStopped(c);
    const exited = this.exits.get(c.Id) ?? Promise.resolve();
    const t = timeoutSec ?? c.Config.StopTimeout ?? 10;
    await this.runtime.kill(c.Id, normalizeSignal(signal ?? c.Config.StopSignal ?? 'TERM')).catch(() => {});
    if (c.State.Paused) await this.runtime.resume(c.Id).catch(() => {});
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), Math.max(0, t) * 1000))]);
    if (timedOut) {
      await this.runtime.kill(c.Id, 'KILL', true).catch(() => {});
      await exited;
    }
    this.event('stop', this.records.get(c.Id) ?? c);
    return true;
  }

  private markStopped(c: ContainerRecord): void {
    c.manuallyStopped = true;
    this.save(c);
  }

  /** Resolves with the exit code when `condition` holds: not-running (default), next-exit, removed. */
  async wait(ref: string, condition = 'not-running'): Promise<number> {
    const c = this.resolve(ref);
    const id = c.Id;
    const on = (key: string) => new Promise<void>((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
    if (condition === 'next-exit' || c.State.Running) await on(id);
    const exited = this.records.get(id) ?? c;
    if (condition === 'removed' && this.records.has(id)) await on(`removed:${id}`);
    return exited.State.ExitCode;
  }

  /** `volumes`: also remove the container's anonymous volumes (`rm -v`, `--rm`). */
  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
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
    await this.images.releaseDeleted(c.Image as Digest).catch(() => {}); // its image, if rmi -f deleted it
    rmSync(this.bundle(c.Id), { recursive: true, force: true });
    rmSync(this.runtime.exitFile(c.Id), { force: true });
    rmSync(path.join(this.runtime.config.socketDir, c.Id), { force: true });
    if (opts.volumes && this.volumes) removeAnonymousVolumes(this.volumes, c.mounts); // volumes
    this.event('destroy', c);
    for (const w of this.waiters.get(`removed:${c.Id}`) ?? []) w();
    this.waiters.delete(`removed:${c.Id}`);
  }

  /** The container's stdin (through conmon), shared by every attach stream; undefined if closed. */
  stdin(id: string): StdinPipe | undefined {
    const c = this.records.get(id);
    if (!c?.Config.OpenStdin || !c.State.Running) return undefined;
    let pipe = this.stdins.get(id);
    if (!pipe) {
      try {
        pipe = new StdinPipe(path.join(this.runtime.config.socketDir, id));
      } catch (err) {
        // The container exited (and its monitor went) before the client's input could be wired.
        if (['ENOENT', 'ECONNREFUSED'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
        throw err;
      }
      this.stdins.set(id, pipe);
    }
    return pipe;
  }

  /** The client's stdin ended: with StdinOnce the container's stdin closes too. */
  closeStdin(id: string): void {
    const c = this.records.get(id);
    if (!c?.Config.StdinOnce) return;
    const pipe = this.stdins.get(id);
    this.stdins.delete(id);
    // conmon misses a hang-up that arrives in the same wakeup as the last data; let it read first.
    if (pipe) setTimeout(() => pipe.close(), 50).unref();
  }

  resize(ref: string, height: number, width: number): void {
    const c = this.resolve(ref);
    if (!c.State.Running) throw new Conflict(`Container ${c.Id} is not running`);
    if (!c.Config.Tty) return;
    try {
      resizeTerminal(this.bundle(c.Id), height, width);
    } catch (err) {
      // The monitor is gone: the container exited between the check and the resize.
      if (['ENXIO', 'ENOENT'].includes((err as NodeJS.ErrnoException).code ?? '')) throw new Conflict(`Container ${c.Id} is not running`);
      throw err;
    }
  }

  /** Keeps the container's log from being removed until the returned release is called. */
  hold(id: string): () => void {
    const h = this.holds.get(id) ?? { count: 0, idle: [] };
    h.count++;
    this.holds.set(id, h);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--h.count > 0) return;
      this.holds.delete(id);
      for (const fn of h.idle) fn();
    };
  }

  private released(id: string, timeoutMs: number): Promise<void> {
    const h = this.holds.get(id);
    if (!h) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      h.idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  // ---- pause, rename, update, prune -----------------------------------------------------------------

  async pause(ref: string): Promise<void> {
    const c = this.resolve(ref);
    if (!c.State.Running) throw new Conflict(`Container ${c.Id} is not running`);
    if (c.State.Paused) throw new Conflict(`Container ${c.Id} is already paused`);
    await this.runtime.pause(c.Id);
    c.State = { ...c.State, Paused: true, Status: 'paused' };
    this.save(c);
    this.event('pause', c);
  }

  async unpause(ref: string): Promise<void> {
    const c = this.resolve(ref);
    if (!c.State.Paused) throw new Conflict(`Container ${c.Id} is not paused`);
    await this.runtime.resume(c.Id);
    c.State = { ...c.State, Paused: false, Status: 'running' };
    this.save(c);
    this.event('unpause', c);
  }

  rename(ref: string, newName: string): void {
    const c = this.resolve(ref);
    const name = newName.replace(/^\//, '');
    if (!validName(name)) throw new InvalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (`/${name}` === c.Name) throw new InvalidArgument(`Renaming a container with the same name as its current name`);
    const taken = this.all().find((x) => x.Name === `/${name}`);
    if (taken) throw new Conflict(`Conflict. The container name "/${name}" is already in use by container "${taken.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = c.Name;
    c.Name = `/${name}`;
    this.save(c);
    this.event('rename', c, { oldName: old });
  }

  /** `update`: new resource limits (and restart policy), applied to the running cgroup too. */
  async update(ref: string, changes: Partial<HostConfig>): Promise<string[]> {
    const c = this.resolve(ref);
    const keys = ['Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'PidsLimit', 'RestartPolicy', 'MemoryReservation', 'CpusetCpus'] as const;
    const hc = { ...c.HostConfig };
    for (const k of keys) if (changes[k] !== undefined && changes[k] !== null && !(typeof changes[k] === 'number' && changes[k] === 0 && k !== 'PidsLimit')) (hc as Record<string, unknown>)[k] = changes[k];
    if (hc.AutoRemove && hc.RestartPolicy?.Name && hc.RestartPolicy.Name !== 'no') throw new InvalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
    if (c.State.Running) {
      const cg = (ctl: string, file: string, v: number | string) => writeFileSync(`/sys/fs/cgroup/${ctl}/berth/${c.Id}/${file}`, String(v));
      if (changes.Memory) {
        if (changes.MemorySwap) cg('memory', 'memory.memsw.limit_in_bytes', -1);
        cg('memory', 'memory.limit_in_bytes', changes.Memory);
        if (changes.MemorySwap) cg('memory', 'memory.memsw.limit_in_bytes', changes.MemorySwap);
      }
      if (changes.NanoCpus) {
        cg('cpu', 'cpu.cfs_period_us', 100000);
        cg('cpu', 'cpu.cfs_quota_us', Math.round(changes.NanoCpus / 1e4));
      }
      if (changes.CpuShares) cg('cpu', 'cpu.shares', changes.CpuShares);
      if (changes.PidsLimit !== undefined && changes.PidsLimit !== null) cg('pids', 'pids.max', changes.PidsLimit > 0 ? changes.PidsLimit : 'max');
    }
    c.HostConfig = hc;
    this.save(c);
    this.event('update', c);
    return [];
  }

  /** Removes stopped containers matching `keep`; returns their IDs. */
  async prune(keep: (c: ContainerRecord) => boolean): Promise<string[]> {
    const gone: string[] = [];
    for (const c of this.all()) {
      if (c.State.Running || !keep(c)) continue;
      await this.remove(c.Id).catch(() => {});
      gone.push(c.Id);
    }
    return gone;
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
    this.closing = true;
    this.watcher?.close();
    clearInterval(this.sweeper);
  }
}

function restartsWithDaemon(c: ContainerRecord): boolean {
  const p = c.HostConfig.RestartPolicy;
  switch (p?.Name) {
    case 'always': return true;
    case 'unless-stopped': return !c.manuallyStopped;
    case 'on-failure': return !c.manuallyStopped && c.State.ExitCode !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
    default: return false;
  }
}

function initBinary(): string {
  for (const p of ['/usr/bin/tini-static', '/usr/bin/docker-init', '/usr/libexec/docker/docker-init']) if (existsSync(p)) return p;
  throw new InvalidArgument('--init needs a static init binary on the host: install the tini package (tini-static)');
}

function mergeVolumes(...sets: Array<Record<string, object> | null | undefined>): Record<string, object> | null {
  const out = Object.assign({}, ...sets.map((s) => s ?? {})) as Record<string, object>;
  return Object.keys(out).length ? out : null;
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

