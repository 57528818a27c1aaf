// .dockerignore matching with Docker's semantics (@balena/dockerignore), read from a context
// directory. Shared by the CLI (what it sends) and the daemon (what it keeps).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as dockerignoreModule from '@balena/dockerignore';

type IgnoreFactory = (opts?: { ignorecase?: boolean }) => { add(p: string[]): { ignores(p: string): boolean } };
// A CommonJS module: its function is the default export under tsx and esbuild alike.
const dockerignore = ((dockerignoreModule as unknown as { default: unknown }).default ?? dockerignoreModule) as IgnoreFactory;

export interface IgnoreRules {
  patterns: string[];
  /** True if `rel` (slash-separated, relative to the context) is excluded. */
  ignores(rel: string): boolean;
  /** An excluded directory may still hold files a later `!` pattern brings back. */
  mayReinclude(dirRel: string): boolean;
}

export function readIgnoreRules(contextDir: string): IgnoreRules | undefined {
  const file = path.join(contextDir, '.dockerignore');
  if (!existsSync(file)) return undefined;
  const patterns = readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (!patterns.length) return undefined;
  const ig = dockerignore({ ignorecase: false }).add(patterns);
  return {
    patterns,
    ignores: (rel) => ig.ignores(rel),
    mayReinclude: (dirRel) => patterns.some((p) => p.startsWith('!') && p.slice(1).replace(/^\/+/, '').startsWith(dirRel + '/')),
  };
}
