// The container commands, in one list for the registry.
import type { Command } from '../command.js';
import { createCommand, runCommand, startCommand } from './container-run.js';
import { killCommand, pauseCommand, renameCommand, restartCommand, rmCommand, stopCommand, unpauseCommand, updateCommand, waitCommand } from './container-lifecycle.js';
import { psCommand } from './container-ps.js';
import { logsCommand } from './container-logs.js';
import { statsCommand } from './container-stats.js';
import { cpCommand } from './container-cp.js';
import { attachCommand, commitCommand, containerPruneCommand, execCommand } from './container-exec.js';
import { containerInspectCommand, diffCommand, exportCommand, objectInspectCommand, portCommand, topCommand } from './container-inspect.js';

export const containerCommands: Command[] = [
  createCommand, runCommand, startCommand, stopCommand, restartCommand, killCommand, pauseCommand, unpauseCommand,
  rmCommand, waitCommand, renameCommand, updateCommand, psCommand, logsCommand,
  containerInspectCommand, objectInspectCommand, portCommand, topCommand, diffCommand, exportCommand,
  execCommand, attachCommand, commitCommand, containerPruneCommand, statsCommand, cpCommand,
];
