// The LifecycleConfiguration document: parsed and validated as AWS validates it (the error
// codes AWS answers, each checked before anything is stored), and rendered back in the form it
// was given. Transitions name storage classes Strata does not have and are refused.
import { randomBytes } from 'node:crypto';
import { S3Error } from '../errors.ts';
import { parseXml, renderXml, textOf, type XmlObject } from '../xml/xml.ts';
import type { LifecycleConfiguration, LifecycleFilter, LifecycleRule } from './rules.ts';

/** AWS: at most 1,000 rules, IDs of at most 255 characters. */
export const maxRules = 1000;
const maxIdLength = 255;
/** A full configuration of 1,000 rules with And filters fits well within this. */
export const maxLifecycleDocumentBytes = 1024 * 1024;

type Element = Record<string, unknown>;

const ruleElements = new Set([
  'ID', 'Status', 'Prefix', 'Filter', 'Expiration', 'NoncurrentVersionExpiration', 'AbortIncompleteMultipartUpload', 'Transition', 'NoncurrentVersionTransition',
]);

function malformed(): S3Error {
  return new S3Error('MalformedXML');
}

function invalidArgument(message: string): S3Error {
  return new S3Error('InvalidArgument', message);
}

/** An element with children: the white space between them (an indented document) is not text. */
function element(value: unknown): Element | undefined {
  if (typeof value === 'string') return value.trim() === '' ? {} : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { '#text': text, ...children } = value as Element;
  if (text !== undefined && String(text).trim() !== '') return undefined;
  return children;
}

/** A non-negative integer element; MalformedXML for anything else (AWS: the schema's xsd:int). */
function integer(value: unknown): number {
  const text = textOf(value)?.trim();
  if (text === undefined || !/^\d{1,15}$/.test(text)) throw malformed();
  return Number(text);
}

function positiveDays(value: unknown, what: string): number {
  const n = integer(value);
  if (n < 1) throw invalidArgument(`'${what}' in the ${what === 'Days' ? 'Expiration' : 'lifecycle'} action must be a positive integer`);
  return n;
}

function tagOf(value: unknown): [string, string] {
  const t = element(value);
  const key = textOf(t?.Key);
  const val = textOf(t?.Value) ?? '';
  if (t === undefined || key === undefined) throw malformed();
  if (key.length < 1 || key.length > 128 || val.length > 256) throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid');
  return [key, val];
}

function sizeBounds(e: Element): { sizeGreaterThan?: number; sizeLessThan?: number } {
  const out: { sizeGreaterThan?: number; sizeLessThan?: number } = {};
  if (e.ObjectSizeGreaterThan !== undefined) out.sizeGreaterThan = integer(e.ObjectSizeGreaterThan);
  if (e.ObjectSizeLessThan !== undefined) out.sizeLessThan = integer(e.ObjectSizeLessThan);
  if (out.sizeLessThan !== undefined && out.sizeLessThan < 1) throw invalidArgument('ObjectSizeLessThan must be greater than 0');
  if (out.sizeGreaterThan !== undefined && out.sizeLessThan !== undefined && out.sizeGreaterThan >= out.sizeLessThan) {
    throw invalidArgument('ObjectSizeGreaterThan must be less than ObjectSizeLessThan');
  }
  return out;
}

/**
 * A Filter: empty (every object), or Prefix, Tag, size bounds and And. Deliberate difference:
 * AWS allows one of them and refuses several with MalformedXML; Ceph RGW takes several as their
 * conjunction, ceph/s3-tests' tag and size expiration tests send such filters, and their meaning
 * is plain, so Strata takes them as Ceph does (and returns them as they were given).
 */
