// Extra processes in a running container (`exec`): `runc exec` with the container's own process
// settings (capabilities, rlimits, environment) and the exec's overrides. Without a TTY the
// process gets pipes; with one, berthd opens a pty and gives the process its slave end, since
// Node cannot receive runc's console fd.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { Conflict, NotFound } from '../errdefs/index.js';
import { openPty, setWinsize } from '../lib/sys/index.js';
import { grantableCapabilities, resolveUser } from '../runtime/index.js';
import type { ContainerService } from './service.js';

export interface ExecConfig {
  Cmd: string[];
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  Privileged?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  ConsoleSize?: [number, number] | null;
}

export interface ExecRecord {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  config: ExecConfig;
  started: boolean;
}

export interface ExecIO {
  stdin?: NodeJS.ReadableStream;
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null, runcErr: string): number {
  if (/executable file not found|no such file or directory/.test(runcErr)) return 127;
  if (/permission denied|exec format error/.test(runcErr)) return 126;
  if (code !== null) return code;
  return 128 + (signal ? (osConstants.signals[signal] ?? 9) : 9);
}

export class ExecManager {
  private readonly execs = new Map<string, ExecRecord>();
  private readonly ptys = new Map<string, number>();

  constructor(
    private readonly containers: ContainerService,
    private readonly emit: (action: string, containerId: string, attributes: Record<string, string>) => void = () => {},
  ) {}

  private event(action: string, e: ExecRecord, extra: Record<string, string> = {}): void {
    const c = this.containers.get(e.ContainerID);
    const cmd = e.config.Cmd.join(' ');
    this.emit(action === 'exec_die' ? action : `${action}: ${cmd}`, e.ContainerID, { execID: e.ID, image: c?.Config.Image ?? '', name: c?.Name.slice(1) ?? '', ...extra });
  }

