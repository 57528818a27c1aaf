// The composition root: builds every implementation on the data root, recovers what a crash
// left, wires the API's backends, and serves.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { LocalContentStore } from '../content/index.js';
import { OverlaySnapshotter } from '../snapshots/index.js';
import { checkSchema } from '../metadata/index.js';
import { ImageService, loadImages, saveImages, selectForSave, familiarString, parseReference } from '../images/index.js';
import { ContainerFiles, ContainerService, ExecManager } from '../containers/index.js';
import { Runtime } from '../runtime/index.js';
import { NetworkService } from '../network/index.js';
import { networkRoutes, type NetworksBackend } from '../api/routes/networks.js';
import { containerRoutes, summary, type ContainersBackend } from '../api/routes/containers.js';
import { execRoutes } from '../api/routes/exec.js';
import { ApiServer, type Route } from '../api/server.js';
import { systemRoutes, type SystemBackend } from '../api/routes/system.js';
import { imageRoutes, type ImagesBackend } from '../api/routes/images.js';
import { buildRoutes } from '../api/routes/build.js';
import { Builder } from '../builder/index.js';
import { volumeRoutes } from '../api/routes/volumes.js';
import { VolumeService } from '../volumes/index.js';
import { registryRoutes } from '../api/routes/registry.js';
import { RegistryBackend } from './registry.js';
import { InvalidArgument, Unavailable } from '../errdefs/index.js';
import { log } from '../lib/log.js';
import { BERTH_VERSION } from '../lib/version.js';
import { which } from '../lib/which.js';
import type { DaemonConfig } from './config.js';
import { EventBus } from './events.js';
import { DataRootLock } from './lock.js';
import { checkFree, listen, parseHost } from './listen.js';

export class Daemon {
  readonly events = new EventBus();
  readonly content: LocalContentStore;
  readonly snapshotter: OverlaySnapshotter;
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly execs: ExecManager;
  readonly builder: Builder;
  readonly volumes: VolumeService;
  /** Pull, push, login, search; `registry.pullIfMissing` is for container create/run. */
  readonly registry: RegistryBackend;
  readonly networks: NetworkService;
  private servers: http.Server[] = [];
  private api?: ApiServer;
  private readonly id: string;

  private constructor(readonly config: DaemonConfig, private readonly lock: DataRootLock) {
    const root = config.dataRoot;
    checkSchema(root);
    this.content = new LocalContentStore(path.join(root, 'content'));
    this.snapshotter = new OverlaySnapshotter(path.join(root, 'snapshots'));
    this.images = new ImageService({
      root: path.join(root, 'images'),
      content: this.content,
      snapshotter: this.snapshotter,
      // Untag names the image ID, not the tag, as dockerd's events do.
      onEvent: (e) => this.imageEvent(e.Action, e.id, e.Action === 'untag' ? undefined : e.name),
    });
    const runtime = new Runtime({
      runc: which('runc') ?? '/usr/sbin/runc', conmon: which('conmon') ?? '/usr/bin/conmon', runcRoot: path.join(config.execRoot, 'runc'),
      exitDir: path.join(config.execRoot, 'exits'), socketDir: path.join(config.execRoot, 's'),
    });
    this.volumes = new VolumeService(root, (action, name, attrs) => this.events.publish('volume', action, name, attrs));
    this.containers = new ContainerService(root, this.images, runtime, (e) => {
      if (e.action === 'destroy') this.execs.forget(e.id); // exec records go with their container
      this.events.publish('container', e.action, e.id, e.attributes);
    }, this.volumes);
    this.volumes.setUsedBy((name) => this.containers.all().filter((c) => c.mounts?.some((m) => m.Type === 'volume' && m.Name === name)).map((c) => c.Id));
    this.images.setUsedBy((id) => this.containers.usersOf(id));
    this.execs = new ExecManager(this.containers, (action, id, attrs) => this.events.publish('container', action, id, attrs));
    this.registry = new RegistryBackend(this.images, config.insecureRegistries ?? [], (action, id, name) => this.events.publish('image', action, id, { name }), config.blockedRegistries ?? []);
    // FROM pulls what is missing (and everything with --pull), printing the pull's status lines.
    const pull = async (ref: string, out: { stream(text: string): void }) => {
      await this.registry.pull(ref, undefined, {}, (m) => {
        if (m.status && !m.progressDetail) out.stream(`${m.id ? `${m.id}: ` : ''}${m.status}\n`);
      });
    };
    this.builder = new Builder({ images: this.images, containers: this.containers, root: path.join(root, 'builder'), pull });
    this.networks = new NetworkService({ root, bip: config.bip, bridgeName: config.bridge });
    this.containers.setNetworks(this.networks);
    this.networks.setContainers({ resolve: (ref) => {
      const c = this.containers.resolve(ref);
      return { Id: c.Id, Name: c.Name, running: c.State.Running };
    } });
    this.id = this.engineId();
  }

