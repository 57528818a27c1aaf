// The build engine, with the classic builder's visible behaviour: each instruction is a step that
// makes an image (config-only steps make no layer), RUN runs in a real container, each step is
// cached on its parent image + substituted instruction (+ source hashes), a miss says why, and
// only the stages the target needs are built.
import { mkdirSync, readdirSync, rmSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Cancelled, InvalidArgument, NotFound } from '../errdefs/index.js';
import { familiarString, parseNamedReference, withDefaultTag, type ImageService, type LayerRecord } from '../images/index.js';
import { hostPlatform, type HealthConfig, type ImageConfig, type ImageRunConfig } from '../lib/oci.js';
import { shortId, type Digest } from '../lib/digest.js';
import type { LogRecord } from '../runtime/index.js';
import {
  expandWord, parse, parseInstructions, type ArgInstruction, type CommandLine, type CopyInstruction, type Dockerfile,
  type FromInstruction, type Instruction, type Lookup, type RunInstruction, type Stage,
} from './dockerfile/index.js';
import { BuildCache, type CacheProbe } from './cache.js';
import { copyIntoRoot, hashSources, isArchive, parseChmod, resolveChown, resolveSources, stageFile, type CopySource } from './copy.js';
import { StepLayers } from './layers.js';
import { resolveInRoot } from '../lib/archive/index.js';
import { lgetxattr, unmountRecursive } from '../lib/sys/index.js';
import { applyDockerignore, unpackContext } from './context.js';
import { StageStreams } from './stage-output.js';
import { ContextStore } from './context-store.js';
import { Readable } from 'node:stream';

/** The container operations RUN needs (ContainerService's public methods). */
export interface BuildContainers {
  create(req: { config: Record<string, unknown>; hostConfig?: Record<string, unknown> }): Promise<{ Id: string }>;
  start(id: string): Promise<void>;
  wait(id: string): Promise<number>;
  logs(id: string, opts: { follow?: boolean; signal?: AbortSignal }): AsyncGenerator<LogRecord>;
  remove(id: string, opts: { force?: boolean }): Promise<void>;
  kill(id: string, signal?: string): Promise<void>;
  resolve(id: string): { snapshotKey: string };
}

export interface BuildRequest {
  dockerfile: string;
  contextDir: string;
  tags?: string[];
  buildArgs?: Record<string, string | null>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  labels?: Record<string, string>;
  /** Remove intermediate containers after a successful step (default true). */
  rm?: boolean;
  /** Remove them even after a failure. */
  forceRm?: boolean;
  networkMode?: string;
  signal?: AbortSignal;
  /** The sha256 of a context file by host path, when already known (saves reading it again). */
  contextDigest?: (host: string) => string | undefined;
}

export interface BuildOutput {
  stream(text: string): void;
  aux(value: unknown): void;
}

export interface BuilderOptions {
  images: ImageService;
  containers: BuildContainers;
  /** The builder's own directory (cache records, scratch mounts). */
  root: string;
  /** Fetches an image that is not present locally, if the daemon can. */
  pull?: (ref: string, out: BuildOutput) => Promise<void>;
  /** Downloads for ADD <url>. */
  fetch?: typeof fetch;
}

/** A failed step; `code` is the RUN's exit code when there is one. */
export class BuildError extends InvalidArgument {
  constructor(message: string, readonly exitCode?: number) {
    super(message);
  }
}

const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHELL = ['/bin/sh', '-c'];

interface StageState {
  imageID?: Digest;
  config: ImageConfig;
  /** Declared ARGs in scope, in declaration order, with their values. */
  args: Map<string, string | undefined>;
  /** CMD was set in this stage (an ENTRYPOINT after a base image's CMD resets it otherwise). */
  cmdSet: boolean;
  /** What belongs to this stage's run alone, since independent stages are built at once. */
  run: StageRun;
}

interface StageRun {
  /** The stage's index in the Dockerfile: only earlier stages can be its base or COPY source. */
  index: number;
  out: BuildOutput;
  /** The number of the step being run. */
  step: number;
  /** False after a miss: every later step of the stage is rebuilt. */
  cacheValid: boolean;
  /** The current instruction as written, for cache-miss explanations. */
  display: string;
}

function runConfigOf(c: ImageConfig): ImageRunConfig {
  return (c.config ??= {});
}

function lookupIn(env: string[], args: Map<string, string | undefined>, extra?: Record<string, string>): Lookup {
  const m = new Map<string, string>();
  for (const [k, v] of args) if (v !== undefined) m.set(k, v);
  if (extra) for (const [k, v] of Object.entries(extra)) if (!m.has(k)) m.set(k, v);
  // ENV always wins over ARG of the same name.
  for (const e of env) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return (n) => m.get(n);
}

/** Replaces KEY in place (Docker keeps the order), or appends it. */
function setEnv(env: string[], key: string, value: string): string[] {
  const at = env.findIndex((e) => e.split('=')[0] === key);
  if (at < 0) return [...env, `${key}=${value}`];
  const copy = [...env];
  copy[at] = `${key}=${value}`;
  return copy;
}

