// YAML for manifests and for printing objects back (`-o yaml`), through the `yaml` package: the
// whole of YAML 1.2 as kubectl users write it (block and flow collections, lists, block
// scalars, anchors, several documents, comments). Plain scalars resolve by the core schema
// (null, booleans, numbers). Every problem is reported with the line it is on; nothing is
// guessed at. JSON is YAML, so JSON input needs nothing special.
//
// Bounds: the callers cap the input (64 KiB over the admin API, 1 MiB from a file); aliases
// may expand at most `maxAliasCount` nodes (a "billion laughs" document is refused); a
// document nesting deeper than MAX_DOCUMENT_DEPTH is refused before anything walks it.
import { LineCounter, parseAllDocuments, stringify, type YAMLError } from 'yaml';
import { MAX_DOCUMENT_DEPTH } from '../nesting.ts';

export class YamlError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

const tooDeep = `collections nest deeper than ${MAX_DOCUMENT_DEPTH} levels`;

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

/** The library's message without its own position suffix and source excerpt (we name the line). */
function describe(err: YAMLError): string {
  const first = err.message.split('\n')[0];
  return first.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '');
}

function lineOf(err: YAMLError, lines: LineCounter): number {
  return err.linePos?.[0]?.line ?? lines.linePos(err.pos[0]).line;
}

/**
 * What is wrong with a decoded value, if anything: nesting past `limit`, or a value JSON cannot
 * hold (a tag such as !!binary decodes to a Buffer). Without recursion: a value may be deep.
 */
function valueProblem(value: unknown, limit: number): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > limit) return `collections nest deeper than ${limit} levels`;
    const proto = Object.getPrototypeOf(v);
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return 'only mappings, lists and plain scalars are supported (no !!binary, !!set or other tags)';
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return undefined;
}

/**
 * Does the text nest flow collections (`[`, `{`) deeper than `limit`? One linear pass, before
 * the library sees the text: its parser gives out (memory, stack) on thousands of levels.
 * Brackets inside quotes and comments do not count; a stray bracket in a plain scalar may, which
 * only matters past `limit` of them.
 */
function flowNestsDeeperThan(text: string, limit: number): number | undefined {
  let depth = 0;
  let line = 1;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > limit) return line;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** Parse every document of `source`; empty documents (only comments or nothing) are skipped. */
export function parseYamlDocuments(source: string): YamlValue[] {
  const deep = flowNestsDeeperThan(source, MAX_DOCUMENT_DEPTH);
  if (deep !== undefined) throw new YamlError(tooDeep, deep);
  const lines = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(source, { lineCounter: lines, version: '1.2', schema: 'core', uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    // The parser recurses per level of flow nesting: a pathological document ends here.
    if (err instanceof RangeError) throw new YamlError(tooDeep);
    throw err;
  }
  // An empty stream parses to an EmptyStream (an array-like with no documents).
  const out: YamlValue[] = [];
  for (const doc of Array.from(docs)) {
    const err = doc.errors[0];
    if (err) throw new YamlError(describe(err), lineOf(err, lines));
    if (doc.contents === null) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      if (e instanceof RangeError) throw new YamlError(tooDeep);
      const line = doc.contents.range ? lines.linePos(doc.contents.range[0]).line : undefined;
      throw new YamlError((e as Error).message, line);
    }
    const problem = valueProblem(value, MAX_DOCUMENT_DEPTH);
    if (problem) throw new YamlError(problem, doc.contents.range ? lines.linePos(doc.contents.range[0]).line : undefined);
    // `---` followed by nothing is an empty document, skipped as kubectl skips it.
    if (value !== null) out.push(value as YamlValue);
  }
  return out;
}

/**
 * Print a value as kubectl's `-o yaml` does: block style, sequences not indented under their
 * key, strings quoted only when a plain form would read back as something else.
 */
export function toYaml(value: unknown): string {
  return stringify(value, { version: '1.2', schema: 'core', indentSeq: false, lineWidth: 0, aliasDuplicateObjects: false });
}
