// A real terminal for a client under test: script(1) gives the command a pty of its own. Its stdin
// stays open until the command exits: at EOF script sends the terminal's EOF character, which a
// still-cooked terminal stores as a NUL that the client, once raw, would forward as a keystroke.
import { spawn, spawnSync } from 'node:child_process';

export const haveScript = spawnSync('which', ['script']).status === 0;

export interface TerminalSession {
  /** Everything the terminal showed so far. */
  output(): string;
  /** Types into the terminal. */
  type(keys: string): void;
  /** Resolves once the output matches; rejects with the output so far after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** The command's exit code (script passes it through). */
  exited: Promise<number | null>;
  kill(): void;
}

export function openTerminal(command: string, env: NodeJS.ProcessEnv = process.env): TerminalSession {
  const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    child.stdin.end();
    resolve(code);
  }));
  return {
    output: () => out,
    type: (keys) => void child.stdin.write(keys),
    async waitFor(pattern, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; it showed ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

/** Runs `command` in a terminal to its end; returns its exit code and what the terminal showed. */
export async function runInTerminal(command: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<{ status: number | null; output: string }> {
  const t = openTerminal(command, env);
  const timer = setTimeout(() => t.kill(), timeoutMs);
  const status = await t.exited;
  clearTimeout(timer);
  return { status, output: t.output() };
}