/** Go's %q of a string slice, as Docker's history shows CMD and ENTRYPOINT. */
function goQuoted(a: string[]): string {
  return '[' + a.map((s) => JSON.stringify(s)).join(' ') + ']';
}

export class Builder {
  private readonly cache: BuildCache;
  private readonly layers: StepLayers;
  private readonly tmp: string;
  private readonly contexts: ContextStore;

  constructor(private readonly o: BuilderOptions) {
    mkdirSync(o.root, { recursive: true });
    this.tmp = path.join(o.root, 'tmp');
    // Scratch mounts a crash left behind must go before their directories do.
    unmountRecursive(this.tmp);
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
    this.cache = new BuildCache(o.root, (id) => o.images.records.images.has(id));
    this.layers = new StepLayers(o.images, this.tmp);
    this.contexts = new ContextStore(path.join(o.root, 'contexts'));
  }

  async build(req: BuildRequest, out: BuildOutput): Promise<Digest> {
    return new BuildRun(this.o, this.cache, this.layers, this.tmp, req, out).execute();
  }

  /** `docker builder prune`: the cache records go; the images they pointed at are ordinary images. */
  pruneCache(): { CachesDeleted: string[]; SpaceReclaimed: number } {
    this.contexts.clear();
    return { CachesDeleted: this.cache.clear(), SpaceReclaimed: 0 };
  }

  /**
   * A build from what a client sends: a context tar (any compression) or a bare Dockerfile as
   * `body`, or a `remote` URL of either. The context is unpacked privately and removed after.
   */
  async buildFromContext(body: Readable, opts: Omit<BuildRequest, 'dockerfile' | 'contextDir'> & { dockerfileName?: string; remote?: string }, out: BuildOutput): Promise<Digest> {
    // The context is unpacked over one an earlier build left, writing only what changed.
    const lease = this.contexts.acquire();
    let intact = false;
    try {
      let source: Readable = body;
      if (opts.remote) {
        if (!/^https?:\/\//i.test(opts.remote)) throw new InvalidArgument(`unable to prepare context: remote context ${opts.remote} is not supported (only http(s) URLs of a tarball or Dockerfile)`);
        out.stream(`Downloading build context from remote url: ${opts.remote}\n`);
        const res = await (this.o.fetch ?? fetch)(opts.remote).catch((err: Error) => {
          throw new InvalidArgument(`unable to prepare context: Get "${opts.remote}": ${(err.cause as Error | undefined)?.message ?? err.message}`);
        });
        if (!res.ok || !res.body) throw new InvalidArgument(`unable to prepare context: failed to GET ${opts.remote} with status ${res.status} ${res.statusText}`);
        source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
      }
      const ctx = await unpackContext(source, lease.dir, opts.dockerfileName || 'Dockerfile', (tar) => this.contexts.unpack(lease, tar));
      lease.forget(applyDockerignore(ctx.dir, [ctx.dockerfileName, '.dockerignore']));
      intact = true;
      return await this.build({ ...opts, dockerfile: ctx.dockerfile, contextDir: ctx.dir, contextDigest: lease.digestOf }, out);
    } finally {
      lease.release(intact);
    }
  }
}

class BuildRun {
  private readonly df: Dockerfile;
  private readonly buildArgs: Record<string, string>;
  private readonly consumed = new Set<string>();
  private readonly metaArgs = new Map<string, string | undefined>();
  private readonly stageResults = new Map<number, StageState>();
  private readonly epoch?: number;
  private total = 0;
  private readonly staging: string;
  /** Aborted by the client going away, or by a stage failing while others still run. */
  private readonly abort = new AbortController();

  constructor(
    private readonly o: BuilderOptions,
    private readonly cache: BuildCache,
    private readonly layers: StepLayers,
    tmp: string,
    private readonly req: BuildRequest,
    private readonly out: BuildOutput,
  ) {
    this.df = parse(req.dockerfile);
    this.buildArgs = {};
    for (const [k, v] of Object.entries(req.buildArgs ?? {})) if (v !== null && v !== undefined) this.buildArgs[k] = v;
    const e = this.buildArgs['SOURCE_DATE_EPOCH'];
    if (e !== undefined) {
      if (!/^\d+$/.test(e)) throw new InvalidArgument(`invalid SOURCE_DATE_EPOCH: ${e}`);
      this.epoch = Number(e);
      this.consumed.add('SOURCE_DATE_EPOCH');
    }
    this.staging = path.join(tmp, `stage-${randomBytes(6).toString('hex')}`);
    for (const t of req.tags ?? []) familiarTag(t); // a bad name fails before any work, as in Docker
  }

  private say(text: string): void {
    this.out.stream(text);
  }

  private get signal(): AbortSignal {
    return this.abort.signal;
  }

  private checkCancelled(): void {
    if (this.signal.aborted) throw new Cancelled('build cancelled');
  }

  private now(): string {
    return this.epoch !== undefined ? new Date(this.epoch * 1000).toISOString().replace('.000Z', 'Z') : new Date().toISOString();
  }

