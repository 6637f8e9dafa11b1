// A strict YAML subset, enough for the seed's User manifest and for printing objects back:
// block mappings nested by indentation, plain / 'single' / "double"-quoted scalars, comments,
// several documents separated by `---` (and ended by `...`), and `{}` / `[]` as empty values.
// Everything else YAML allows (sequences, flow collections, block scalars, anchors, aliases,
// tags, directives, multi-line scalars) is refused with a message naming the line, never
// guessed at. Plain scalars resolve by the YAML 1.2 core schema (null, booleans, numbers).
// A whole input starting with `{` or `[` is read as JSON (JSON is YAML; kubectl accepts it too).

import { MAX_DOCUMENT_DEPTH, jsonNestsDeeperThan } from '../nesting.ts';

export class YamlError extends Error {
  constructor(message: string, readonly line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  no: number;
  indent: number;
  text: string;
}

/** Parse every document of `source`; empty documents (only comments or nothing) are skipped. */
export function parseYamlDocuments(source: string): YamlValue[] {
  const text = source.replace(/^\uFEFF/, '');
  const firstMeaningful = text.split(/\r?\n/).find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (firstMeaningful !== undefined && /^\s*[[{]/.test(firstMeaningful)) return parseJsonDocuments(text);

  const docs: YamlValue[] = [];
  let current: Line[] = [];
  let ended = false;
  const flush = () => {
    if (current.length > 0) docs.push(parseDocument(current));
    current = [];
  };
  const rawLines = text.split(/\r?\n|\r/);
  for (let i = 0; i < rawLines.length; i++) {
    const raw = rawLines[i];
    const no = i + 1;
    if (/^---(\s|$)/.test(raw)) {
      const rest = stripComment(raw.slice(3), no).trim();
      if (rest !== '') throw new YamlError('content on a "---" line is not supported; start the document on the next line', no);
      flush();
      ended = false;
      continue;
    }
    if (/^\.\.\.(\s|$)/.test(raw)) {
      if (stripComment(raw.slice(3), no).trim() !== '') throw new YamlError('content after "..." is not allowed', no);
      flush();
      ended = true;
      continue;
    }
    if (raw.startsWith('%')) throw new YamlError('YAML directives (%YAML, %TAG) are not supported', no);
    const lead = /^[ \t]*/.exec(raw)![0];
    const body = raw.slice(lead.length);
    if (body === '' || body.startsWith('#')) continue;
    if (lead.includes('\t')) throw new YamlError('tabs are not allowed in indentation; use spaces', no);
    if (ended) throw new YamlError('content after the end of a document ("...") needs a "---" first', no);
    current.push({ no, indent: lead.length, text: body.replace(/\s+$/, '') });
  }
  flush();
  return docs;
}

function parseJsonDocuments(text: string): YamlValue[] {
  if (jsonNestsDeeperThan(text)) throw new YamlError(`invalid JSON: nests deeper than ${MAX_DOCUMENT_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new YamlError(`invalid JSON: ${(err as Error).message}`);
  }
  return [parsed as YamlValue];
}

function parseDocument(lines: Line[]): YamlValue {
  const first = lines[0];
  if (first.indent !== 0) throw new YamlError('a document must start at column 1', first.no);
  if (isSequenceItem(first.text)) throw new YamlError('sequences ("- item") are not supported; a manifest is a mapping', first.no);
  if (!looksLikeMappingEntry(first.text)) {
    // A document holding one scalar (e.g. a stray word): allowed by YAML, parsed here so the
    // caller can say "expected a mapping".
    if (lines.length > 1) throw new YamlError('expected "key: value"', lines[1].no);
    return parseInlineValue(first.text, first.no);
  }
  const state = { pos: 0 };
  const value = parseMapping(lines, state, 0);
  if (state.pos < lines.length) throw new YamlError('unexpected indentation', lines[state.pos].no);
  return value;
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

function looksLikeMappingEntry(text: string): boolean {
  if (text.startsWith('"') || text.startsWith("'")) {
    try {
      const { end } = scanQuoted(text, 0, 0);
      return /^\s*:(\s|$)/.test(text.slice(end));
    } catch {
      return false;
    }
  }
  return /:(\s|$)/.test(stripCommentLoose(text));
}

function parseMapping(lines: Line[], state: { pos: number }, indent: number, depth = 1): { [key: string]: YamlValue } {
  // Each level recurses once; bounded like every other document Strata reads.
  if (depth > MAX_DOCUMENT_DEPTH) throw new YamlError(`mappings nest deeper than ${MAX_DOCUMENT_DEPTH} levels`, lines[state.pos]?.no);
  const out: { [key: string]: YamlValue } = {};
  while (state.pos < lines.length) {
    const line = lines[state.pos];
    if (line.indent < indent) break;
    if (line.indent > indent) throw new YamlError('unexpected indentation (multi-line values are not supported)', line.no);
    if (isSequenceItem(line.text)) throw new YamlError('sequences ("- item") are not supported in a User manifest', line.no);
    const { key, rest } = splitKey(line);
    if (Object.prototype.hasOwnProperty.call(out, key)) throw new YamlError(`duplicate key "${key}"`, line.no);
    state.pos++;
    let value: YamlValue;
    if (rest === '') {
      const next = lines[state.pos];
      if (next && next.indent > indent) {
        if (isSequenceItem(next.text)) throw new YamlError('sequences ("- item") are not supported in a User manifest', next.no);
        value = parseMapping(lines, state, next.indent, depth + 1);
      } else if (next && next.indent === indent && isSequenceItem(next.text)) {
        throw new YamlError('sequences ("- item") are not supported in a User manifest', next.no);
      } else value = null;
    } else {
      value = parseInlineValue(rest, line.no);
      const next = lines[state.pos];
      if (next && next.indent > indent) throw new YamlError('unexpected indentation (multi-line values are not supported)', next.no);
    }
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** `key: rest` → the key (unquoted) and the text after the colon, comment removed. */
function splitKey(line: Line): { key: string; rest: string } {
  const text = line.text;
  let key: string;
  let after: number;
  if (text.startsWith('"') || text.startsWith("'")) {
    const q = scanQuoted(text, 0, line.no);
    key = q.value;
    const m = /^[ ]*:(?=\s|$)/.exec(text.slice(q.end));
    if (!m) throw new YamlError('expected ":" after a quoted key', line.no);
    after = q.end + m[0].length;
  } else {
    if (/^[?&*!|>%@`{}[\],#]/.test(text)) throw new YamlError(`a key cannot start with "${text[0]}" (complex keys, anchors, aliases, tags and flow collections are not supported)`, line.no);
    const m = /:(\s|$)/.exec(text);
    if (!m || stripCommentLoose(text).length < m.index) throw new YamlError('expected "key: value"', line.no);
    key = text.slice(0, m.index).trimEnd();
    if (key === '') throw new YamlError('empty key', line.no);
    if (/\s#/.test(key)) throw new YamlError('expected "key: value"', line.no);
    after = m.index + 1;
  }
  const rest = stripComment(text.slice(after), line.no).trim();
  return { key, rest };
}

/** Remove a trailing comment (" #..."), respecting quotes. */
function stripComment(text: string, no: number): string {
  const t = text.trimStart();
  const offset = text.length - t.length;
  if (t.startsWith('#')) return '';
  if (t.startsWith('"') || t.startsWith("'")) {
    const q = scanQuoted(t, 0, no);
    const tail = t.slice(q.end);
    if (tail.trim() !== '' && !/^\s+#/.test(tail)) throw new YamlError('unexpected text after a quoted value', no);
    return text.slice(0, offset + q.end);
  }
  const m = /\s#/.exec(text);
  return m ? text.slice(0, m.index) : text;
}

/** Comment removal that never throws (used only to locate a key's colon). */
function stripCommentLoose(text: string): string {
  const m = /(^|\s)#/.exec(text);
  return m ? text.slice(0, m.index) : text;
}

function parseInlineValue(text: string, no: number): YamlValue {
  const c = text[0];
  if (c === '"' || c === "'") {
    const q = scanQuoted(text, 0, no);
    if (text.slice(q.end).trim() !== '') throw new YamlError('unexpected text after a quoted value', no);
    return q.value;
  }
  if (text === '{}') return {};
  if (text === '[]') return [];
  if (c === '{' || c === '[') throw new YamlError('flow collections ({...}, [...]) are not supported; use block mappings', no);
  if (c === '|' || c === '>') throw new YamlError('block scalars (| and >) are not supported', no);
  if (c === '&' || c === '*') throw new YamlError('anchors and aliases (& and *) are not supported', no);
  if (c === '!') throw new YamlError('tags (!) are not supported', no);
  if (c === '@' || c === '`') throw new YamlError(`"${c}" cannot start a plain value; quote it`, no);
  if (isSequenceItem(text)) throw new YamlError('sequences ("- item") are not supported in a User manifest', no);
  if (/:(\s|$)/.test(text)) throw new YamlError('mapping values are not allowed here (quote a value that contains ": ")', no);
  return resolvePlain(text);
}

/** YAML 1.2 core schema. */
function resolvePlain(s: string): YamlValue {
  if (/^(null|Null|NULL|~)$/.test(s)) return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

const escapes: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

function scanQuoted(text: string, start: number, no: number): { value: string; end: number } {
  const quote = text[start];
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (quote === "'") {
      if (ch === "'") {
        if (text[i + 1] === "'") {
          value += "'";
          i += 2;
          continue;
        }
        return { value, end: i + 1 };
      }
      value += ch;
      i++;
      continue;
    }
    if (ch === '"') return { value, end: i + 1 };
    if (ch === '\\') {
      const e = text[i + 1];
      if (e === undefined) break;
      if (e in escapes) {
        value += escapes[e];
        i += 2;
        continue;
      }
      const width = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (width === 0) throw new YamlError(`unknown escape "\\${e}" in a double-quoted value`, no);
      const hex = text.slice(i + 2, i + 2 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw new YamlError(`bad "\\${e}" escape in a double-quoted value`, no);
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw new YamlError(`bad "\\${e}" escape in a double-quoted value`, no);
      value += String.fromCodePoint(code);
      i += 2 + width;
      continue;
    }
    value += ch;
    i++;
  }
  throw new YamlError(`unterminated ${quote === '"' ? 'double' : 'single'}-quoted value (quoted values must end on the same line)`, no);
}

// ---------------------------------------------------------------------------------------------
// Printing (for `-o yaml`): block mappings, block sequences, scalars quoted whenever a plain
// form would read back as something else.

export function toYaml(value: unknown): string {
  const out: string[] = [];
  emit(value, 0, out);
  return out.join('\n') + '\n';
}

function emit(value: unknown, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(pad + '[]');
      return;
    }
    for (const item of value) {
      if (isMap(item) && Object.keys(item).length > 0) {
        const sub: string[] = [];
        emit(item, indent + 2, sub);
        sub[0] = pad + '- ' + sub[0].slice(indent + 2);
        out.push(...sub);
      } else out.push(pad + '- ' + scalar(item));
    }
    return;
  }
  if (isMap(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) {
      out.push(pad + '{}');
      return;
    }
    for (const [k, v] of entries) {
      const key = scalar(k);
      if ((isMap(v) && Object.keys(v).length > 0) || (Array.isArray(v) && v.length > 0)) {
        out.push(`${pad}${key}:`);
        emit(v, Array.isArray(v) ? indent : indent + 2, out);
      } else out.push(`${pad}${key}: ${isMap(v) ? '{}' : Array.isArray(v) ? '[]' : scalar(v)}`);
    }
    return;
  }
  out.push(pad + scalar(value));
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  const s = String(v);
  const plainSafe =
    s !== '' &&
    !/^[\s\-?:,[\]{}#&*!|>'"%@`]/.test(s) &&
    !/\s$/.test(s) &&
    !/: |:$| #/.test(s) &&
    !/[\x00-\x1f\x7f\u0085\u2028\u2029]/.test(s) &&
    typeof resolvePlain(s) === 'string';
  if (plainSafe || (/^-[^\s]/.test(s) && typeof resolvePlain(s) === 'string' && !/: | #|\s$/.test(s) && !/[\x00-\x1f]/.test(s))) return s;
  return JSON.stringify(s);
}
