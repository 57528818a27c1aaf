// Go's default value printing, its JSON encoding (HTML-safe, as encoding/json) and a printf subset,
// so --format output matches the docker CLI's byte for byte.

export function goPrint(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${goPrint(o[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** encoding/json escapes <, > and & (and U+2028/2029) in strings. */
export function goJson(v: unknown): string {
  return JSON.stringify(v === undefined ? null : v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** %v %s %d %q %t %x %f %% with flags '-', '0', width and precision. */
export function sprintf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdqtxXfgeo%])/g, (_, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    let s: string;
    switch (verb) {
      case 'd': s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${goPrint(a)})`; break;
      case 'q': s = JSON.stringify(goPrint(a)); break;
      case 'x': s = typeof a === 'number' ? a.toString(16) : Buffer.from(goPrint(a)).toString('hex'); break;
      case 'X': s = typeof a === 'number' ? a.toString(16).toUpperCase() : Buffer.from(goPrint(a)).toString('hex').toUpperCase(); break;
      case 'f': s = Number(a).toFixed(prec !== undefined ? Number(prec) : 6); break;
      case 'g': s = String(Number(a)); break;
      case 'e': s = Number(a).toExponential(prec !== undefined ? Number(prec) : 6); break;
      case 'o': s = Number(a).toString(8); break;
      default:
        s = goPrint(a);
        if (verb === 's' && prec !== undefined) s = s.slice(0, Number(prec));
    }
    const w = width ? Number(width) : 0;
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') && verb !== 's' ? s.padStart(w, '0') : s.padStart(w);
    return s;
  });
}
