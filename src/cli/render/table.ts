// Table output as the docker CLI's: Go's tabwriter with minwidth 10, padding 3, so columns line up
// the same way; and the `table` / `json` / template --format directives.
import { InvalidArgument } from '../../errdefs/index.js';
import { Template } from './template.js';
import { goJson } from './gofmt.js';

/** Aligns tab-separated cells: each column as wide as its widest cell + 3, at least 10. */
export function tabwrite(lines: string[], minWidth = 10, padding = 3): string {
  const rows = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const r of rows) {
    r.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, Math.max([...cell].length + padding, minWidth));
    });
  }
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell + ' '.repeat(widths[i]! - [...cell].length) : cell)).join('')).join('\n') + (rows.length ? '\n' : '');
}

export interface Column<T> {
  /** The template field name, e.g. `ID`. */
  field: string;
  header: string;
}

/**
 * Renders rows with a format: '' or 'table' (the default columns), 'table TEMPLATE', 'json', or a
 * plain template (one line per row, no header).
 */
export function renderRows<T extends object>(rows: T[], format: string | undefined, defaultTable: string, headers: Record<string, string>): string {
  let f = format ?? '';
  if (f === '' || f === 'table') f = `table ${defaultTable}`;
  if (f === 'json') return rows.map((r) => goJson(r)).join('\n') + (rows.length ? '\n' : '');
  const isTable = f.startsWith('table');
  const src = (isTable ? f.slice(5).replace(/^\s+/, '') : f).replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  let tpl: Template;
  try {
    tpl = new Template(src);
  } catch (err) {
    throw new InvalidArgument(`template parsing error: ${(err as Error).message}`);
  }
  const lines: string[] = [];
  if (isTable) {
    // The header row is the template run on an object whose fields are the column titles.
    const headerRow = new Proxy({}, { get: (_, k) => (typeof k === 'string' ? headers[k] ?? k.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase() : undefined), has: () => true });
    lines.push(tpl.execute(headerRow));
  }
  for (const r of rows) lines.push(tpl.execute(r));
  if (isTable) return tabwrite(lines.flatMap((l) => l.split('\n')));
  return lines.map((l) => l + '\n').join('');
}
