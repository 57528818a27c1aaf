// Every command berth knows; later subsystems (containers, build, network, volume) add theirs here.
import type { Registry } from '../command.js';
import { imagesCommand } from './images.js';
import { historyCommand, inspectCommand, rmiCommand, tagCommand } from './image-ops.js';
import { importCommand, loadCommand, saveCommand } from './transfer.js';
import { buildCommand, builderPruneCommand } from './build.js';
import { volumeCommands } from './volume.js';
import { loginCommand, logoutCommand, pullCommand, pushCommand, searchCommand } from './registry-client.js';
import { networkCommands } from './network.js';
import { dfCommand, eventsCommand, imagePruneCommand, infoCommand, versionCommand } from './system.js';
import { containerCommands } from './containers.js';

export function registerAll(r: Registry): void {
  r.add(imagesCommand, inspectCommand, historyCommand, tagCommand, rmiCommand, importCommand, saveCommand, loadCommand);
  r.add(pullCommand, pushCommand, loginCommand, logoutCommand, searchCommand);
  r.add(imagePruneCommand, dfCommand, infoCommand, eventsCommand, versionCommand);
  r.add(buildCommand, builderPruneCommand);
  r.add(...volumeCommands);
  r.add(...networkCommands);
  r.add(...containerCommands);
}
