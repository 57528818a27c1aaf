// `import -c` / `commit -c`: Dockerfile-like lines that change an image's config. Only the
// instructions Docker accepts there: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME,
// WORKDIR, STOPSIGNAL.
import { InvalidArgument } from '../errdefs/index.js';
import type { ImageRunConfig } from '../lib/oci.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL']);

function jsonArray(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(rest);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

function unquote(s: string): string {
  if (s.length >= 2 && ((s[0] === '"' && s.endsWith('"')) || (s[0] === "'" && s.endsWith("'")))) return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s;
}

/** Splits `k=v k2="v 2"` into pairs; a single `k v` form is also accepted for ENV and LABEL. */
export function parseKeyValues(rest: string, instruction: string): Array<[string, string]> {
  const words = rest.match(/(?:[^\s"']+|"(?:\\.|[^"\\])*"|'[^']*')+/g) ?? [];
  if (words.length && !words[0]!.includes('=')) {
    const sp = rest.search(/\s/);
    if (sp < 0) throw new InvalidArgument(`${instruction} requires at least one argument`);
    return [[rest.slice(0, sp), unquote(rest.slice(sp).trim())]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InvalidArgument(`${instruction}: invalid key=value pair ${JSON.stringify(w)}`);
    return [unquote(w.slice(0, eq)), unquote(w.slice(eq + 1))];
  });
}

export function applyChanges(config: ImageRunConfig, changes: string[]): ImageRunConfig {
  const out: ImageRunConfig = { ...config };
  for (const raw of changes) {
    const line = raw.trim();
    if (!line) continue;
    const sp = line.search(/\s/);
    const instruction = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const rest = sp < 0 ? '' : line.slice(sp + 1).trim();
    if (!ALLOWED.has(instruction)) throw new InvalidArgument(`${instruction} is not a valid change command`);
    switch (instruction) {
      case 'CMD':
        out.Cmd = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        break;
      case 'ENV': {
        const env = [...(out.Env ?? [])];
        for (const [k, v] of parseKeyValues(rest, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        out.Env = env;
        break;
      }
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(parseKeyValues(rest, 'LABEL')) };
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of rest.split(/\s+/).filter(Boolean)) out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      case 'VOLUME': {
        const vols = jsonArray(rest) ?? rest.split(/\s+/).filter(Boolean);
        out.Volumes = { ...(out.Volumes ?? {}) };
        for (const v of vols) out.Volumes[v] = {};
        break;
      }
      case 'USER':
        out.User = rest;
        break;
      case 'WORKDIR':
        out.WorkingDir = rest.startsWith('/') ? rest : `${out.WorkingDir ?? '/'}/${rest}`.replace(/\/+/g, '/');
        break;
      case 'STOPSIGNAL':
        out.StopSignal = rest;
        break;
      case 'ONBUILD':
        out.OnBuild = [...(out.OnBuild ?? []), rest];
        break;
    }
  }
  return out;
}
