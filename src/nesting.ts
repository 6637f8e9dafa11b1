// Nesting-depth bounds for the documents clients send (bucket policies, admin JSON, S3's XML
// bodies, manifests). Parsers and the readers that walk their output recurse once per level, so a
// small body of 11,000 nested arrays overflows the stack and answers 500 instead of the
// document's own error. These scanners measure the depth in one linear pass over the text,
// before anything parses or walks it, without recursion of their own.
//
// The limits are far above what any valid document needs (a bucket policy nests 6 levels:
// Statement [ { Condition { operator { key [ ... ; the deepest S3 XML, a lifecycle rule's
// And/Tag/Key, 6 elements), and far below where Node's stack gives out (thousands).

/** The deepest any JSON or XML document Strata reads may nest. */
export const MAX_DOCUMENT_DEPTH = 32;

/** Does the JSON text nest arrays and objects deeper than `limit`? Brackets inside strings do not count. */
export function jsonNestsDeeperThan(text: string, limit = MAX_DOCUMENT_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

/**
 * Does the XML text nest elements deeper than `limit`? Comments, CDATA sections, processing
 * instructions and declarations are skipped whole; `>` inside a quoted attribute value does not
 * end a tag; `<x/>` opens nothing. Malformed text may be miscounted, which only matters for text
 * the XML validator refuses anyway.
 */
export function xmlNestsDeeperThan(text: string, limit = MAX_DOCUMENT_DEPTH): boolean {
  let depth = 0;
  let i = text.indexOf('<');
  while (i >= 0 && i < text.length) {
    const next = text.charCodeAt(i + 1);
    if (text.startsWith('<!--', i)) i = endOf(text, '-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) i = endOf(text, ']]>', i + 9);
    else if (next === 0x3f /* ? */ || next === 0x21 /* ! */) i = endOf(text, '>', i + 2);
    else if (next === 0x2f /* / */) {
      depth--;
      i = endOf(text, '>', i + 2);
    } else {
      const close = endOfTag(text, i + 1);
      if (text.charCodeAt(close - 2) !== 0x2f /* / */ && ++depth > limit) return true;
      i = close;
    }
    i = text.indexOf('<', i);
  }
  return false;
}

/** Index just after `terminator` at or after `from`, or the text's end. */
function endOf(text: string, terminator: string, from: number): number {
  const at = text.indexOf(terminator, from);
  return at < 0 ? text.length : at + terminator.length;
}

/** Index just after the `>` closing a start tag, skipping quoted attribute values. */
function endOfTag(text: string, from: number): number {
  let quote = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3e /* > */) return i + 1;
  }
  return text.length;
}