  async execute(): Promise<Digest> {
    const onAbort = () => this.abort.abort();
    if (this.req.signal?.aborted) onAbort();
    this.req.signal?.addEventListener('abort', onAbort);
    try {
      return await this.runStages();
    } finally {
      this.req.signal?.removeEventListener('abort', onAbort);
      rmSync(this.staging, { recursive: true, force: true });
    }
  }

  private stageIndex(ref: string): number | undefined {
    const lower = ref.toLowerCase();
    const byName = this.df.stages.findIndex((s) => s.from.name === lower);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(ref)) {
      const i = Number(ref);
      if (i < this.df.stages.length) return i;
    }
    return undefined;
  }

  /** The stages each stage needs first: its base and its COPY --from sources. */
  private stageDeps(i: number): number[] {
    const metaLookup: Lookup = (n) => this.metaArgs.get(n);
    const s = this.df.stages[i]!;
    const deps: number[] = [];
    const base = this.stageIndex(expandWord(s.from.image, metaLookup, this.df.escape));
    if (base !== undefined && base < i) deps.push(base);
    for (const ins of s.instructions) {
      if (ins.kind === 'copy' && ins.from) {
        const dep = this.stageIndex(expandWord(ins.from, metaLookup, this.df.escape));
        if (dep !== undefined && dep < i) deps.push(dep);
      }
    }
    return deps;
  }

  /** The stages the target needs, in file order. */
  private neededStages(target: number): number[] {
    const need = new Set<number>();
    const visit = (i: number): void => {
      if (need.has(i)) return;
      need.add(i);
      for (const dep of this.stageDeps(i)) visit(dep);
    };
    visit(target);
    return [...need].sort((a, b) => a - b);
  }

