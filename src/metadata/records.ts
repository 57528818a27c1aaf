// Small records that must survive a crash mid-write: one JSON file per record, written with
// temp + fsync + rename, all loaded into memory at open. A leftover temp file from a crash is
// deleted at open and never read, so a record is always its old or its new version.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { TEMP_PREFIX, writeJsonAtomic } from '../lib/atomic.js';
import { log } from '../lib/log.js';

/** Bump when a record's shape changes incompatibly; checked at open in one place. */
export const SCHEMA_VERSION = 1;

export class RecordStore<T> {
  private readonly records = new Map<string, T>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        this.records.set(decodeURIComponent(name.slice(0, -5)), JSON.parse(readFileSync(file, 'utf8')) as T);
      } catch (err) {
        log.warn('ignoring unreadable record', { file, error: err });
      }
    }
  }

  private file(key: string): string {
    return path.join(this.dir, encodeURIComponent(key) + '.json');
  }

  get(key: string): T | undefined {
    return this.records.get(key);
  }

  has(key: string): boolean {
    return this.records.has(key);
  }

  put(key: string, value: T): void {
    writeJsonAtomic(this.file(key), value);
    this.records.set(key, value);
  }

  delete(key: string): boolean {
    if (!this.records.has(key)) return false;
    rmSync(this.file(key), { force: true });
    this.records.delete(key);
    return true;
  }

  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  values(): IterableIterator<T> {
    return this.records.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.records.entries();
  }

  get size(): number {
    return this.records.size;
  }
}

/** Opens `<root>/VERSION`, writing it on first use and refusing a newer store. */
export function checkSchema(root: string): void {
  const file = path.join(root, 'VERSION');
  let found: number | undefined;
  try {
    found = Number(readFileSync(file, 'utf8').trim());
  } catch {
    writeJsonAtomic(file, SCHEMA_VERSION);
    return;
  }
  if (found > SCHEMA_VERSION) {
    throw new Error(`data root ${root} has schema version ${found}, newer than this berthd understands (${SCHEMA_VERSION})`);
  }
}
