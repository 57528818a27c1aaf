// The container commands, in one list for the registry.
import type { Command } from '../command.js';
import { createCommand, runCommand, startCommand } from './container-run.js';
import { killCommand, pauseCommand, renameCommand, restartCommand, rmCommand, stopCommand, unpauseCommand, updateCommand, waitCommand } from './container-lifecycle.js';
import { psCommand } from './container-ps.js';
import { logsCommand } from './container-logs.js';

export const containerCommands: Command[] = [
  createCommand, runCommand, startCommand, stopCommand, restartCommand, killCommand, pauseCommand, unpauseCommand,
  rmCommand, waitCommand, renameCommand, updateCommand, psCommand, logsCommand,
];
