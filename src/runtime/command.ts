// The container's argv from the image's ENTRYPOINT and CMD and the run command's overrides, by
// Docker's rules (the seeds' table): shell forms were already wrapped in `/bin/sh -c` when the image
// was built; CMD becomes ENTRYPOINT's arguments; `run IMAGE args` replaces CMD; `--entrypoint`
// replaces ENTRYPOINT and drops the image's CMD.
import { InvalidArgument } from '../errdefs/index.js';

export interface CommandInputs {
  imageEntrypoint?: string[] | null;
  imageCmd?: string[] | null;
  /** `--entrypoint`: undefined when not given; [] or [''] clears it. */
  entrypoint?: string[] | null;
  /** Arguments after the image name; undefined or [] when none. */
  cmd?: string[] | null;
}

export function composeArgv(i: CommandInputs): string[] {
  const overrideEntrypoint = i.entrypoint !== undefined && i.entrypoint !== null;
  const entrypoint = overrideEntrypoint ? i.entrypoint!.filter((x, n) => !(n === 0 && x === '' && i.entrypoint!.length === 1)) : i.imageEntrypoint ?? [];
  let cmd: string[];
  if (i.cmd && i.cmd.length) cmd = i.cmd;
  else if (overrideEntrypoint) cmd = [];
  else cmd = i.imageCmd ?? [];
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw new InvalidArgument('no command specified');
  return argv;
}
