// Command-line flags with Docker's (pflag) semantics: clusters (-it), --flag=value, -p=8080:80,
// --rm=false, repeatable flags, `--`, and commands that stop at their first positional (run, exec)
// so the container's own arguments are left alone.

export type FlagType = 'bool' | 'string' | 'list' | 'int';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  help: string;
  default?: string | boolean | number;
  /** For the help text: `string`, `list`, `duration`... */
  valueName?: string;
  hidden?: boolean;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function parseBool(v: string, flag: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new UsageError(`invalid argument "${v}" for "${flag}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

export function parseFlags(argv: string[], specs: FlagSpec[], opts: { stopAtPositional?: boolean } = {}): { flags: FlagValues; args: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags: FlagValues = {};
  for (const s of specs) if (s.default !== undefined) flags[s.name] = s.default;
  for (const s of specs) if (s.type === 'list') flags[s.name] = [];
  const args: string[] = [];
  const set = (spec: FlagSpec, value: string | undefined, shown: string) => {
    switch (spec.type) {
      case 'bool':
        flags[spec.name] = value === undefined ? true : parseBool(value, shown);
        break;
      case 'int': {
        const n = Number(value);
        if (!Number.isInteger(n)) throw new UsageError(`invalid argument "${value}" for "${shown}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
        flags[spec.name] = n;
        break;
      }
      case 'list':
        (flags[spec.name] as string[]).push(value!);
        break;
      default:
        flags[spec.name] = value;
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      let value = eq < 0 ? undefined : a.slice(eq + 1);
      if (value === undefined && spec.type !== 'bool') {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        value = argv[++i];
      }
      set(spec, value, `--${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const spec = byShort.get(c);
        if (!spec) throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`);
        const shown = `-${c}, --${spec.name}`;
        if (spec.type === 'bool') {
          if (a[j + 1] === '=') {
            set(spec, a.slice(j + 2), shown);
            break;
          }
          set(spec, undefined, shown);
          continue;
        }
        let value = a.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        else if (value === '') {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
          value = argv[++i]!;
        }
        set(spec, value, shown);
        break;
      }
      continue;
    }
    args.push(a);
    if (opts.stopAtPositional) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, args };
}

export function formatFlagHelp(specs: FlagSpec[]): string {
  const rows = specs.filter((s) => !s.hidden).map((s) => {
    const kind = s.type === 'bool' ? '' : ` ${s.valueName ?? (s.type === 'list' ? 'list' : s.type)}`;
    const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${kind}`;
    const def = s.default !== undefined && s.default !== false && s.default !== '' ? ` (default ${typeof s.default === 'string' ? JSON.stringify(s.default) : s.default})` : '';
    return [left, s.help + def];
  });
  const width = Math.max(0, ...rows.map(([l]) => l!.length)) + 3;
  return rows.map(([l, r]) => `  ${l!.padEnd(width)}${r}`).join('\n');
}
