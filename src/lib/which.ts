// Finds an executable on PATH, as `command -v` does (conmon needs absolute runtime paths).
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function which(name: string, envPath = process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'): string | undefined {
  if (name.includes('/')) return name;
  for (const dir of envPath.split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}