  static async start(config: DaemonConfig): Promise<Daemon> {
    mkdirSync(config.dataRoot, { recursive: true, mode: 0o710 });
    mkdirSync(config.execRoot, { recursive: true, mode: 0o700 });
    const lock = DataRootLock.acquire(config.dataRoot);
    try {
      const listeners = config.hosts.map(parseHost);
      for (const l of listeners) await checkFree(l);
      const d = new Daemon(config, lock);
      await d.images.recover();
      await d.networks.restore();
      d.containers.watchExits();
      await d.containers.recover();
      d.containers.applyRestartPolicies();
      rmSync(path.join(config.dataRoot, 'tmp'), { recursive: true, force: true });
      await d.serve();
      writeFileSync(config.pidfile, `${process.pid}\n`);
      return d;
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** An image event as dockerd logs it: the image's labels (while it exists) and a name, the ID by default. */
  private imageEvent(action: string, id: string, name?: string): void {
    const labels = this.images.records.images.get(id as never)?.labels ?? {};
    this.events.publish('image', action, id, { ...labels, name: name ?? id });
  }

  private engineId(): string {
    const file = path.join(this.config.dataRoot, 'engine-id');
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      const id = crypto.randomUUID();
      writeFileSync(file, id);
      return id;
    }
  }

  private routes(): Route[] {
    return [
      ...systemRoutes(this.systemBackend()),
      ...registryRoutes(this.registry),
      ...imageRoutes(this.imagesBackend()),
      ...containerRoutes(this.containersBackend()),
      ...execRoutes(this.execs),
      ...buildRoutes({ build: (body, o, out) => this.builder.buildFromContext(body, o, out), prune: () => this.builder.pruneCache() }),
      ...volumeRoutes(this.volumes),
      ...networkRoutes(this.networksBackend()),
    ];
  }

  private async serve(): Promise<void> {
    const api = new ApiServer(this.routes(), { version: BERTH_VERSION });
    this.api = api;
    for (const h of this.config.hosts) {
      const l = parseHost(h);
      // Each listener gets its own http.Server sharing one handler.
      const server = this.servers.length === 0 ? api.http : http.createServer(api.http.listeners('request')[0] as http.RequestListener);
      if (server !== api.http) for (const fn of api.http.listeners('upgrade')) server.on('upgrade', fn as (...a: unknown[]) => void);
      await listen(server, l);
      this.servers.push(server);
      log.info('API listen on ' + (l.kind === 'unix' ? l.path : `${l.host}:${l.port}`));
    }
  }

  private containersBackend(): ContainersBackend {
    const b = Object.create(this.containers) as ContainersBackend;
    b.execIDs = (id: string) => this.execs.idsOf(id);
    b.files = new ContainerFiles(this.containers, this.images);
    b.imageName = (id: string) => {
      const ref = this.images.records.refsOf(id as never).find((r) => !r.includes('@'));
      return ref ? familiarString(parseReference(ref)) : id.slice(7, 19);
    };
    // As dockerd: once the name was re-tagged to another image or the image was deleted, the ID.
    b.listedImage = (c) => {
      const name = c.Config.Image;
      if (!name) return b.imageName(c.Image);
      try {
        if (this.images.resolve(name).id === c.Image) return name;
      } catch {
        // the name no longer resolves
      }
      return c.Image;
    };
    b.networkSettings = (id: string) => this.networks.settings(id);
    b.portSummary = (id: string) => this.networks.portSummary(id);
    // `ps -s` / `inspect --size`: the writable layer's bytes, and those plus the image's.
    b.sizes = async (c) => {
      const rw = (await this.images.snapshotter.usage(c.snapshotKey).catch(() => ({ size: 0 }))).size;
      const image = (await this.images.inspect(c.Image).catch(() => ({ Size: 0 }))).Size;
      return { SizeRw: rw, SizeRootFs: rw + image };
    };
    return b;
  }

  private networksBackend(): NetworksBackend {
    const n = this.networks;
    return {
      list: (f) => n.list(f), resolve: (r) => n.resolve(r), view: (x) => n.view(x), create: (req) => n.create(req), remove: (r) => n.remove(r),
      prune: (f) => {
        const deleted = n.prune(f);
        for (const name of deleted) this.events.publish('network', 'destroy', name, { name });
        return deleted;
      },
      connect: (net, c, ec) => n.connect(net, c, ec), disconnect: (net, c) => n.disconnect(net, c),
      event: (action, id, attrs) => this.events.publish('network', action, id, attrs),
    };
  }

  private systemBackend(): SystemBackend {
    const kernel = os.release();
    return {
      version: () => ({
        Version: BERTH_VERSION, GitCommit: 'berth', GoVersion: `node${process.versions.node}`, Os: 'linux',
        Arch: process.arch === 'x64' ? 'amd64' : process.arch, KernelVersion: kernel, BuildTime: '',
      }),
      info: async () => {
        const images = this.images.records.images.size;
        const all = this.containers.all();
        const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
        const paused = all.filter((c) => c.State.Paused).length;
        return {
          ID: this.id, Containers: all.length, ContainersRunning: running, ContainersPaused: paused, ContainersStopped: all.length - running - paused, Images: images,
          Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
          Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file', 'k8s-file'] },
          MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
          IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIp6tables: true, Debug: this.config.logLevel === 'debug',
          NFd: 0, OomKillDisable: false, NGoroutines: 0, SystemTime: new Date().toISOString(), LoggingDriver: 'json-file',
          CgroupDriver: 'cgroupfs', CgroupVersion: '1', NEventsListener: 0, KernelVersion: kernel,
          OperatingSystem: osName(), OSVersion: '', OSType: 'linux', Architecture: os.machine(),
          IndexServerAddress: 'https://index.docker.io/v1/', RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
          NCPU: os.cpus().length, MemTotal: os.totalmem(), GenericResources: null, DockerRootDir: this.config.dataRoot,
          HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: os.hostname(), Labels: [], ExperimentalBuild: false,
          ServerVersion: BERTH_VERSION, Runtimes: { runc: { path: 'runc' } }, DefaultRuntime: 'runc',
          Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
          LiveRestoreEnabled: true, Isolation: '', InitBinary: '', ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' },
          SecurityOptions: ['name=seccomp,profile=builtin'], Warnings: null,
        };
      },
      diskUsage: async () => {
        const images = this.images.list({ all: true, sharedSize: true, containers: true }).map((i) => ({ ...i, Containers: Math.max(0, i.Containers) }));
        // Each container with the size of its writable layer (SizeRw) and of everything it sees.
        const backend = this.containersBackend();
        const containers = await Promise.all(this.containers.all().map(async (c) => {
          const rw = await this.snapshotter.usage(c.snapshotKey).then((u) => u.size, () => 0);
          const imageSize = images.find((i) => i.Id === c.Image)?.Size ?? 0;
          return { ...summary(c, backend.listedImage(c), backend), SizeRw: rw, SizeRootFs: rw + imageSize };
        }));
        return { LayersSize: this.images.usageTotal(), Images: images, Containers: containers, Volumes: this.volumes.list({}, true), BuildCache: [] };
      },
      subscribe: (fn, since) => this.events.subscribe(fn, since),
    };
  }

  private imagesBackend(): ImagesBackend {
    const images = this.images;
    const tmp = path.join(this.config.dataRoot, 'tmp');
    return {
      list: (o) => images.list(o),
      inspect: (n) => images.inspect(n),
      history: (n) => images.history(n),
      tag: (s, t) => images.tag(s, t),
      remove: (n, o) => images.remove(n, o),
      importFrom: async (source, opts, progress) => {
        let stream: Readable;
        let label = '-';
        if (source instanceof URL) {
          label = source.toString();
          progress(`Downloading from ${label}`);
          const res = await fetch(source).catch((err) => {
            throw new Unavailable(`Get "${label}": ${err.cause?.message ?? err.message}`);
          });
          if (!res.ok || !res.body) throw new InvalidArgument(`Get "${label}": unexpected status ${res.status}`);
          stream = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
        } else {
          stream = source;
        }
        const id = await images.importImage(stream, { ...opts, source: label });
        return id;
      },
      save: (names) => {
        if (!names.length) throw new InvalidArgument('no images specified');
        const selected = selectForSave(images, names);
        for (const s of selected) this.imageEvent('save', s.id);
        return saveImages(images, selected);
      },
      load: async (body) => {
        const lines = await loadImages(images, body, tmp);
        // One load event per image, by ID (its tags got tag events).
        const loaded = new Set<string>();
        for (const l of lines) {
          if (!l.startsWith('Loaded image')) continue;
          try {
            loaded.add(images.resolve(l.replace(/^Loaded image( ID)?: /, '')).id);
          } catch {
            // removed meanwhile
          }
        }
        for (const id of loaded) this.imageEvent('load', id);
        return lines;
      },
      pull: (name, tag, opts, progress) => this.registry.pull(name, tag, opts, progress),
      prune: async (o) => {
        const report = await images.prune({ filters: o.filters, all: o.filters?.['dangling']?.[0] === 'false' });
        this.events.publish('image', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
        return report;
      },
    };
  }

  async stop(): Promise<void> {
    this.containers.close();
    this.api?.closeHijacked();
    this.volumes.unmountAll();
    this.networks.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections?.();
    })));
    for (const h of this.config.hosts) {
      const l = parseHost(h);
      if (l.kind === 'unix') rmSync(l.path, { force: true });
    }
    rmSync(this.config.pidfile, { force: true });
    this.lock.release();
  }
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1]!;
  } catch {
    // fall through
  }
  return 'Linux';
}
