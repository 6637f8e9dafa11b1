// kubectl-style output: aligned tables, human ages, -o json|yaml|name|jsonpath=TEMPLATE.
import { toYaml } from '../identity/yaml.ts';

/** Columns separated by three spaces, left-aligned, the last one unpadded (kubectl's tabwriter). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/** Kubernetes' HumanDuration: 14s, 5m3s, 47m, 3h, 5h20m, 2d, 3d4h, 400d, 2y30d. */
export function humanAge(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (days < 365 * 2) return `${days}d`;
  if (days < 365 * 8) return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

export class OutputError extends Error {}

/**
 * kubectl's JSONPath template subset: literal text with `{...}` expressions; an expression is a
 * path of `.field`, `['field']`, `["field"]`, `[n]` and `[*]`/`.*` steps from the root (`$` or
 * `.`). Several results are joined by a space; a missing field prints nothing. `{"\n"}` style
 * quoted literals are supported too.
 */
export function jsonpath(template: string, root: unknown): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, open);
    const close = template.indexOf('}', open);
    if (close < 0) throw new OutputError(`unclosed action in jsonpath template ${JSON.stringify(template)}`);
    const expr = template.slice(open + 1, close).trim();
    out += evalExpression(expr, root, template);
    i = close + 1;
  }
  return out;
}

function evalExpression(expr: string, root: unknown, template: string): string {
  const literal = /^"((?:[^"\\]|\\.)*)"$|^'([^']*)'$/.exec(expr);
  if (literal) return literal[1] !== undefined ? (JSON.parse(`"${literal[1]}"`) as string) : literal[2];
  let rest = expr;
  if (rest.startsWith('$')) rest = rest.slice(1);
  if (rest === '' || rest === '.') return render(root);
  let values: unknown[] = [root];
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^\.\.?\*/.exec(rest)) || (m = /^\[\*\]/.exec(rest))) {
      values = values.flatMap((v) => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : []));
    } else if ((m = /^\.([A-Za-z0-9_-]+)/.exec(rest))) {
      const field = m[1];
      values = values.flatMap((v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, field) ? [(v as Record<string, unknown>)[field]] : []));
    } else if ((m = /^\[\s*'([^']*)'\s*\]/.exec(rest)) || (m = /^\[\s*"([^"]*)"\s*\]/.exec(rest))) {
      const field = m[1];
      values = values.flatMap((v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, field) ? [(v as Record<string, unknown>)[field]] : []));
    } else if ((m = /^\[\s*(-?\d+)\s*\]/.exec(rest))) {
      const n = Number(m[1]);
      values = values.flatMap((v) => {
        if (!Array.isArray(v)) return [];
        const idx = n < 0 ? v.length + n : n;
        return idx >= 0 && idx < v.length ? [v[idx]] : [];
      });
    } else {
      throw new OutputError(`unsupported jsonpath expression {${expr}} in ${JSON.stringify(template)} (supported: {.a.b}, {.a['b.c']}, {.items[0]}, {.items[*].metadata.name})`);
    }
    rest = rest.slice(m[0].length);
  }
  return values.map(render).join(' ');
}

function render(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export type OutputFormat = { kind: 'table' } | { kind: 'json' } | { kind: 'yaml' } | { kind: 'name' } | { kind: 'jsonpath'; template: string };

/** Parse -o / --output: json, yaml, name, wide, jsonpath=TEMPLATE, jsonpath='TEMPLATE'. */
export function parseOutput(value: string | undefined): OutputFormat {
  if (value === undefined || value === '' || value === 'wide') return { kind: 'table' };
  if (value === 'json' || value === 'yaml' || value === 'name') return { kind: value };
  const m = /^jsonpath=(.*)$/s.exec(value);
  if (m) {
    let t = m[1];
    if ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"'))) t = t.slice(1, -1);
    if (t === '') throw new OutputError('jsonpath template is empty');
    return { kind: 'jsonpath', template: t };
  }
  throw new OutputError(`unable to match a printer suitable for the output format "${value}", allowed formats are: json,jsonpath,name,yaml`);
}

/** Render an object (or a List) in a machine format. */
export function renderObject(format: OutputFormat, object: unknown, names: string[]): string {
  switch (format.kind) {
    case 'json':
      return JSON.stringify(object, null, 4) + '\n';
    case 'yaml':
      return toYaml(object);
    case 'name':
      return names.map((n) => n + '\n').join('');
    case 'jsonpath':
      return jsonpath(format.template, object);
    case 'table':
      throw new OutputError('table output has no object rendering');
  }
}
