// Filter values as Docker reads them: `reference` globs on familiar names, `until` timestamps.
import { InvalidArgument } from '../errdefs/index.js';

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** `busybox` matches `busybox:latest` and `busybox@sha256:...`; `busy*:*` matches by tag too (Docker's FamiliarMatch). */
export function matchesReference(familiarTag: string, pattern: string): boolean {
  const re = globToRegExp(pattern);
  if (re.test(familiarTag)) return true;
  // The name alone: without the tag, or without the digest of a `name@sha256:...` reference.
  const at = familiarTag.indexOf('@');
  const base = at >= 0 ? familiarTag.slice(0, at) : familiarTag;
  const colon = base.lastIndexOf(':');
  const repo = colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
  return re.test(repo);
}

/** `until`/`since` values: Unix seconds (with fractions), RFC 3339 dates, or durations like `10m`. */
export function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(v);
  if (d) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return Date.now() - Number(d[1]) * unit[d[2]!]!;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgument(`failed to parse value as time or duration: "${v}"`);
  return t;
}
