// The CORSConfiguration document of PutBucketCors / GetBucketCors: parsed and validated as AWS
// validates it, and rendered back in AWS's element order. Pure (no HTTP, no store).
//
// What AWS refuses, and with which error (checked on AWS by others and in ceph/s3-tests):
//   MalformedXML: not XML, another root, no rule or more than 100, an unknown element or text
//     anywhere, a rule without AllowedOrigin or AllowedMethod, a nested element in a value,
//     MaxAgeSeconds that is not a decimal integer in 0..2^31-1, ID longer than 255 characters,
//     ID or MaxAgeSeconds twice in one rule. The whole document's structure is checked first.
//   InvalidRequest, then, rule by rule: an AllowedMethod other than GET PUT POST DELETE HEAD
//     ("Found unsupported HTTP method in CORS config. Unsupported method is X"), an AllowedOrigin
//     or AllowedHeader with more than one '*', an ExposeHeader with any '*'.
// Values are kept as sent (case, surrounding spaces): origins match case-sensitively as AWS
// matches them; header names match case-insensitively (src/cors/match.ts).
import { S3Error } from '../errors.ts';
import type { CorsRule } from '../store/types.ts';
import { parseXml, renderXml, type XmlObject } from '../xml/xml.ts';

export const maxCorsRules = 100;
/** AWS caps the document at 64 KB. */
export const maxCorsDocumentBytes = 64 * 1024;
export const corsMethods = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
const maxIdLength = 255;
const maxAgeLimit = 2 ** 31 - 1;

const ruleElements = ['ID', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds'];

/** A value element's text; a nested element or an attribute-only object is malformed. */
function valueOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => !k.startsWith('@_'));
    if (keys.length === 0) return '';
    if (keys.length === 1 && keys[0] === '#text') return String((value as Record<string, unknown>)['#text']);
  }
  throw new S3Error('MalformedXML');
}

function hasText(node: Record<string, unknown>): boolean {
  const text = node['#text'];
  return text !== undefined && String(text).trim() !== '';
}

function unknownChildren(node: Record<string, unknown>, known: string[]): boolean {
  return Object.keys(node).some((k) => k !== '#text' && !k.startsWith('@_') && !known.includes(k));
}

/** The structure of one CORSRule (MalformedXML checks only). */
function readRule(node: unknown): CorsRule {
  if (!node || typeof node !== 'object') throw new S3Error('MalformedXML');
  const el = node as Record<string, unknown>;
  if (hasText(el) || unknownChildren(el, ruleElements)) throw new S3Error('MalformedXML');
  const list = (name: string) => ((el[name] as unknown[] | undefined) ?? []).map(valueOf);
  const rule: CorsRule = {
    allowedOrigins: list('AllowedOrigin'),
    allowedMethods: list('AllowedMethod'),
    allowedHeaders: list('AllowedHeader'),
    exposeHeaders: list('ExposeHeader'),
  };
  if (rule.allowedOrigins.length === 0 || rule.allowedMethods.length === 0) throw new S3Error('MalformedXML');
  const ids = list('ID');
  if (ids.length > 1 || (ids[0] !== undefined && ids[0].length > maxIdLength)) throw new S3Error('MalformedXML');
  if (ids.length === 1) rule.id = ids[0];
  const ages = list('MaxAgeSeconds');
  if (ages.length > 1) throw new S3Error('MalformedXML');
  if (ages.length === 1) {
    if (!/^\d+$/.test(ages[0]) || Number(ages[0]) > maxAgeLimit) throw new S3Error('MalformedXML');
    rule.maxAgeSeconds = Number(ages[0]);
  }
  return rule;
}

const wildcards = (value: string) => value.split('*').length - 1;

/** The InvalidRequest checks of one rule, in AWS's order. */
function checkRule(rule: CorsRule): void {
  for (const method of rule.allowedMethods) {
    if (!(corsMethods as readonly string[]).includes(method)) {
      throw new S3Error('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`);
    }
  }
  for (const origin of rule.allowedOrigins) {
    if (wildcards(origin) > 1) throw new S3Error('InvalidRequest', `AllowedOrigin "${origin}" can not have more than one wildcard.`);
  }
  for (const header of rule.allowedHeaders) {
    if (wildcards(header) > 1) throw new S3Error('InvalidRequest', `AllowedHeader "${header}" can not have more than one wildcard.`);
  }
  for (const header of rule.exposeHeaders) {
    if (wildcards(header) > 0) {
      throw new S3Error('InvalidRequest', `ExposeHeader "${header}" contains wildcard. We currently do not support wildcard for ExposeHeader.`);
    }
  }
}

/** Parse and validate a PutBucketCors body (already capped at maxCorsDocumentBytes). */
export function parseCorsConfiguration(body: Buffer | string): CorsRule[] {
  const doc = parseXml(body, { arrays: ['CORSRule', ...ruleElements], errorCode: 'MalformedXML' });
  const roots = Object.keys(doc).filter((k) => !k.startsWith('@_') && k !== '#text');
  if (roots.length !== 1 || roots[0] !== 'CORSConfiguration' || hasText(doc)) throw new S3Error('MalformedXML');
  const config = doc.CORSConfiguration;
  if (!config || typeof config !== 'object') throw new S3Error('MalformedXML');
  const root = config as Record<string, unknown>;
  if (hasText(root) || unknownChildren(root, ['CORSRule'])) throw new S3Error('MalformedXML');
  const nodes = (root.CORSRule as unknown[] | undefined) ?? [];
  if (nodes.length === 0 || nodes.length > maxCorsRules) throw new S3Error('MalformedXML');
  const rules = nodes.map(readRule);
  for (const rule of rules) checkRule(rule);
  return rules;
}

/** The GetBucketCors document, elements in the order AWS writes them. */
export function renderCorsConfiguration(rules: CorsRule[]): string {
  const CORSRule: XmlObject[] = rules.map((rule) => ({
    ID: rule.id,
    AllowedMethod: rule.allowedMethods,
    AllowedOrigin: rule.allowedOrigins,
    AllowedHeader: rule.allowedHeaders,
    MaxAgeSeconds: rule.maxAgeSeconds,
    ExposeHeader: rule.exposeHeaders,
  }));
  return renderXml('CORSConfiguration', { CORSRule });
}
