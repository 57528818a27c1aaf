// One daemon per data root: an exclusive flock on <data-root>/berthd.lock, held for the daemon's
// life (the kernel drops it if the process dies, even by kill -9). The file holds the owner's PID
// so the refusal can say who holds it.
import { closeSync, openSync, readFileSync, ftruncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { FailedPrecondition } from '../errdefs/index.js';
import { flock, LOCK_EX, LOCK_NB } from '../lib/sys/index.js';

export class DataRootLock {
  private constructor(private readonly fd: number) {}

  static acquire(dataRoot: string): DataRootLock {
    const file = path.join(dataRoot, 'berthd.lock');
    const fd = openSync(file, 'a+');
    if (!flock(fd, LOCK_EX | LOCK_NB)) {
      closeSync(fd);
      let holder = '';
      try {
        holder = readFileSync(file, 'utf8').trim();
      } catch {
        // unreadable: say nothing about the holder
      }
      throw new FailedPrecondition(`another berthd${holder ? ` (pid ${holder})` : ''} is already using data root ${dataRoot}`, {
        hint: 'stop it first, or start this one with a different --data-root',
      });
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    return new DataRootLock(fd);
  }

  release(): void {
    closeSync(this.fd);
  }
}
