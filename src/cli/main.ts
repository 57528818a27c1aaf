// berth: global flags, command dispatch, help, and Docker's error output and exit codes
// (125 for usage errors, 1 for daemon errors, the command's own code otherwise).
import { ConnectionError, DaemonError, EngineClient } from '../client/index.js';
import { berthErrorOf } from '../errdefs/index.js';
import { BERTH_VERSION } from '../lib/version.js';
import { ExitError, Registry, type Command, type Context } from './command.js';
import { formatFlagHelp, parseFlags, UsageError, type FlagSpec } from './flags.js';
import { registerAll } from './commands/index.js';
import { selectHost, startDaemon } from './context.js';
import { runRegistry } from './commands/registry.js';

const PROG = 'berth';

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'config', type: 'string', help: 'Location of client config files', valueName: 'string' },
  { name: 'debug', short: 'D', type: 'bool', help: 'Enable debug mode' },
  { name: 'host', short: 'H', type: 'list', help: 'Daemon socket to connect to' },
  { name: 'log-level', short: 'l', type: 'string', help: 'Set the logging level', valueName: 'string' },
  { name: 'context', short: 'c', type: 'string', help: 'Name of the context to use', valueName: 'string', hidden: true },
  { name: 'help', type: 'bool', help: 'Print usage' },
  { name: 'version', short: 'v', type: 'bool', help: 'Print version information and quit' },
];

/** How the user invoked it (`berth images`), as Docker's messages name the command. */
let invokedAs: string[] | undefined;
function commandName(c: Command): string {
  return `${PROG} ${(invokedAs ?? c.path).join(' ')}`;
}

function commandHelp(c: Command): string {
  const aliases = c.aliases?.length ? `\nAliases:\n  ${[c.path, ...c.aliases].map((p) => `${PROG} ${p.join(' ')}`).join(', ')}\n` : '';
  const flags = [...c.flags, { name: 'help', type: 'bool', help: 'Print usage' } as FlagSpec];
  return `\nUsage:  ${commandName(c)} ${c.usage}\n\n${c.short}\n${aliases}\nOptions:\n${formatFlagHelp(flags)}\n`;
}

function mainHelp(r: Registry): string {
  const top = r.all().filter((c) => c.path.length === 1 || c.aliases?.some((a) => a.length === 1));
  const names = top.map((c) => [c.aliases?.find((a) => a.length === 1)?.[0] ?? c.path[0]!, c.short] as const).sort((a, b) => a[0].localeCompare(b[0]));
  const groups = [...r.groups().keys()].sort();
  return `\nUsage:  ${PROG} [OPTIONS] COMMAND\n\nA container engine that speaks Docker's API\n\nCommands:\n${names.map(([n, s]) => `  ${n.padEnd(12)}${s}`).join('\n')}\n\nManagement Commands:\n${groups.map((g) => `  ${g}`).join('\n')}\n\nGlobal Options:\n${formatFlagHelp(GLOBAL_FLAGS)}\n\nRun '${PROG} COMMAND --help' for more information on a command.\n`;
}

function groupHelp(r: Registry, group: string): string {
  const cmds = r.groups().get(group) ?? [];
  return `\nUsage:  ${PROG} ${group} COMMAND\n\nManage ${group}s\n\nCommands:\n${cmds.map((c) => `  ${c.path[1]!.padEnd(12)}${c.short}`).join('\n')}\n\nRun '${PROG} ${group} COMMAND --help' for more information on a command.\n`;
}

function arityError(c: Command, n: number): string | undefined {
  const { min, max } = c.args ?? {};
  const plural = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  if (min !== undefined && max !== undefined && min === max && n !== min) return `"${commandName(c)}" requires exactly ${plural(min)}.`;
  if (min !== undefined && n < min) return `"${commandName(c)}" requires at least ${plural(min)}.`;
  if (max !== undefined && n > max) return max === 0 ? `"${commandName(c)}" accepts no arguments.` : `"${commandName(c)}" accepts at most ${plural(max)}.`;
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  const registry = new Registry();
  registerAll(registry);
  const { stdout, stderr } = process;

  // Global flags come before the command name.
  let globalEnd = 0;
  while (globalEnd < argv.length && argv[globalEnd]!.startsWith('-')) {
    const a = argv[globalEnd]!;
    const takesValue = ['-H', '--host', '-l', '--log-level', '--config', '-c', '--context'].includes(a);
    globalEnd += takesValue ? 2 : 1;
  }
  let globals;
  try {
    globals = parseFlags(argv.slice(0, globalEnd), GLOBAL_FLAGS).flags;
  } catch (err) {
    stderr.write(`${(err as Error).message}\nSee '${PROG} --help'.\n`);
    return 125;
  }
  if (globals['version']) {
    stdout.write(`berth version ${BERTH_VERSION}\n`);
    return 0;
  }
  const rest = argv.slice(globalEnd);
  if (rest.length === 0 || globals['help'] || rest[0] === 'help') {
    stdout.write(mainHelp(registry));
    return 0;
  }
  // The registry server is its own program, loaded only when asked for.
  if (rest[0] === 'registry') return runRegistry(rest.slice(1));
  const found = registry.find(rest);
  if (!found) {
    if (registry.groups().has(rest[0]!)) {
      stdout.write(groupHelp(registry, rest[0]!));
      return rest.length === 1 ? 0 : 1;
    }
    stderr.write(`${PROG}: '${rest[0]}' is not a ${PROG} command.\nSee '${PROG} --help'\n`);
    return 1;
  }
  const { command } = found;
  invokedAs = found.used;
  let parsed;
  try {
    parsed = parseFlags(found.rest, [...command.flags, { name: 'help', type: 'bool', help: '' }], { stopAtPositional: command.stopAtPositional });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    stderr.write(`${err.message}\nSee '${commandName(command)} --help'.\n`);
    return 125;
  }
  if (parsed.flags['help']) {
    stdout.write(commandHelp(command));
    return 0;
  }
  const arity = arityError(command, parsed.args.length);
  if (arity) {
    stderr.write(`${arity}\nSee '${commandName(command)} --help'.\n\nUsage:  ${commandName(command)} ${command.usage}\n\n${command.short}\n`);
    return 1;
  }

  const hosts = globals['host'] as string[];
  const { host, explicit } = selectHost(hosts.length ? hosts[hosts.length - 1] : undefined, process.env);
  let client: EngineClient | undefined;
  const ctx: Context = {
    stdin: process.stdin,
    stdout,
    stderr,
    prog: PROG,
    async client() {
      if (client) return client;
      client = new EngineClient(host);
      if (!explicit && process.getuid?.() === 0 && !(await client.ping())) await startDaemon(client, stderr);
      return client;
    },
  };
  try {
    const code = await command.run(ctx, parsed.args, parsed.flags);
    return code ?? 0;
  } catch (err) {
    if (err instanceof ExitError) return err.code;
    if (err instanceof DaemonError) {
      stderr.write(`Error response from daemon: ${err.message}\n`);
      return 1;
    }
    if (err instanceof ConnectionError) {
      stderr.write(`${err.message}\n`);
      return 1;
    }
    const be = berthErrorOf(err);
    stderr.write(`${be ? be.message : err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

// A reader that went away (`berth images | head -1`) ends the command quietly, as a Go CLI dies
// of SIGPIPE, instead of an unhandled EPIPE with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
