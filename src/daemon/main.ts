// berthd: parse flags, take the data root, serve until SIGTERM/SIGINT.
import { berthErrorOf } from '../errdefs/index.js';
import { log, setLogLevel } from '../lib/log.js';
import { BERTH_VERSION } from '../lib/version.js';
import { parseDaemonArgs, USAGE } from './config.js';
import { Daemon } from './daemon.js';

async function main(): Promise<void> {
  let config;
  try {
    config = parseDaemonArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\nSee 'berthd --help'.\n`);
    process.exit(125);
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (config === 'version') {
    process.stdout.write(`berthd version ${BERTH_VERSION}\n`);
    return;
  }
  setLogLevel(config.logLevel);
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd: needs to be started with root privileges (overlay mounts and runc need them)\n');
    process.exit(1);
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(config);
  } catch (err) {
    const e = berthErrorOf(err);
    log.error(`failed to start daemon: ${(err as Error).message}`);
    if (e?.hint) process.stderr.write(`hint: ${e.hint}\n`);
    process.exit(1);
  }
  log.info('Daemon has completed initialization', { version: BERTH_VERSION, dataRoot: config.dataRoot });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Processing signal '${signal}'`);
    // Containers outlive berthd anyway; a stuck client connection must not keep it alive.
    setTimeout(() => {
      log.warn('shutdown timed out; exiting');
      process.exit(0);
    }, 5000).unref();
    daemon.stop().then(
      () => process.exit(0),
      (err) => {
        log.error('shutdown failed', { error: err });
        process.exit(1);
      },
    );
  };
  // One broken client or monitor socket must not take the daemon (and every API user) down with
  // it: log the fault with its stack and keep serving, as dockerd recovers a handler's panic.
  process.on('uncaughtException', (err) => log.error('unexpected error (daemon keeps running)', { error: err.stack ?? String(err) }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection (daemon keeps running)', { error: (err as Error)?.stack ?? String(err) }));
  process.on('SIGTERM', () => shutdown('terminated'));
  process.on('SIGINT', () => shutdown('interrupt'));
}

void main();