function parseFilter(value: unknown): LifecycleFilter {
  const f = element(value);
  if (!f) throw malformed();
  for (const name of Object.keys(f)) if (!['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'].includes(name)) throw malformed();
  const filter: LifecycleFilter = { ...sizeBounds(f) };
  if (f.Prefix !== undefined) filter.prefix = textOf(f.Prefix) ?? '';
  if (f.Tag !== undefined) {
    const tags = f.Tag as unknown[];
    if (tags.length !== 1) throw malformed();
    filter.tag = tagOf(tags[0]);
  }
  if (f.And === undefined) return filter;
  const and = element(f.And);
  if (!and) throw malformed();
  for (const name of Object.keys(and)) if (!['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'].includes(name)) throw malformed();
  const tags = ((and.Tag as unknown[] | undefined) ?? []).map(tagOf);
  if (new Set(tags.map(([k]) => k)).size !== tags.length) throw invalidArgument('Duplicate Tag Keys are not allowed.');
  const result = { ...(and.Prefix !== undefined ? { prefix: textOf(and.Prefix) ?? '' } : {}), tags, ...sizeBounds(and) };
  // An And puts predicates together: one with none is not a filter.
  const count = (result.prefix !== undefined ? 1 : 0) + tags.length + (result.sizeGreaterThan !== undefined ? 1 : 0) + (result.sizeLessThan !== undefined ? 1 : 0);
  if (count === 0) throw malformed();
  return { ...filter, and: result };
}

/** ISO 8601 at midnight UTC (AWS refuses any other time of day). */
function parseDate(value: unknown): string {
  const text = textOf(value)?.trim() ?? '';
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]00:?00)?)?$/.exec(text);
  if (!m) throw invalidArgument("'Date' must be in ISO 8601 format");
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(m[3])) throw invalidArgument("'Date' must be in ISO 8601 format");
  if ((m[4] && m[4] !== '00') || (m[5] && m[5] !== '00') || (m[6] && m[6] !== '00') || (m[7] && Number(m[7]) !== 0)) {
    throw invalidArgument("'Date' must be at midnight GMT");
  }
  return new Date(ms).toISOString();
}

function parseExpiration(value: unknown): NonNullable<LifecycleRule['expiration']> {
  const e = element(value);
  if (!e) throw malformed();
  const given = ['Days', 'Date', 'ExpiredObjectDeleteMarker'].filter((name) => e[name] !== undefined);
  if (given.length !== 1 || Object.keys(e).length !== 1) throw malformed();
  if (e.Days !== undefined) return { days: positiveDays(e.Days, 'Days') };
  if (e.Date !== undefined) return { date: parseDate(e.Date) };
  const marker = textOf(e.ExpiredObjectDeleteMarker)?.trim();
  if (marker !== 'true' && marker !== 'false') throw malformed();
  return { expiredObjectDeleteMarker: marker === 'true' };
}

function parseNoncurrent(value: unknown): NonNullable<LifecycleRule['noncurrentVersionExpiration']> {
  const n = element(value);
  if (!n || n.NoncurrentDays === undefined) throw malformed();
  for (const name of Object.keys(n)) if (name !== 'NoncurrentDays' && name !== 'NewerNoncurrentVersions') throw malformed();
  const result: NonNullable<LifecycleRule['noncurrentVersionExpiration']> = { noncurrentDays: positiveDays(n.NoncurrentDays, 'NoncurrentDays') };
  if (n.NewerNoncurrentVersions !== undefined) {
    const newer = integer(n.NewerNoncurrentVersions);
    if (newer < 1 || newer > 100) throw invalidArgument("'NewerNoncurrentVersions' must be an integer between 1 and 100");
    result.newerNoncurrentVersions = newer;
  }
  return result;
}

