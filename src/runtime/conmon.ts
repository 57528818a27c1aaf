// Containers run under conmon (Podman's monitor): it holds the container's stdio, writes its log in
// k8s-file format and its exit code to the exit directory, and outlives berthd, so a kill -9 of the
// daemon leaves running containers running. runc does the work; conmon watches it.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Conflict, FailedPrecondition, InvalidArgument, NotFound } from '../errdefs/index.js';

const execFileP = promisify(execFile);

export interface RuntimeConfig {
  runc: string;
  conmon: string;
  /** runc's state root. */
  runcRoot: string;
  /** conmon writes `<exitDir>/<id>` with the exit code. */
  exitDir: string;
  /** Attach sockets; the path must stay short (unix socket path limit). */
  socketDir: string;
}

export interface CreateOptions {
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  tty: boolean;
  stdin: boolean;
  /** Closing the attach socket closes the container's stdin (docker run -i without -d). */
  stdinOnce?: boolean;
}

/** An OCI runtime failure with runc's message; the exit code Docker gives such a container. */
export class RuntimeError extends InvalidArgument {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

function exitCodeForStartError(message: string): number {
  if (/executable file not found|no such file or directory/.test(message)) return 127;
  if (/permission denied|is a directory|exec format error/.test(message)) return 126;
  return 128;
}

export class Runtime {
  constructor(readonly config: RuntimeConfig) {
    for (const d of [config.runcRoot, config.exitDir, config.socketDir]) mkdirSync(d, { recursive: true });
  }

  private async runc(args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileP(this.config.runc, ['--root', this.config.runcRoot, ...args], { maxBuffer: 16 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      const msg = (e.stderr || e.message).trim().split('\n').pop()!.replace(/^time="[^"]*" level=\w+ msg="?/, '').replace(/"$/, '');
      if (/does not exist|not found/.test(msg)) throw new NotFound(msg);
      if (/not running|paused|is stopped|not paused/.test(msg)) throw new Conflict(msg);
      throw new FailedPrecondition(msg);
    }
  }

  /** Starts conmon, which runs `runc create`; resolves with the container's PID 1 on the host. */
  create(opts: CreateOptions): Promise<number> {
    const args = [
      '--api-version', '1', '-c', opts.id, '-u', opts.id, '-n', opts.name, '-r', this.config.runc, '-b', opts.bundle,
      '-p', path.join(opts.bundle, 'pidfile'), '-P', path.join(opts.bundle, 'conmon.pid'),
      '-l', `k8s-file:${opts.logPath}`, '--exit-dir', this.config.exitDir, '--socket-dir-path', this.config.socketDir,
      '--runtime-arg', '--root', '--runtime-arg', this.config.runcRoot, '--log-level', 'error',
    ];
    if (opts.tty) args.push('-t');
    if (opts.stdin) args.push('-i');
    if (opts.stdin && !opts.stdinOnce) args.push('--leave-stdin-open');
    const child = spawn(this.config.conmon, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3' },
      detached: true,
    });
    child.unref();
    return new Promise((resolve, reject) => {
      let buf = '';
      let stderr = '';
      let settled = false;
      const done = (fn: () => void) => {
        if (settled) return;
        settled = true;
        (child.stdio[3] as NodeJS.ReadableStream).removeAllListeners('data');
        (child.stdio[3] as import('node:net').Socket).destroy();
        child.stderr!.destroy();
        fn();
      };
      child.stderr!.on('data', (d) => (stderr += d));
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
        buf += d.toString();
        for (const line of buf.split('\n').slice(0, -1)) {
          let msg: { data?: number; pid?: number; message?: string };
          try {
            msg = JSON.parse(line);
          } catch {
            continue;
          }
          const pid = msg.data ?? msg.pid ?? -1;
          if (pid > 0) done(() => resolve(pid));
          else done(() => reject(new RuntimeError(cleanRuncMessage(msg.message ?? stderr), exitCodeForStartError(msg.message ?? stderr))));
        }
      });
      (child.stdio[3] as NodeJS.ReadableStream).on('end', () => done(() => reject(new RuntimeError(cleanRuncMessage(stderr || 'conmon exited without reporting a PID'), 128))));
      child.on('error', (err) => done(() => reject(err)));
    });
  }

  async start(id: string): Promise<void> {
    await this.runc(['start', id]);
  }

  async kill(id: string, signal: string | number = 'TERM', all = false): Promise<void> {
    await this.runc(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  async pause(id: string): Promise<void> {
    await this.runc(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.runc(['resume', id]);
  }

  async delete(id: string): Promise<void> {
    // No state directory, nothing for runc to delete: skip its process (a fresh container's
    // pre-create cleanup and the second delete after an exit each cost a runc start, ~10 ms).
    if (!existsSync(path.join(this.config.runcRoot, id))) return;
    try {
      await this.runc(['delete', '--force', id]);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      return JSON.parse(await this.runc(['state', id]));
    } catch (err) {
      if (err instanceof NotFound) return undefined;
      throw err;
    }
  }

  async ps(id: string): Promise<number[]> {
    return JSON.parse(await this.runc(['ps', '--format', 'json', id])) as number[];
  }

  exitFile(id: string): string {
    return path.join(this.config.exitDir, id);
  }

  /** The exit code conmon recorded, once the container has exited. */
  exitCode(id: string): number | undefined {
    const f = this.exitFile(id);
    if (!existsSync(f)) return undefined;
    const text = readFileSync(f, 'utf8').trim();
    return text === '' ? undefined : Number(text);
  }

  conmonPid(bundle: string): number | undefined {
    try {
      return Number(readFileSync(path.join(bundle, 'conmon.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }
}

/** runc's error text without its log framing: what `docker run` prints after the OCI prefix. */
export function cleanRuncMessage(s: string): string {
  const line = s.trim().split('\n').filter(Boolean).pop() ?? s;
  return line.replace(/^.*?msg="/, '').replace(/"$/, '').replace(/\\"/g, '"').trim();
}