  private async runStages(): Promise<Digest> {
    // ARGs before the first FROM: usable in FROM lines, and re-declarable in stages.
    for (const a of this.df.metaArgs) {
      for (const { key, value } of a.args) {
        const v = key in this.buildArgs ? this.buildArgs[key] : value === undefined ? undefined : expandWord(value, (n) => this.metaArgs.get(n), this.df.escape);
        this.metaArgs.set(key, v);
        if (key in this.buildArgs) this.consumed.add(key);
      }
    }
    let target = this.df.stages.length - 1;
    if (this.req.target) {
      const t = this.df.stages.findIndex((s) => s.from.name === this.req.target!.toLowerCase());
      if (t < 0) throw new InvalidArgument(`failed to reach build target ${this.req.target} in Dockerfile`);
      target = t;
    }
    const labels = Object.entries(this.req.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const needed = this.neededStages(target);
    this.total = this.df.metaArgs.length + needed.reduce((n, i) => n + 1 + this.df.stages[i]!.instructions.length, 0) + (labels.length ? 1 : 0);
    let step = 0;
    for (const a of this.df.metaArgs) this.say(`Step ${++step}/${this.total} : ${a.original}\n`);

    // Every stage starts as soon as the stages it needs are built, so independent stages run at
    // the same time; their output is shown in file order.
    const streams = new StageStreams(this.out, needed.length);
    const running = new Map<number, Promise<StageState>>();
    let failure: { error: unknown } | undefined;
    for (const [position, i] of needed.entries()) {
      const stage = this.df.stages[i]!;
      const extra: Instruction[] = [];
      if (i === target && labels.length) {
        extra.push({ kind: 'label', line: 0, original: 'LABEL ' + labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' '), pairs: labels.map(([k, v]) => ({ key: JSON.stringify(k), value: JSON.stringify(v) })) });
      }
      const run: StageRun = { index: i, out: streams.sink(position), step, cacheValid: !this.req.noCache, display: '' };
      step += 1 + stage.instructions.length + extra.length;
      const deps = this.stageDeps(i).map((dep) => running.get(dep)!);
      running.set(i, (async () => {
        await Promise.all(deps);
        const state = await this.runStage(stage, extra, run);
        this.stageResults.set(i, state);
        streams.finish(position);
        return state;
      })().catch((error: unknown) => {
        // The first failure is the build's; the stages still running are stopped.
        failure ??= { error };
        this.abort.abort();
        throw error;
      }));
    }
    await Promise.allSettled(running.values());
    if (failure) {
      streams.flushAll();
      throw failure.error;
    }
    const state = (await running.get(target))!;
    const id = state.imageID ?? (await this.commit(state, '', undefined, true));
    const unused = Object.keys(this.buildArgs).filter((k) => !this.consumed.has(k) && !PROXY_ARGS.has(k));
    if (unused.length) this.say(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    this.out.aux({ ID: id });
    this.say(`Successfully built ${shortId(id)}\n`);
    for (const t of this.req.tags ?? []) {
      this.o.images.tag(id, t);
      this.say(`Successfully tagged ${familiarTag(t)}\n`);
    }
    return id;
  }

  private async runStage(stage: Stage, extra: Instruction[], run: StageRun): Promise<StageState> {
    const say = (text: string) => run.out.stream(text);
    this.checkCancelled();
    say(`Step ${++run.step}/${this.total} : ${stage.from.original}\n`);
    const state = await this.from(stage.from, run);
    say(` ---> ${state.imageID ? shortId(state.imageID) : ''}\n`);
    const triggers = runConfigOf(state.config).OnBuild ?? [];
    if (triggers.length) {
      say(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      runConfigOf(state.config).OnBuild = null;
      for (const t of triggers) {
        for (const ins of parseInstructions(t, this.df.escape)) {
          run.display = ins.original;
          await this.dispatch(state, ins, true);
        }
      }
    }
    for (const ins of [...stage.instructions, ...extra]) {
      this.checkCancelled();
      say(`Step ${++run.step}/${this.total} : ${ins.original}\n`);
      run.display = ins.original;
      await this.dispatch(state, ins, false);
    }
    return state;
  }

  private async from(f: FromInstruction, run: StageRun): Promise<StageState> {
    const name = expandWord(f.image, (n) => this.metaArgs.get(n), this.df.escape);
    const platform = hostPlatform();
    const stageRef = this.stageIndex(name);
    // A later stage's name is an image name here, as in Docker, even if that stage is done.
    if (stageRef !== undefined && stageRef < run.index && this.stageResults.has(stageRef)) {
      const prev = this.stageResults.get(stageRef)!;
      return { imageID: prev.imageID, config: structuredClone(prev.config), args: new Map(), cmdSet: false, run };
    }
    if (name.toLowerCase() === 'scratch') {
      return { config: { architecture: platform.architecture, os: platform.os, config: { Env: [DEFAULT_PATH] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] }, args: new Map(), cmdSet: false, run };
    }
    let img;
    try {
      img = this.o.images.resolve(name);
    } catch (err) {
      if (!this.o.pull) throw new NotFound(`pull access denied for ${name.replace(/:.*$/, '')}, repository does not exist or may require 'docker login': ${(err as Error).message}`);
      await this.o.pull(name, run.out);
      img = this.o.images.resolve(name);
    }
    // --pull insists, as Docker does: a base that cannot be pulled fails the build.
    if (this.req.pull && this.o.pull) {
      await this.o.pull(name, run.out);
      img = this.o.images.resolve(name);
    }
    const config = structuredClone(await this.o.images.records.config(img.id));
    const rc = runConfigOf(config);
    if (!(rc.Env ?? []).some((e) => e.startsWith('PATH='))) rc.Env = [...(rc.Env ?? []), DEFAULT_PATH];
    return { imageID: img.id, config, args: new Map(), cmdSet: false, run };
  }

  // ---- steps -------------------------------------------------------------------------------------

  private lookup(state: StageState): Lookup {
    return lookupIn(runConfigOf(state.config).Env ?? [], state.args);
  }

  private x(state: StageState, word: string): string {
    return expandWord(word, this.lookup(state), this.df.escape);
  }

  /** Build args with values, for RUN's environment and history prefix. */
  private runArgs(state: StageState): { declared: Array<[string, string]>; env: string[] } {
    const declared: Array<[string, string]> = [];
    for (const [k, v] of state.args) if (v !== undefined) declared.push([k, v]);
    const env = declared.map(([k, v]) => `${k}=${v}`);
    for (const [k, v] of Object.entries(this.buildArgs)) if (PROXY_ARGS.has(k) && !state.args.has(k)) env.push(`${k}=${v}`);
    return { declared, env };
  }

  private async dispatch(state: StageState, ins: Instruction, trigger: boolean): Promise<void> {
    const rc = runConfigOf(state.config);
    switch (ins.kind) {
      case 'env': {
        const lookup = this.lookup(state);
        let env = rc.Env ?? [];
        const parts: string[] = [];
        for (const p of ins.pairs) {
          const key = expandWord(p.key, lookup, this.df.escape);
          const value = expandWord(p.value, lookup, this.df.escape);
          env = setEnv(env, key, value);
          parts.push(`${key}=${value}`);
        }
        return this.configStep(state, `ENV ${parts.join(' ')}`, () => (rc.Env = env));
      }
      case 'label': {
        const lookup = this.lookup(state);
        const labels = { ...(rc.Labels ?? {}) };
        const parts: string[] = [];
        for (const p of ins.pairs) {
          const k = expandWord(p.key, lookup, this.df.escape);
          const v = expandWord(p.value, lookup, this.df.escape);
          labels[k] = v;
          parts.push(`${k}=${v}`);
        }
        return this.configStep(state, `LABEL ${parts.join(' ')}`, () => (rc.Labels = labels));
      }
      case 'maintainer':
        return this.configStep(state, `MAINTAINER ${ins.word}`, () => (state.config.author = ins.word));
      case 'arg':
        return this.arg(state, ins);
      case 'cmd': {
        const cmd = this.commandArgs(state, ins.command);
        state.cmdSet = true;
        return this.configStep(state, `CMD ${goQuoted(cmd)}`, () => (rc.Cmd = cmd));
      }
      case 'entrypoint': {
        const ep = this.commandArgs(state, ins.command);
        return this.configStep(state, `ENTRYPOINT ${goQuoted(ep)}`, () => {
          rc.Entrypoint = ep;
          if (!state.cmdSet) rc.Cmd = null; // a base image's CMD does not survive a new ENTRYPOINT
        });
      }
      case 'expose': {
        const ports = { ...(rc.ExposedPorts ?? {}) };
        for (const w of ins.words) for (const p of expandPorts(this.x(state, w))) ports[p] = {};
        return this.configStep(state, `EXPOSE ${Object.keys(ports).sort().join(' ')}`, () => (rc.ExposedPorts = ports));
      }
      case 'volume': {
        const vols = { ...(rc.Volumes ?? {}) };
        const added: string[] = [];
        for (const w of ins.words) {
          const v = this.x(state, w);
          if (!v.trim()) throw new BuildError('VOLUME specified can not be an empty string');
          vols[v] = {};
          added.push(v);
        }
        return this.configStep(state, `VOLUME [${added.join(' ')}]`, () => (rc.Volumes = vols));
      }
      case 'user': {
        const u = this.x(state, ins.word);
        return this.configStep(state, `USER ${u}`, () => (rc.User = u));
      }
      case 'stopsignal': {
        const s = this.x(state, ins.word);
        if (!/^(SIG)?[A-Z0-9+-]+$/i.test(s)) throw new BuildError(`Invalid signal: ${s}`);
        return this.configStep(state, `STOPSIGNAL ${s}`, () => (rc.StopSignal = s));
      }
      case 'shell':
        return this.configStep(state, `SHELL [${ins.shell.join(' ')}]`, () => (rc.Shell = ins.shell));
      case 'onbuild': {
        const m = /^(\S+)([\s\S]*)$/.exec(ins.expression)!;
        const trig = m[1]!.toUpperCase() + m[2]!;
        return this.configStep(state, `ONBUILD ${trig}`, () => (rc.OnBuild = [...(rc.OnBuild ?? []), trig]));
      }
      case 'healthcheck': {
        let hc: HealthConfig;
        if (ins.none) hc = { Test: ['NONE'] };
        else {
          const c = ins.command!;
          hc = { Test: c.json ? ['CMD', ...c.args] : ['CMD-SHELL', c.text] };
          if (ins.interval !== undefined) hc.Interval = ins.interval;
          if (ins.timeout !== undefined) hc.Timeout = ins.timeout;
          if (ins.startPeriod !== undefined) hc.StartPeriod = ins.startPeriod;
          if (ins.startInterval !== undefined) hc.StartInterval = ins.startInterval;
          if (ins.retries !== undefined) hc.Retries = ins.retries;
        }
        return this.configStep(state, `HEALTHCHECK ${JSON.stringify(hc)}`, () => (rc.Healthcheck = hc));
      }
      case 'workdir':
        return this.workdir(state, ins.word);
      case 'copy':
      case 'add':
        return this.copy(state, ins);
      case 'run':
        return this.runStep(state, ins);
      case 'from':
        throw new BuildError(trigger ? "FROM isn't allowed as an ONBUILD trigger" : 'FROM is not allowed here');
    }
  }

  private commandArgs(state: StageState, c: CommandLine): string[] {
    return c.json ? c.args : [...(runConfigOf(state.config).Shell ?? DEFAULT_SHELL), c.text];
  }

  private arg(state: StageState, ins: ArgInstruction): Promise<void> {
    const parts: string[] = [];
    for (const { key, value } of ins.args) {
      let v: string | undefined;
      if (key in this.buildArgs) {
        v = this.buildArgs[key];
        this.consumed.add(key);
      } else if (value !== undefined) v = this.x(state, value);
      else if (this.metaArgs.has(key)) v = this.metaArgs.get(key);
      state.args.set(key, v);
      parts.push(value === undefined ? key : `${key}=${value}`);
    }
    return this.configStep(state, `ARG ${parts.join(' ')}`, () => {});
  }

  // ---- committing and the cache -------------------------------------------------------------------

  private async commit(state: StageState, createdBy: string, layer: LayerRecord | undefined, empty: boolean): Promise<Digest> {
    const created = this.now();
    const c = state.config;
    c.created = created;
    c.rootfs = { type: 'layers', diff_ids: layer ? [...c.rootfs.diff_ids, layer.diffID] : [...c.rootfs.diff_ids] };
    if (createdBy) c.history = [...(c.history ?? []), { created, created_by: createdBy, ...(empty ? { empty_layer: true } : {}) }];
    // Drop the fields the classic builder's parent images carried that no longer describe this one.
    delete c.container;
    delete c.container_config;
    delete c.parent;
    const ordered: ImageConfig = {
      architecture: c.architecture, ...(c.author ? { author: c.author } : {}), config: c.config ?? {}, created: c.created, history: c.history ?? [],
      os: c.os, ...(c.variant ? { variant: c.variant } : {}), rootfs: c.rootfs,
    };
    const id = await this.o.images.createImage(ordered, { parent: state.imageID });
    state.imageID = id;
    return id;
  }

  /** Probes the cache; on a hit the state moves to the cached image. */
  private async probe(state: StageState, p: CacheProbe): Promise<boolean> {
    const run = state.run;
    if (!run.cacheValid) return false;
    const hit = this.cache.lookup(p);
    if (hit) {
      state.imageID = hit;
      state.config = structuredClone(await this.o.images.records.config(hit));
      run.out.stream(` ---> Using cache\n ---> ${shortId(hit)}\n`);
      return true;
    }
    const why = this.cache.explain(p);
    if (why) run.out.stream(` ---> Cache miss: ${run.display}: ${why}\n`);
    // A miss makes a new image: every later step of the stage is rebuilt.
    run.cacheValid = false;
    return false;
  }

  private record(state: StageState, p: CacheProbe, id: Digest): void {
    this.cache.store(p, id);
    state.run.out.stream(` ---> ${shortId(id)}\n`);
  }

  private nop(state: StageState, text: string): string {
    return `${(runConfigOf(state.config).Shell ?? DEFAULT_SHELL).join(' ')} #(nop)  ${text}`;
  }

  private async configStep(state: StageState, text: string, apply: () => void): Promise<void> {
    const createdBy = this.nop(state, text);
    const p: CacheProbe = { parent: state.imageID ?? 'scratch', instruction: createdBy };
    if (await this.probe(state, p)) return;
    apply();
    this.record(state, p, await this.commit(state, createdBy, undefined, true));
  }

  private async layerStep(state: StageState, p: CacheProbe, createdBy: string, apply: () => void, change: (rootfs: string) => Promise<void>): Promise<void> {
    if (await this.probe(state, p)) return;
    apply();
    const layer = await this.layers.mutate(this.topChain(state), change, this.epoch);
    this.record(state, p, await this.commit(state, createdBy, layer, !layer));
  }

  private topChain(state: StageState): Digest | undefined {
    return state.imageID ? this.o.images.topChainID(state.imageID) : undefined;
  }

  private async workdir(state: StageState, word: string): Promise<void> {
    const rc = runConfigOf(state.config);
    let dir = this.x(state, word);
    if (!dir.startsWith('/')) dir = path.posix.join(rc.WorkingDir || '/', dir);
    dir = path.posix.normalize(dir);
    const createdBy = this.nop(state, `WORKDIR ${dir}`);
    await this.layerStep(state, { parent: state.imageID ?? 'scratch', instruction: createdBy }, createdBy, () => (rc.WorkingDir = dir), async (rootfs) => {
      mkdirSync(resolveInRoot(rootfs, dir.slice(1), true), { recursive: true, mode: 0o755 });
    });
  }

  private async copy(state: StageState, ins: CopyInstruction): Promise<void> {
    const kind = ins.kind;
    const rc = runConfigOf(state.config);
    const lookup = this.lookup(state);
    const ex = (w: string) => expandWord(w, lookup, this.df.escape);
    let dest = ex(ins.dest);
    const endsSlash = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
    if (!dest.startsWith('/')) dest = path.posix.join(rc.WorkingDir || '/', dest) + (endsSlash ? '/' : '');
    const chmod = ins.chmod !== undefined ? parseChmod(ex(ins.chmod)) : undefined;
    const chownSpec = ins.chown !== undefined ? ex(ins.chown) : undefined;

    // Gather sources: heredocs, URLs (ADD), another stage or image (--from), or the context.
    const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
    const local: string[] = [];
    const staged: CopySource[] = [];
    for (const raw of ins.sources) {
      const m = /^<<-?["']?([A-Za-z0-9_.-]+)["']?$/.exec(raw);
      const h = m ? heredocs.get(m[1]!) : undefined;
      if (h) {
        staged.push(stageFile(this.staging, h.name, h.expand ? expandHeredoc(h.content, lookup, this.df.escape) : h.content, 0o644));
        continue;
      }
      const src = ex(raw);
      if (kind === 'add' && /^https?:\/\//i.test(src)) {
        staged.push(await this.download(src, dest, ins.checksum ? ex(ins.checksum) : undefined));
        continue;
      }
      local.push(src);
    }
    let fromLabel = '';
    const gather = async (root: string, inContext: boolean): Promise<void> => {
      const resolved = local.length ? resolveSources(root, local, kind, inContext) : [];
      // ADD extracts local archives, wildcard matches included; downloads and heredocs never.
      if (kind === 'add') for (const s of resolved) if (!s.isDir && isArchive(s.host)) s.archive = true;
      const sources = [...staged, ...resolved];
      const files = hashSources(sources, inContext ? this.req.contextDigest : undefined);
      const summary = `${sources.length === 1 && !sources[0]!.isDir ? 'file' : sources.length === 1 ? 'dir' : 'multi'}:${hashOf(files)}`;
      const flags = `${fromLabel}${chownSpec ? `--chown=${chownSpec} ` : ''}${chmod !== undefined ? `--chmod=${chmod.toString(8)} ` : ''}`;
      const createdBy = this.nop(state, `${kind.toUpperCase()} ${flags}${summary} in ${dest} `);
      // The key text leaves the hash out, so that a miss can name the files that changed.
      const p: CacheProbe = { parent: state.imageID ?? 'scratch', instruction: this.nop(state, `${kind.toUpperCase()} ${flags}${ins.sources.map(ex).join(' ')} ${dest}`), files };
      if (await this.probe(state, p)) return;
      const layer = await this.layers.mutate(this.topChain(state), async (rootfs) => {
        const owner = chownSpec ? resolveChown(rootfs, chownSpec) : { uid: 0, gid: 0 };
        await copyIntoRoot(rootfs, sources, dest, { kind, owner, mode: chmod });
      }, this.epoch);
      this.record(state, p, await this.commit(state, createdBy, layer, !layer));
    };
    if (ins.from) {
      const ref = ex(ins.from);
      const idx = this.stageIndex(ref);
      let top: Digest | undefined;
      if (idx !== undefined && idx >= state.run.index) {
        throw new BuildError(`invalid from flag value ${ref}: stage not built yet`);
      }
      if (idx !== undefined) {
        const st = this.stageResults.get(idx);
        if (!st) throw new BuildError(`invalid from flag value ${ref}: stage not built yet`);
        top = st.imageID ? this.o.images.topChainID(st.imageID) : undefined;
        fromLabel = `--from=${ref} `;
      } else {
        let img;
        try {
          img = this.o.images.resolve(ref);
        } catch {
          throw new BuildError(`invalid from flag value ${ref}: No such image: ${ref}`);
        }
        top = this.o.images.topChainID(img.id);
        fromLabel = `--from=${shortId(img.id)} `;
      }
      await this.layers.view(top, (root) => gather(root, false));
    } else {
      await gather(this.req.contextDir, true);
    }
  }

  private async download(url: string, dest: string, checksum?: string): Promise<CopySource> {
    const f = this.o.fetch ?? fetch;
    const res = await f(url).catch((err: Error) => {
      throw new BuildError(`ADD failed: Get "${url}": ${(err.cause as Error | undefined)?.message ?? err.message}`);
    });
    if (!res.ok) throw new BuildError(`ADD failed: failed to GET ${url} with status ${res.status} ${res.statusText}: `);
    const data = Buffer.from(await res.arrayBuffer());
    if (checksum) {
      const m = /^sha256:([0-9a-f]{64})$/.exec(checksum);
      if (!m) throw new BuildError(`ADD failed: unsupported digest algorithm or invalid checksum ${checksum}`);
      const got = createHash('sha256').update(data).digest('hex');
      if (got !== m[1]) throw new BuildError(`ADD failed: digest mismatch ${checksum}: sha256:${got}`);
    }
    const lm = res.headers.get('last-modified');
    const mtime = lm ? new Date(lm) : undefined;
    let name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
    if (!name && !dest.endsWith('/')) name = path.posix.basename(dest);
    if (!name) throw new BuildError(`ADD failed: cannot determine filename from url: ${url}`);
    return { ...stageFile(this.staging, name, data, 0o600, mtime && !Number.isNaN(mtime.getTime()) ? mtime : undefined), rel: url, name };
  }

  private async runStep(state: StageState, ins: RunInstruction): Promise<void> {
    const rc = runConfigOf(state.config);
    const shell = rc.Shell ?? DEFAULT_SHELL;
    let argv: string[];
    if (ins.command.json) argv = ins.command.args;
    else if (ins.heredocs.length) {
      const onlyHeredoc = /^(<<-?["']?[A-Za-z0-9_.-]+["']?\s*)+$/.test(ins.command.text);
      const script = ins.heredocs.map((h) => h.content).join('');
      if (onlyHeredoc && script.startsWith('#!')) argv = [...shell, shebangRunner(script)];
      else if (onlyHeredoc) argv = [...shell, script];
      else argv = [...shell, ins.command.text + '\n' + ins.heredocs.map((h) => h.content + h.name + '\n').join('')];
    } else argv = [...shell, ins.command.text];
    const { declared, env: argEnv } = this.runArgs(state);
    const prefix = declared.length ? `|${declared.length} ${declared.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
    const createdBy = prefix + argv.join(' ');
    const p: CacheProbe = { parent: state.imageID ?? 'scratch', instruction: createdBy, args: Object.fromEntries(declared) };
    if (await this.probe(state, p)) return;
    if (!state.imageID) await this.commit(state, '', undefined, true); // a container needs an image
    const env = [...(rc.Env ?? [])];
    for (const e of argEnv) if (!env.some((x) => x.split('=')[0] === e.split('=')[0])) env.push(e);
    const c = this.o.containers;
    const { Id } = await c.create({
      config: { Image: state.imageID, Cmd: argv, Entrypoint: [], Env: env, WorkingDir: rc.WorkingDir ?? '', User: rc.User ?? '', Labels: {}, AttachStdout: true, AttachStderr: true },
      hostConfig: { NetworkMode: this.req.networkMode || 'default' },
    });
    const say = (text: string) => state.run.out.stream(text);
    say(` ---> Running in ${shortId(Id)}\n`);
    let code: number;
    let started = false;
    const onAbort = () => {
      if (started) void c.kill(Id, 'KILL').catch(() => {});
    };
    this.signal.addEventListener('abort', onAbort);
    try {
      await c.start(Id);
      started = true;
      // Cancelled while starting: the kill could not reach it then.
      if (this.signal.aborted) await c.kill(Id, 'KILL').catch(() => {});
      for await (const rec of c.logs(Id, { follow: true })) say(rec.data.toString('utf8'));
      code = await c.wait(Id);
    } catch (err) {
      if (this.req.rm !== false || this.req.forceRm) await c.remove(Id, { force: true }).catch(() => {});
      throw err;
    } finally {
      this.signal.removeEventListener('abort', onAbort);
    }
    if (this.signal.aborted) {
      await c.remove(Id, { force: true }).catch(() => {});
      throw new Cancelled('build cancelled');
    }
    if (code !== 0) {
      if (this.req.forceRm) await c.remove(Id, { force: true }).catch(() => {});
      throw new BuildError(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    try {
      const upper = await this.o.images.snapshotter.upperDir(c.resolve(Id).snapshotKey);
      await this.dropMountTargets(upper, state);
      const layer = await this.layers.fromUpper(upper, this.topChain(state), this.epoch);
      const id = await this.commit(state, createdBy, layer, !layer);
      if (this.req.rm !== false) {
        await c.remove(Id, { force: true });
        say(` ---> Removed intermediate container ${shortId(Id)}\n`);
      }
      this.record(state, p, id);
    } catch (err) {
      if (this.req.forceRm) await c.remove(Id, { force: true }).catch(() => {});
      throw err;
    }
  }

  /**
   * The runtime creates mount points (/etc/hosts, /proc, ...) in the container's upper dir when
   * the image lacks them; they are not the command's work and stay out of the layer, as Docker's
   * init layer keeps them out of its diffs.
   */
  private async dropMountTargets(upper: string, state: StageState): Promise<void> {
    const top = this.topChain(state);
    const lowers = top ? [await this.o.images.snapshotter.upperDir(top), ...(await this.o.images.snapshotter.lowerDirsOf(top))] : [];
    const inImage = (rel: string) => lowers.some((l) => lstatSync(path.join(l, rel), { throwIfNoEntry: false }));
    for (const rel of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'proc', 'sys', 'dev']) {
      const host = path.join(upper, rel);
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (!st || inImage(rel)) continue;
      if (st.isFile() && st.size === 0) rmSync(host);
      else if (st.isDirectory() && readdirSync(host).length === 0) rmSync(host, { recursive: true });
    }
    // /etc copied up only to hold those mount points is not a change either.
    const etc = path.join(upper, 'etc');
    const est = lstatSync(etc, { throwIfNoEntry: false });
    if (est?.isDirectory() && readdirSync(etc).length === 0 && inImage('etc') && !isOpaque(etc)) rmSync(etc, { recursive: true });
  }
}

/**
 * A heredoc script with a shebang runs under its interpreter. It is written to /dev/shm (a tmpfs,
 * so it never lands in the layer) and handed to the interpreter, since /dev/shm is noexec.
 */
function shebangRunner(script: string): string {
  const interpreter = script.slice(2, script.indexOf('\n') < 0 ? undefined : script.indexOf('\n')).trim();
  let end = 'BERTH_HEREDOC_END';
  while (script.includes(end)) end += '_';
  const file = '/dev/shm/.berth-heredoc';
  return `cat > ${file} <<'${end}'\n${script}${script.endsWith('\n') ? '' : '\n'}${end}\n${interpreter} ${file}; rc=$?; rm -f ${file}; exit $rc`;
}

function isOpaque(dir: string): boolean {
  return lgetxattr(dir, 'trusted.overlay.opaque')?.toString() === 'y';
}

function expandHeredoc(content: string, lookup: Lookup, escape: string): string {
  // Variables are substituted; quotes in the text are kept (it is a file, not a word).
  return content.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:]?[-+?][^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*/g, (m) => expandWord(m, lookup, escape));
}

function hashOf(files: Record<string, string>): string {
  return createHash('sha256').update(Object.keys(files).sort().map((k) => `${k}\0${files[k]}`).join('\n')).digest('hex');
}

/** EXPOSE's forms: 80, 80/udp, 8000-8002/tcp. */
function expandPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new BuildError(`invalid containerPort: ${spec}`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

/** A -t value as Docker prints it after "Successfully tagged"; throws on an invalid reference. */
function familiarTag(t: string): string {
  const ref = withDefaultTag(parseNamedReference(t));
  if (ref.digest) throw new InvalidArgument(`invalid reference format: ${t}: a tag cannot carry a digest`);
  return familiarString(ref);
}

