// XML in and out. Responses are rendered by a small escaping serializer (fast, and every
// value passes through escapeXml); request documents are parsed with fast-xml-parser with
// entity expansion off and a hard size cap applied by the caller before parsing.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { xmlNestsDeeperThan } from '../nesting.ts';
import { S3Error } from '../errors.ts';

export const s3Namespace = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** A value renders as text; an object as child elements; an array as repeated elements. */
export type XmlValue = string | number | boolean | bigint | null | undefined | XmlObject | XmlValue[];
export interface XmlObject {
  [element: string]: XmlValue;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };

// One test decides whether a string needs any work: most keys, ETags and dates do not, and a
// listing page renders thousands of them.
const needsTextEscape = /[&<>\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const needsAttrEscape = /[&<>"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/** Escape element text: quotes need no escaping there. */
export function escapeText(text: string): string {
  if (!needsTextEscape.test(text)) return text;
  return text.replace(/[&<>\r]/g, (c) => escapes[c]).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
}

/** Escape an attribute value (also usable for text). */
export function escapeXml(text: string): string {
  if (!needsAttrEscape.test(text)) return text;
  // Characters XML 1.0 cannot carry at all are dropped rather than producing a broken document.
  return text.replace(/[&<>"'\r]/g, (c) => escapes[c]).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
}

const AT = 64; // '@'

/**
 * A child key whose value is a list of [element, value] pairs, rendered in that order: for
 * documents that interleave elements of different names (ListVersionsResult's Version and
 * DeleteMarker entries, in key order).
 */
export const SEQUENCE = '#sequence';

/** Render a child: the SEQUENCE key's pairs in order, any other key as an element. */
function renderChild(key: string, value: XmlValue, out: string[]): void {
  if (key !== SEQUENCE) return renderValue(key, value, out);
  for (const pair of value as [string, XmlValue][]) renderValue(pair[0], pair[1], out);
}

function renderValue(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) renderValue(name, item, out);
    return;
  }
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
      out.push(`<${name}>${value}</${name}>`);
      return;
    case 'object': {
      // Keys starting with '@' are attributes of this element (e.g. xsi:type on an ACL Grantee).
      let attrs = '';
      for (const key in value) if (key.charCodeAt(0) === AT) attrs += ` ${key.slice(1)}="${escapeXml(String(value[key]))}"`;
      out.push(`<${name}${attrs}>`);
      for (const key in value) if (key.charCodeAt(0) !== AT) renderChild(key, value[key], out);
      out.push(`</${name}>`);
      return;
    }
    default:
      out.push(`<${name}>${escapeText(String(value))}</${name}>`);
  }
}

/** Render `<root xmlns=...>children</root>` with an XML declaration. */
export function renderXml(root: string, children: XmlObject, attributes: Record<string, string> = { xmlns: s3Namespace }): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  const attrs = Object.entries(attributes).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  out.push(`<${root}${attrs}>`);
  for (const [child, value] of Object.entries(children)) renderChild(child, value, out);
  out.push(`</${root}>`);
  return out.join('');
}

export interface ParseOptions {
  /** Element names that must always parse as arrays, even when they occur once. */
  arrays?: string[];
  /** Keep every text value a string (S3 documents are typed by the reader, not the parser). */
  errorCode?: 'MalformedXML' | 'MalformedACLError' | 'InvalidTag';
}

/**
 * Parse a request document. Namespace prefixes are removed, attributes kept under '@_'
 * (needed for xsi:type in ACL grants). Anything that is not well-formed XML is MalformedXML.
 */
export function parseXml(body: Buffer | string, options: ParseOptions = {}): Record<string, unknown> {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const code = options.errorCode ?? 'MalformedXML';
  // DTDs are refused outright: no entity definitions, so no entity-expansion attacks.
  // Nesting is bounded before the validator and parser recurse into it (no S3 document nests deeper).
  if (text.trim() === '' || /<!DOCTYPE|<!ENTITY/i.test(text) || xmlNestsDeeperThan(text) || XMLValidator.validate(text) !== true) throw new S3Error(code);
  const arrays = new Set(options.arrays ?? []);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: true,
    htmlEntities: true,
    ignoreDeclaration: true,
    isArray: (name) => arrays.has(name),
  });
  try {
    const parsed = parser.parse(text) as Record<string, unknown>;
    if (typeof parsed !== 'object' || parsed === null) throw new S3Error(code);
    return parsed;
  } catch (err) {
    if (err instanceof S3Error) throw err;
    throw new S3Error(code);
  }
}

/** Text content of a parsed element ('' for an empty element, undefined when absent). */
export function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && '#text' in (value as Record<string, unknown>)) return String((value as Record<string, unknown>)['#text']);
  if (typeof value === 'object' && Object.keys(value as object).length === 0) return '';
  return undefined;
}
