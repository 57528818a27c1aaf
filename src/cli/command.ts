// Commands and their registry. A command declares its flags and arity; `run` talks to the daemon
// through the context and writes through its streams. Usage errors print as Docker's do.
import type { EngineClient } from '../client/index.js';
import type { FlagSpec, FlagValues } from './flags.js';

export interface Streams {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
}

export interface Context extends Streams {
  /** The client for the selected daemon (started on first use if needed). */
  client(): Promise<EngineClient>;
  /** The program name shown in messages: `berth`. */
  prog: string;
}

export interface Command {
  /** The canonical path, e.g. ['image', 'ls']. */
  path: string[];
  aliases?: string[][];
  /** After the program and path: `[OPTIONS] [REPOSITORY[:TAG]]`. */
  usage: string;
  short: string;
  flags: FlagSpec[];
  args?: { min?: number; max?: number };
  /** Stop parsing flags at the first positional (run, exec, create). */
  stopAtPositional?: boolean;
  /** Returns the process exit code (0 when omitted). */
  run(ctx: Context, args: string[], flags: FlagValues): Promise<number | void>;
}

/** A failure that has already been printed; carries the exit code. */
export class ExitError extends Error {
  constructor(readonly code: number, message = '') {
    super(message);
    this.name = 'ExitError';
  }
}

export class Registry {
  private readonly commands: Command[] = [];
  private readonly byPath = new Map<string, Command>();

  add(...cmds: Command[]): void {
    for (const c of cmds) {
      this.commands.push(c);
      for (const p of [c.path, ...(c.aliases ?? [])]) this.byPath.set(p.join(' '), c);
    }
  }

  /** The longest registered path that prefixes argv. */
  find(argv: string[]): { command: Command; rest: string[]; used: string[] } | undefined {
    for (let n = Math.min(2, argv.length); n >= 1; n--) {
      const c = this.byPath.get(argv.slice(0, n).join(' '));
      if (c) return { command: c, rest: argv.slice(n), used: argv.slice(0, n) };
    }
    return undefined;
  }

  groups(): Map<string, Command[]> {
    const out = new Map<string, Command[]>();
    for (const c of this.commands) if (c.path.length === 2) out.set(c.path[0]!, [...(out.get(c.path[0]!) ?? []), c]);
    return out;
  }

  all(): Command[] {
    return this.commands;
  }
}
