import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalContentStore } from '../../src/content/index.js';
import { contentStoreContract } from './content.contract.js';

contentStoreContract('LocalContentStore', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-content-'));
  return { store: new LocalContentStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});
