// Attaching the local terminal to a container's (or exec's) streams over a hijacked connection:
// raw mode and resize with a TTY, stdout/stderr demultiplexing without one, stdin copied in and
// half-closed at its end, and the detach keys (Ctrl-P Ctrl-Q) that leave the container running.
import { spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { StreamDemuxer, type EngineClient } from '../../client/index.js';
import type { Context } from '../command.js';

/** `ctrl-p,ctrl-q` -> bytes [16, 17]; `a`..`z` letters and `ctrl-@`..`ctrl-_` as docker's term.ToBytes. */
export function detachKeyBytes(spec: string): number[] {
  const out: number[] = [];
  for (const k of spec.split(',')) {
    const key = k.trim().toLowerCase();
    if (key.length > 5 && key.startsWith('ctrl-')) {
      const c = key.slice(5);
      if (c.length !== 1) throw new Error(`Unknown character: '${key}'`);
      const code = c === '@' ? 0 : c === '[' ? 27 : c === '\\' ? 28 : c === ']' ? 29 : c === '^' ? 30 : c === '_' ? 31 : c.charCodeAt(0) - 96;
      if (code < 0 || code > 31) throw new Error(`Unknown character: '${key}'`);
      out.push(code);
    } else if (key.length === 1) out.push(key.charCodeAt(0));
    else throw new Error(`Unknown character: '${key}'`);
  }
  return out;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys?: string;
}

export interface Attached {
  /** Resolves when the output ends; `detached` when the user typed the detach keys. */
  done: Promise<{ detached: boolean }>;
  socket: Socket;
}

/** Hooks an already-hijacked socket to the context's streams. */
export function pumpStreams(ctx: Context, socket: Socket, head: Buffer, opts: AttachOptions): Attached {
  const demux = opts.tty ? undefined : new StreamDemuxer(ctx.stdout, ctx.stderr);
  let detached = false;
  const onOutput = (chunk: Buffer) => {
    if (!opts.stdout && !opts.stderr) return;
    if (demux) demux.push(chunk);
    else ctx.stdout.write(chunk);
  };
  if (head.length) onOutput(head);
  socket.on('data', onOutput);
  const stdin = ctx.stdin as NodeJS.ReadStream;
  let cleanupStdin = () => {};
  if (opts.stdin) {
    const keys = detachKeyBytes(opts.detachKeys || 'ctrl-p,ctrl-q');
    let matched = 0;
    // The detach sequence is only watched for on a TTY, as docker does.
    const onData = (chunk: Buffer) => {
      if (opts.tty) {
        for (const b of chunk) {
          if (b === keys[matched]) {
            matched++;
            if (matched === keys.length) {
              detached = true;
              socket.destroy();
              return;
            }
          } else matched = 0;
        }
      }
      socket.write(chunk);
    };
    const onEnd = () => socket.end();
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
    cleanupStdin = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    };
  }
  const done = new Promise<{ detached: boolean }>((resolve) => {
    const finish = () => {
      cleanupStdin();
      resolve({ detached });
    };
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
  });
  return { done, socket };
}

/** Puts the local terminal in raw mode while attached with a TTY; returns the undo. */
export function rawTerminal(ctx: Context, tty: boolean): () => void {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  if (!tty || !stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => {};
  stdin.setRawMode(true);
  // libuv's raw mode keeps output processing (\n -> \r\n), so the container's own \r\n would
  // reach the screen as \r\r\n; the docker CLI's raw mode turns it off as cfmakeraw does.
  // Leaving raw mode restores the terminal's original settings, output processing included.
  spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  return () => stdin.setRawMode(false);
}

/** Sends the terminal size now and on every SIGWINCH (POST {path}/resize); returns the undo. */
export function followTerminalSize(ctx: Context, client: EngineClient, resizePath: string): () => void {
  const out = ctx.stdout as NodeJS.WriteStream;
  if (!out.isTTY) return () => {};
  const send = () => {
    const [w, h] = [out.columns, out.rows];
    if (w && h) client.request('POST', resizePath, { query: { h, w } }).then((r) => r.resume(), () => {});
  };
  send();
  process.on('SIGWINCH', send);
  return () => process.off('SIGWINCH', send);
}

/** Attaches to a container (before or after its start). */
export async function attachContainer(ctx: Context, client: EngineClient, id: string, opts: AttachOptions): Promise<Attached> {
  const { socket, head } = await client.hijack('POST', `/containers/${encodeURIComponent(id)}/attach`, {
    query: { stream: true, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, detachKeys: opts.detachKeys },
  });
  return pumpStreams(ctx, socket, head, opts);
}