function parseRule(value: unknown): LifecycleRule {
  const r = element(value);
  if (!r) throw malformed();
  for (const name of Object.keys(r)) if (!ruleElements.has(name)) throw malformed();
  if (r.Transition !== undefined || r.NoncurrentVersionTransition !== undefined) {
    // Deliberate: AWS accepts transitions to its archive classes; Strata has only STANDARD.
    throw new S3Error('InvalidStorageClass', 'Strata keeps every object in one storage class (STANDARD): lifecycle Transition and NoncurrentVersionTransition are not supported.');
  }
  const id = textOf(r.ID);
  if (id !== undefined && id.length > maxIdLength) throw invalidArgument('ID length should not exceed allowed limit of 255');
  const status = textOf(r.Status);
  if (status !== 'Enabled' && status !== 'Disabled') throw malformed();
  // A rule names its objects with the legacy Prefix or with a Filter: one of them, not both.
  if ((r.Prefix === undefined) === (r.Filter === undefined)) throw malformed();
  const rule: LifecycleRule = { id: id || randomBytes(24).toString('base64url'), status };
  if (r.Prefix !== undefined) rule.prefix = textOf(r.Prefix) ?? '';
  else rule.filter = parseFilter(r.Filter);
  if (r.Expiration !== undefined) rule.expiration = parseExpiration(r.Expiration);
  if (r.NoncurrentVersionExpiration !== undefined) rule.noncurrentVersionExpiration = parseNoncurrent(r.NoncurrentVersionExpiration);
  if (r.AbortIncompleteMultipartUpload !== undefined) {
    const a = element(r.AbortIncompleteMultipartUpload);
    if (!a || a.DaysAfterInitiation === undefined || Object.keys(a).length !== 1) throw malformed();
    rule.abortIncompleteMultipartUpload = { daysAfterInitiation: positiveDays(a.DaysAfterInitiation, 'DaysAfterInitiation') };
  }
  if (!rule.expiration && !rule.noncurrentVersionExpiration && !rule.abortIncompleteMultipartUpload) {
    throw new S3Error('InvalidRequest', 'At least one action needs to be specified in a rule');
  }
  const tagged = rule.filter?.tag !== undefined || (rule.filter?.and?.tags.length ?? 0) > 0;
  if (tagged && rule.expiration?.expiredObjectDeleteMarker !== undefined) {
    throw new S3Error('InvalidRequest', 'ExpiredObjectDeleteMarker cannot be specified with a tag-based filter');
  }
  if (tagged && rule.abortIncompleteMultipartUpload) throw new S3Error('InvalidRequest', 'AbortIncompleteMultipartUpload cannot be specified with Tags.');
  return rule;
}

export function parseLifecycleDocument(body: Buffer | string): LifecycleConfiguration {
  const doc = parseXml(body, { arrays: ['Rule', 'Tag'], errorCode: 'MalformedXML' });
  const root = element(doc.LifecycleConfiguration);
  if (!root) throw malformed();
  for (const name of Object.keys(root)) if (name !== 'Rule' && !name.startsWith('@_')) throw malformed();
  const rules = ((root.Rule as unknown[] | undefined) ?? []).map(parseRule);
  if (rules.length === 0 || rules.length > maxRules) throw malformed();
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id)) throw invalidArgument('Rule ID must be unique. Found same ID for more than one rule');
    ids.add(rule.id);
  }
  return { rules };
}

function renderTag([Key, Value]: [string, string]): XmlObject {
  return { Key, Value };
}

function renderFilter(f: LifecycleFilter): XmlObject {
  return {
    Prefix: f.prefix,
    Tag: f.tag ? renderTag(f.tag) : undefined,
    ObjectSizeGreaterThan: f.sizeGreaterThan,
    ObjectSizeLessThan: f.sizeLessThan,
    And: f.and
      ? { Prefix: f.and.prefix, Tag: f.and.tags.map(renderTag), ObjectSizeGreaterThan: f.and.sizeGreaterThan, ObjectSizeLessThan: f.and.sizeLessThan }
      : undefined,
  };
}

export function renderLifecycleDocument(config: LifecycleConfiguration): string {
  const Rule = config.rules.map((r): XmlObject => ({
    ID: r.id,
    Prefix: r.prefix,
    Filter: r.filter ? renderFilter(r.filter) : undefined,
    Status: r.status,
    Expiration: r.expiration
      ? { Days: r.expiration.days, Date: r.expiration.date, ExpiredObjectDeleteMarker: r.expiration.expiredObjectDeleteMarker }
      : undefined,
    NoncurrentVersionExpiration: r.noncurrentVersionExpiration
      ? { NoncurrentDays: r.noncurrentVersionExpiration.noncurrentDays, NewerNoncurrentVersions: r.noncurrentVersionExpiration.newerNoncurrentVersions }
      : undefined,
    AbortIncompleteMultipartUpload: r.abortIncompleteMultipartUpload ? { DaysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation } : undefined,
  }));
  return renderXml('LifecycleConfiguration', { Rule });
}
