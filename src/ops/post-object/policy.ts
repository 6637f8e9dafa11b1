// The POST policy document of a browser-based upload (AWS "POST Policy"): base64 JSON with an
// `expiration` (ISO 8601, UTC) and `conditions`: exact matches ({"field": "value"} or
// ["eq", "$field", "value"]), prefixes (["starts-with", "$field", "prefix"]; for Content-Type,
// every entry of a comma-separated list must match) and ["content-length-range", min, max].
// Field names are case-insensitive. Every form field the request sends must be named by some
// condition, except the ones listed in `exemptFields` (and x-ignore-*).
//
// Errors: a document that cannot be read is 400 InvalidPolicyDocument; a request the document
// does not allow is 403 AccessDenied "Invalid according to Policy: …".
import { S3Error } from '../../errors.ts';
import { jsonNestsDeeperThan } from '../../nesting.ts';

export interface PolicyCondition {
  op: 'eq' | 'starts-with';
  /** lower-case form field name, without the '$' */
  field: string;
  value: string;
  /** the condition as AWS prints it in error messages */
  text: string;
}

export interface PostPolicy {
  expiration: Date;
  conditions: PolicyCondition[];
  /** the intersection of every content-length-range condition */
  contentLength?: { min: number; max: number };
}

function invalid(message: string): S3Error {
  return new S3Error('InvalidPolicyDocument', `Invalid Policy: ${message}`);
}

function denied(message: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${message}`);
}

const EXPIRATION = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** ISO 8601 in UTC: 2013-08-01T12:00:00Z or 2013-08-01T12:00:00.000Z; undefined otherwise. */
export function parseExpiration(text: string): Date | undefined {
  const m = EXPIRATION.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== s) return undefined;
  return t;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function lengthBound(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function render(op: string, field: string, value: string): string {
  return `[${JSON.stringify(op)}, ${JSON.stringify('$' + field)}, ${JSON.stringify(value)}]`;
}

/** Decode and validate the `policy` form field. */
export function parsePostPolicy(encoded: string): PostPolicy {
  const compact = encoded.replace(/[\r\n\t ]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw invalid("Invalid 'Base64' encoding.");
  const text = Buffer.from(compact, 'base64').toString('utf8');
  if (jsonNestsDeeperThan(text)) throw invalid('Invalid JSON.');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid('Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('Invalid JSON.');
  const record = doc as Record<string, unknown>;
  if (!('expiration' in record)) throw invalid('Policy missing expiration.');
  const expirationText = record.expiration;
  const expiration = typeof expirationText === 'string' ? parseExpiration(expirationText) : undefined;
  if (!expiration) throw invalid(`Invalid 'expiration' value: '${String(expirationText)}'`);
  if (!('conditions' in record)) throw invalid('Policy missing conditions.');
  const list = record.conditions;
  if (!Array.isArray(list)) throw invalid("Invalid 'conditions' value: must be a List.");

  const conditions: PolicyCondition[] = [];
  let contentLength: PostPolicy['contentLength'];
  for (const item of list) {
    if (Array.isArray(item)) {
      const op = typeof item[0] === 'string' ? item[0].toLowerCase() : undefined;
      if (op === 'content-length-range') {
        const min = lengthBound(item[1]);
        const max = lengthBound(item[2]);
        if (item.length !== 3 || min === undefined || max === undefined || min > max) {
          throw invalid(`Invalid content-length-range condition: ${JSON.stringify(item)}`);
        }
        contentLength = contentLength ? { min: Math.max(contentLength.min, min), max: Math.min(contentLength.max, max) } : { min, max };
        continue;
      }
      if (op !== 'eq' && op !== 'starts-with') throw invalid(`Invalid Condition: ${JSON.stringify(item)}`);
      const target = item[1];
      const value = scalar(item[2]);
      if (item.length !== 3 || typeof target !== 'string' || !target.startsWith('$') || target.length < 2 || value === undefined) {
        throw invalid(`Invalid Condition: ${JSON.stringify(item)}`);
      }
      const field = target.slice(1).toLowerCase();
      conditions.push({ op, field, value, text: render(op, target.slice(1), value) });
    } else if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item as Record<string, unknown>);
      if (entries.length === 0) throw invalid('Invalid Simple-Condition: empty object.');
      for (const [name, raw] of entries) {
        const value = scalar(raw);
        if (value === undefined || name === '') throw invalid(`Invalid Simple-Condition: value of '${name}' must be a string.`);
        conditions.push({ op: 'eq', field: name.toLowerCase(), value, text: render('eq', name, value) });
      }
    } else {
      throw invalid(`Invalid Condition: ${JSON.stringify(item)}`);
    }
  }
  return { expiration, conditions, contentLength };
}

export interface PolicyInput {
  /** the value of each field the request carries, by lower-case name (bucket and key included) */
  values: Map<string, string>;
  /** lower-case names that need no condition */
  exempt: (field: string) => boolean;
  now: Date;
}

/** Whether `value` satisfies one condition (a missing field has the value ''). */
export function conditionHolds(cond: PolicyCondition, value: string): boolean {
  if (cond.op === 'eq') return value === cond.value;
  // AWS: a Content-Type may list several types separated by commas; each must match.
  if (cond.field === 'content-type' && value.includes(',')) return value.split(',').every((v) => v.trim().startsWith(cond.value));
  return value.startsWith(cond.value);
}

/** Throws 403 AccessDenied unless the request satisfies the policy. */
export function checkPostPolicy(policy: PostPolicy, input: PolicyInput): void {
  if (input.now.getTime() >= policy.expiration.getTime()) throw denied('Policy expired.');
  for (const cond of policy.conditions) {
    if (!conditionHolds(cond, input.values.get(cond.field) ?? '')) throw denied(`Policy Condition failed: ${cond.text}`);
  }
  const named = new Set(policy.conditions.map((c) => c.field));
  const extra = [...input.values.keys()].filter((f) => !named.has(f) && !f.startsWith('x-ignore-') && !input.exempt(f));
  if (extra.length > 0) throw denied(`Extra input fields: ${extra.join(', ')}`);
}