  create(ref: string, config: ExecConfig): string {
    const c = this.containers.resolve(ref);
    if (!c.State.Running) throw new Conflict(`container ${c.Id} is not running`);
    if (c.State.Paused) throw new Conflict(`Container ${c.Id} is paused, unpause the container before exec`);
    if (!config.Cmd?.length) throw new Conflict('No exec command specified');
    const id = randomBytes(32).toString('hex');
    const rec: ExecRecord = { ID: id, ContainerID: c.Id, Running: false, ExitCode: null, Pid: 0, config, started: false };
    this.execs.set(id, rec);
    this.event('exec_create', rec);
    return id;
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw new NotFound(`No such exec instance: ${id}`);
    return e;
  }

  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.ContainerID === containerId && e.Running).map((e) => e.ID);
  }

  /** Forgets the execs of a removed container. */
  forget(containerId: string): void {
    for (const [id, e] of this.execs) if (e.ContainerID === containerId) this.execs.delete(id);
  }

  inspect(id: string) {
    const e = this.get(id);
    const c = e.config;
    return {
      ID: e.ID, Running: e.Running, ExitCode: e.ExitCode, ProcessConfig: {
        tty: !!c.Tty, entrypoint: c.Cmd[0], arguments: c.Cmd.slice(1), privileged: !!c.Privileged, user: c.User ?? '',
      },
      OpenStdin: !!c.AttachStdin, OpenStderr: !!c.AttachStderr, OpenStdout: !!c.AttachStdout, CanRemove: false,
      ContainerID: e.ContainerID, DetachKeys: c.DetachKeys ?? '', Pid: e.Pid,
    };
  }

  resize(id: string, height: number, width: number): void {
    const e = this.get(id);
    const fd = this.ptys.get(e.ID);
    if (fd === undefined || height <= 0 || width <= 0) return;
    // runc copies its own terminal's size to the container's pty on SIGWINCH.
    setWinsize(fd, height, width);
    if (e.Pid) process.kill(e.Pid, 'SIGWINCH');
  }

  /** The runc process spec: the container's process with this exec's command and overrides. */
  private processSpec(e: ExecRecord): Record<string, unknown> {
    const bundle = this.containers.bundle(e.ContainerID);
    const spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    const c = this.containers.resolve(e.ContainerID);
    const proc = { ...spec.process };
    const userSpec = e.config.User || c.Config.User;
    if (userSpec) {
      const u = resolveUser(path.join(bundle, 'rootfs'), userSpec);
      proc['user'] = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
    }
    const env = [...(proc['env'] as string[])];
    for (const kv of e.config.Env ?? []) {
      const k = kv.split('=')[0];
      const i = env.findIndex((x) => x.split('=')[0] === k);
      if (i >= 0) env[i] = kv;
      else env.push(kv);
    }
    proc['env'] = env;
    proc['args'] = e.config.Cmd;
    proc['terminal'] = !!e.config.Tty;
    // runc sizes the new terminal itself before the process runs; without this the process could
    // read a 0x0 size before runc's first resize from its own stdio (stty size failing at random).
    const size = e.config.ConsoleSize;
    if (e.config.Tty && size && size[0] > 0 && size[1] > 0) proc['consoleSize'] = { height: size[0], width: size[1] };
    else delete proc['consoleSize'];
    if (e.config.WorkingDir) proc['cwd'] = e.config.WorkingDir;
    if (e.config.Privileged) {
      const all = grantableCapabilities();
      proc['capabilities'] = { bounding: all, effective: all, permitted: all, inheritable: all, ambient: all };
    }
    return proc;
  }

  /** Runs the exec to its end; resolves with its exit code. */
  async start(id: string, io: ExecIO): Promise<number> {
    const e = this.get(id);
    if (e.started) throw new Conflict(`Error: Exec command ${id} has already run`);
    const c = this.containers.resolve(e.ContainerID);
    if (!c.State.Running) throw new Conflict(`container ${c.Id} is not running`);
    e.started = true;
    this.event('exec_start', e);
    const procFile = path.join(this.containers.bundle(c.Id), `exec-${id}.json`);
    writeFileSync(procFile, JSON.stringify(this.processSpec(e)));
    const rt = this.containers.runtime.config;
    const args = ['--root', rt.runcRoot, 'exec', '--process', procFile, c.Id];
    let runcErr = '';
    try {
      if (e.config.Tty) return await this.runWithPty(e, ['--root', rt.runcRoot, 'exec', '--tty', '--process', procFile, c.Id], io);
      const child = spawn(rt.runc, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      e.Running = true;
      e.Pid = child.pid ?? 0;
      child.stdout.on('data', (d: Buffer) => io.stdout(d));
      child.stderr.on('data', (d: Buffer) => {
        runcErr += d.toString('latin1').slice(0, 4096);
        // runc's own failure (before the process ran) reads as Docker prints it.
        const m = /^time="[^"]*" level=error msg="(.*)"\s*$/.exec(d.toString('utf8'));
        io.stderr(m ? Buffer.from(`OCI runtime exec failed: ${m[1]!.replace(/\\"/g, '"')}: unknown\n`) : d);
      });
      if (io.stdin) {
        io.stdin.pipe(child.stdin);
        child.stdin.on('error', () => {});
      } else {
        child.stdin.end();
      }
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (cd, sg) => resolve([cd, sg])));
      io.stdin?.unpipe(child.stdin);
      return this.finish(e, exitCodeOf(code, signal, runcErr.includes('runc') || runcErr.includes('exec failed') ? runcErr : ''));
    } finally {
      rmSync(procFile, { force: true });
    }
  }

  private finish(e: ExecRecord, code: number): number {
    e.Running = false;
    e.ExitCode = code;
    e.Pid = 0;
    this.event('exec_die', e, { exitCode: String(code) });
    return code;
  }

  private async runWithPty(e: ExecRecord, args: string[], io: ExecIO): Promise<number> {
    const { master, slave } = openPty();
    const size = e.config.ConsoleSize;
    if (size && size[0] > 0 && size[1] > 0) setWinsize(master, size[0], size[1]);
    const slaveFd = openSync(slave, constants.O_RDWR | constants.O_NOCTTY);
    this.ptys.set(e.ID, master);
    const child = spawn(this.containers.runtime.config.runc, args, { stdio: [slaveFd, slaveFd, slaveFd] });
    closeSync(slaveFd);
    e.Running = true;
    e.Pid = child.pid ?? 0;
    const reader = new tty.ReadStream(master);
    let output = '';
    reader.on('data', (d: Buffer) => {
      if (output.length < 4096) output += d.toString('latin1');
      io.stdout(d);
    });
    reader.on('error', () => {}); // EIO once the last slave fd closes
    const onInput = (d: Buffer) => {
      try {
        const buf = Buffer.from(d);
        for (let off = 0; off < buf.length;) off += writeSync(master, buf.subarray(off));
      } catch {
        // the process is gone
      }
    };
    io.stdin?.on('data', onInput);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (cd, sg) => resolve([cd, sg])));
    // Let the last output drain from the pty before closing it.
    await new Promise((r) => setTimeout(r, 30));
    io.stdin?.off('data', onInput);
    this.ptys.delete(e.ID);
    reader.destroy();
    return this.finish(e, exitCodeOf(code, signal, /exec failed/.test(output) ? output : ''));
  }
}
