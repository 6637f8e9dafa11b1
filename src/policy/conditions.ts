// Condition keys and condition operators: validation and compilation of a policy's Condition
// block into predicates over the request's condition values.
//
// Semantics follow AWS (reference §1.5 and decision §7.2), not Ceph's quirks:
// - several values under one key are OR'd; negated operators (StringNotEquals, StringNotLike,
//   StringNotEqualsIgnoreCase, NumericNotEquals, DateNotEquals, NotIpAddress) are true only if
//   the request value matches none of them. Ceph ORs the negation: `StringNotEquals [A,B]` is true
//   for A there.
// - a missing key makes a positive operator false and a negated operator true (AWS: "If the
//   policy condition requires that the key is not matched ... and the right key is not present,
//   the condition is true"). Ceph makes every plain operator false on a missing key.
// - …IfExists: true when the key is missing; otherwise the base operator.
// - ForAllValues: true when the key is missing (or has no values); otherwise every request value
//   must satisfy the operator. ForAnyValue: false when missing; otherwise at least one must.
// - Null honours its value: "true" means the key is absent, "false" that it is present. Ceph
//   ignores the value and only tests absence.
// - Bool compares lower-cased "true"/"false"; Ceph's as_bool treats any other string as true.
// Condition key names match case-insensitively (AWS); operator names are case-sensitive (AWS
// answers "Invalid Condition type" for a mis-cased operator).

import { S3Error } from '../errors.ts';
import { compileWildcard } from './wildcard.ts';
import {
  canonicalBase64, cidrContains, parseCidr, parseDate, parseDateCached, parseIpCached, parseNumber,
  type Cidr,
} from './values.ts';

/**
 * Condition values of one request, keyed by condition key name in its normalised form (see
 * `conditionKey`): lower-cased, except the tag-key suffix of `s3:RequestObjectTag/<tag>` and
 * `s3:ExistingObjectTag/<tag>`, which keeps its case because S3 tag keys are case-sensitive.
 * An absent key, or a key mapped to an empty array, is a *missing* key. Multi-valued keys
 * (s3:RequestObjectTagKeys) carry several strings; every other key carries one.
 */
export type ConditionValues = ReadonlyMap<string, readonly string[]>;

// ---------------------------------------------------------------------------------------------
// Keys

/** The single-valued and multi-valued keys Strata knows, canonical AWS spelling. */
export const CONDITION_KEYS = [
  'aws:CurrentTime', // ISO-8601 date-time (AWS format; Ceph puts epoch seconds here)
  'aws:EpochTime', // epoch seconds (AWS format; Ceph puts ISO-8601 here)
  'aws:PrincipalType', // 'Anonymous' for unsigned requests, 'User' for keys
  'aws:Referer',
  'aws:SecureTransport', // always present: 'true' | 'false' (Ceph omits it over plain HTTP)
  'aws:SourceIp',
  'aws:SourceArn', // service principals: the resource the service acts for (the logged bucket)
  'aws:SourceAccount', // service principals: the account (organisation) that owns it
  'aws:UserAgent',
  'aws:username',
  'aws:userid',
  's3:prefix',
  's3:delimiter',
  's3:max-keys',
  's3:x-amz-acl',
  's3:x-amz-grant-read',
  's3:x-amz-grant-write',
  's3:x-amz-grant-read-acp',
  's3:x-amz-grant-write-acp',
  's3:x-amz-grant-full-control',
  's3:x-amz-copy-source',
  's3:x-amz-server-side-encryption',
  's3:x-amz-server-side-encryption-aws-kms-key-id',
  's3:x-amz-server-side-encryption-customer-algorithm',
  's3:x-amz-metadata-directive',
  's3:RequestObjectTagKeys',
  's3:VersionId',
] as const;

/** Keys that take a tag key after the slash: `s3:RequestObjectTag/<tag-key>`. */
export const CONDITION_KEY_PREFIXES = ['s3:RequestObjectTag/', 's3:ExistingObjectTag/'] as const;

/** Normalised names (map keys of ConditionValues) of the known keys, for callers. */
export const CK = {
  CurrentTime: 'aws:currenttime',
  EpochTime: 'aws:epochtime',
  PrincipalType: 'aws:principaltype',
  Referer: 'aws:referer',
  SecureTransport: 'aws:securetransport',
  SourceIp: 'aws:sourceip',
  SourceArn: 'aws:sourcearn',
  SourceAccount: 'aws:sourceaccount',
  UserAgent: 'aws:useragent',
  Username: 'aws:username',
  Userid: 'aws:userid',
  Prefix: 's3:prefix',
  Delimiter: 's3:delimiter',
  MaxKeys: 's3:max-keys',
  Acl: 's3:x-amz-acl',
  GrantRead: 's3:x-amz-grant-read',
  GrantWrite: 's3:x-amz-grant-write',
  GrantReadAcp: 's3:x-amz-grant-read-acp',
  GrantWriteAcp: 's3:x-amz-grant-write-acp',
  GrantFullControl: 's3:x-amz-grant-full-control',
  CopySource: 's3:x-amz-copy-source',
  ServerSideEncryption: 's3:x-amz-server-side-encryption',
  SseKmsKeyId: 's3:x-amz-server-side-encryption-aws-kms-key-id',
  SseCustomerAlgorithm: 's3:x-amz-server-side-encryption-customer-algorithm',
  MetadataDirective: 's3:x-amz-metadata-directive',
  RequestObjectTagKeys: 's3:requestobjecttagkeys',
  VersionId: 's3:versionid',
} as const;

const REQUEST_TAG_PREFIX = 's3:requestobjecttag/';
const EXISTING_TAG_PREFIX = 's3:existingobjecttag/';

const knownKeys = new Set<string>(CONDITION_KEYS.map((k) => k.toLowerCase()));

/** Map key for `s3:RequestObjectTag/<tag>` (the tag key keeps its case). */
export function requestObjectTagKey(tag: string): string {
  return REQUEST_TAG_PREFIX + tag;
}

/** Map key for `s3:ExistingObjectTag/<tag>` (the tag key keeps its case). */
export function existingObjectTagKey(tag: string): string {
  return EXISTING_TAG_PREFIX + tag;
}

/**
 * Normalise a condition key name (any case) to its ConditionValues map key. Names that are not
 * known keys are lower-cased as they are; use `conditionKey` to validate.
 */
export function normalizeConditionKey(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return name.toLowerCase();
  return name.slice(0, slash + 1).toLowerCase() + name.slice(slash + 1);
}

/** The normalised map key of a known condition key name (any case), or undefined if unknown. */
export function conditionKey(name: string): string | undefined {
  const norm = normalizeConditionKey(name);
  if (knownKeys.has(norm)) return norm;
  for (const prefix of [REQUEST_TAG_PREFIX, EXISTING_TAG_PREFIX]) {
    if (norm.startsWith(prefix)) {
      const tag = norm.slice(prefix.length);
      // S3 tag keys are 1..128 characters.
      return tag.length >= 1 && tag.length <= 128 ? norm : undefined;
    }
  }
  return undefined;
}

export function isExistingObjectTagKey(normalised: string): boolean {
  return normalised.startsWith(EXISTING_TAG_PREFIX);
}

type ValueInput = string | number | boolean | readonly string[] | undefined;

/**
 * Build ConditionValues from a plain record of key names (any case) to values; undefined
 * values are left out (missing). Numbers and booleans become strings.
 */
export function conditionValues(record: Readonly<Record<string, ValueInput>>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of Object.keys(record)) {
    const v = record[name];
    if (v === undefined) continue;
    out.set(normalizeConditionKey(name), typeof v === 'object' ? [...v] : [String(v)]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Operators

type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'Ip' | 'Null';
type Comparison = 'eq' | 'eqi' | 'like' | 'lt' | 'le' | 'gt' | 'ge' | 'in';

interface OperatorSpec {
  readonly family: Family;
  readonly cmp: Comparison;
  /** Negated operator: true iff no policy value matches. */
  readonly negated: boolean;
}

const BASE_OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map<string, OperatorSpec>([
  ['StringEquals', { family: 'String', cmp: 'eq', negated: false }],
  ['StringNotEquals', { family: 'String', cmp: 'eq', negated: true }],
  ['StringEqualsIgnoreCase', { family: 'String', cmp: 'eqi', negated: false }],
  ['StringNotEqualsIgnoreCase', { family: 'String', cmp: 'eqi', negated: true }],
  ['StringLike', { family: 'String', cmp: 'like', negated: false }],
  ['StringNotLike', { family: 'String', cmp: 'like', negated: true }],
  ['NumericEquals', { family: 'Numeric', cmp: 'eq', negated: false }],
  ['NumericNotEquals', { family: 'Numeric', cmp: 'eq', negated: true }],
  ['NumericLessThan', { family: 'Numeric', cmp: 'lt', negated: false }],
  ['NumericLessThanEquals', { family: 'Numeric', cmp: 'le', negated: false }],
  ['NumericGreaterThan', { family: 'Numeric', cmp: 'gt', negated: false }],
  ['NumericGreaterThanEquals', { family: 'Numeric', cmp: 'ge', negated: false }],
  ['DateEquals', { family: 'Date', cmp: 'eq', negated: false }],
  ['DateNotEquals', { family: 'Date', cmp: 'eq', negated: true }],
  ['DateLessThan', { family: 'Date', cmp: 'lt', negated: false }],
  ['DateLessThanEquals', { family: 'Date', cmp: 'le', negated: false }],
  ['DateGreaterThan', { family: 'Date', cmp: 'gt', negated: false }],
  ['DateGreaterThanEquals', { family: 'Date', cmp: 'ge', negated: false }],
  ['Bool', { family: 'Bool', cmp: 'eq', negated: false }],
  ['BinaryEquals', { family: 'Binary', cmp: 'eq', negated: false }],
  ['IpAddress', { family: 'Ip', cmp: 'in', negated: false }],
  ['NotIpAddress', { family: 'Ip', cmp: 'in', negated: true }],
  ['Null', { family: 'Null', cmp: 'eq', negated: false }],
  // ARN operators: for aws:SourceArn (access-log delivery policies); compared as case-sensitive
  // strings with * and ? wildcards, which is how AWS compares ARNs of S3 buckets.
  ['ArnEquals', { family: 'String', cmp: 'like', negated: false }],
  ['ArnLike', { family: 'String', cmp: 'like', negated: false }],
  ['ArnNotEquals', { family: 'String', cmp: 'like', negated: true }],
  ['ArnNotLike', { family: 'String', cmp: 'like', negated: true }],
]);

/** The base operator names (without IfExists / ForAnyValue: / ForAllValues:). */
export const CONDITION_OPERATORS: readonly string[] = [...BASE_OPERATORS.keys()];

type Qualifier = 'none' | 'any' | 'all';

export interface ParsedOperator {
  readonly name: string;
  readonly base: string;
  readonly spec: OperatorSpec;
  readonly ifExists: boolean;
  readonly qualifier: Qualifier;
}

function invalidConditionType(op: string): S3Error {
  return new S3Error('MalformedPolicy', `Invalid Condition type : ${op}`);
}

/**
 * Parse `ForAnyValue:StringLikeIfExists` style operator names. Case-sensitive, like AWS.
 * Set qualifiers are accepted on the String* operators only; IfExists on anything but Null.
 */
export function parseOperator(name: string): ParsedOperator {
  let rest = name;
  let qualifier: Qualifier = 'none';
  if (rest.startsWith('ForAnyValue:')) {
    qualifier = 'any';
    rest = rest.slice('ForAnyValue:'.length);
  } else if (rest.startsWith('ForAllValues:')) {
    qualifier = 'all';
    rest = rest.slice('ForAllValues:'.length);
  }
  let ifExists = false;
  let spec = BASE_OPERATORS.get(rest);
  if (spec === undefined && rest.endsWith('IfExists')) {
    rest = rest.slice(0, -'IfExists'.length);
    spec = BASE_OPERATORS.get(rest);
    ifExists = true;
  }
  if (spec === undefined) throw invalidConditionType(name);
  if (spec.family === 'Null' && (ifExists || qualifier !== 'none')) throw invalidConditionType(name);
  if (qualifier !== 'none' && spec.family !== 'String') throw invalidConditionType(name);
  return { name, base: rest, spec, ifExists, qualifier };
}

// ---------------------------------------------------------------------------------------------
// Compilation

export interface CompiledCondition {
  /** Operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  /** Key as written in the policy. */
  readonly keyName: string;
  /** Normalised key: the ConditionValues map key this condition reads. */
  readonly key: string;
  /** The policy's values, as strings (for explanations). */
  readonly values: readonly string[];
  /** Request values for the key (undefined if absent) → condition holds. */
  readonly test: (values: readonly string[] | undefined) => boolean;
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

/** Policy-side condition values as strings (IAM: quotes are optional for numbers and booleans). */
function policyValueStrings(op: string, keyName: string, raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw malformed(`Condition ${op} for key ${keyName} has no values`);
  return list.map((v) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    throw malformed(`Invalid value for condition ${op} ${keyName}: values must be strings, numbers or booleans`);
  });
}

type ValuePredicate = (v: string) => boolean;

function numericCompare(cmp: Comparison, a: number, b: number): boolean {
  switch (cmp) {
    case 'eq': return a === b;
    case 'lt': return a < b;
    case 'le': return a <= b;
    case 'gt': return a > b;
    case 'ge': return a >= b;
    default: return false;
  }
}

/** A predicate "request value matches at least one policy value" for the operator's family. */
function buildPositivePredicate(op: ParsedOperator, keyName: string, values: string[]): ValuePredicate {
  const { family, cmp } = op.spec;
  switch (family) {
    case 'String': {
      if (cmp === 'eq') {
        if (values.length === 1) {
          const only = values[0]!;
          return (v) => v === only;
        }
        const set = new Set(values);
        return (v) => set.has(v);
      }
      if (cmp === 'eqi') {
        const set = new Set(values.map((x) => x.toLowerCase()));
        return (v) => set.has(v.toLowerCase());
      }
      // StringLike: case-sensitive, * and ? anywhere. ${...} is literal (decision §7.6).
      const matchers = values.map((x) => compileWildcard(x, false));
      if (matchers.length === 1) return matchers[0]!;
      return (v) => {
        for (const m of matchers) if (m(v)) return true;
        return false;
      };
    }
    case 'Numeric': {
      const nums = values.map((x) => {
        const n = parseNumber(x.trim());
        if (Number.isNaN(n)) throw malformed(`Invalid number in Conditions: ${x} (${op.name} ${keyName})`);
        return n;
      });
      return (v) => {
        const n = parseNumber(v);
        if (Number.isNaN(n)) return false;
        for (const p of nums) if (numericCompare(cmp, n, p)) return true;
        return false;
      };
    }
    case 'Date': {
      const dates = values.map((x) => {
        const d = parseDate(x.trim());
        if (Number.isNaN(d)) throw malformed(`Invalid date in Conditions: ${x} (${op.name} ${keyName})`);
        return d;
      });
      return (v) => {
        const d = parseDateCached(v);
        if (Number.isNaN(d)) return false;
        for (const p of dates) if (numericCompare(cmp, d, p)) return true;
        return false;
      };
    }
    case 'Bool': {
      const set = new Set<string>(values.map((x) => {
        const lower = x.toLowerCase();
        if (lower !== 'true' && lower !== 'false') {
          throw malformed(`Invalid boolean in Conditions: ${x} (${op.name} ${keyName})`);
        }
        return lower;
      }));
      return (v) => set.has(v.toLowerCase());
    }
    case 'Binary': {
      const set = new Set(values.map((x) => {
        const c = canonicalBase64(x);
        if (c === undefined) throw malformed(`Invalid base64 value in Conditions: ${x} (${op.name} ${keyName})`);
        return c;
      }));
      return (v) => {
        const c = canonicalBase64(v);
        return c !== undefined && set.has(c);
      };
    }
    case 'Ip': {
      const cidrs: Cidr[] = values.map((x) => {
        const c = parseCidr(x.trim());
        if (c === undefined) throw malformed(`Invalid IP address in Conditions: ${x} (${op.name} ${keyName})`);
        return c;
      });
      return (v) => {
        const ip = parseIpCached(v);
        if (ip === undefined) return false;
        for (const c of cidrs) if (cidrContains(c, ip)) return true;
        return false;
      };
    }
    case 'Null':
      throw new Error('unreachable');
  }
}

/** Compile one (operator, key, values) triple. Throws MalformedPolicy on invalid input. */
export function compileCondition(operator: string, keyName: string, rawValues: unknown): CompiledCondition {
  const op = parseOperator(operator);
  const key = conditionKey(keyName);
  if (key === undefined) throw malformed('Policy has an invalid condition key');
  const values = policyValueStrings(operator, keyName, rawValues);

  if (op.spec.family === 'Null') {
    const wants = new Set(values.map((x) => {
      const lower = x.toLowerCase();
      if (lower !== 'true' && lower !== 'false') {
        throw malformed(`Invalid boolean in Conditions: ${x} (${operator} ${keyName})`);
      }
      return lower === 'true';
    }));
    const wantAbsent = wants.has(true);
    const wantPresent = wants.has(false);
    return {
      operator, keyName, key, values,
      test: (vals) => (vals === undefined || vals.length === 0 ? wantAbsent : wantPresent),
    };
  }

  const p = buildPositivePredicate(op, keyName, values);
  const { negated } = op.spec;
  const { ifExists, qualifier } = op;
  let test: (vals: readonly string[] | undefined) => boolean;

  if (qualifier === 'all') {
    // Vacuously true for a missing key or no values.
    test = (vals) => {
      if (vals === undefined) return true;
      for (const v of vals) if (p(v) === negated) return false;
      return true;
    };
  } else if (qualifier === 'any') {
    test = (vals) => {
      if (vals === undefined || vals.length === 0) return ifExists;
      for (const v of vals) if (p(v) !== negated) return true;
      return false;
    };
  } else {
    const whenMissing = ifExists || negated;
    if (!negated) {
      test = (vals) => {
        if (vals === undefined || vals.length === 0) return whenMissing;
        if (vals.length === 1) return p(vals[0]!);
        for (const v of vals) if (p(v)) return true;
        return false;
      };
    } else {
      test = (vals) => {
        if (vals === undefined || vals.length === 0) return whenMissing;
        for (const v of vals) if (p(v)) return false;
        return true;
      };
    }
  }
  return { operator, keyName, key, values, test };
}

/**
 * Compile a statement's Condition block: `{ Operator: { Key: value | [values] } }`. All entries
 * are AND'd. Throws MalformedPolicy on any invalid operator, key or value.
 */
export function compileConditionBlock(block: unknown): CompiledCondition[] {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) {
    throw malformed('Invalid policy syntax.');
  }
  const out: CompiledCondition[] = [];
  for (const [operator, body] of Object.entries(block as Record<string, unknown>)) {
    parseOperator(operator); // report a bad operator before looking at its body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw malformed('Invalid policy syntax.');
    }
    for (const [keyName, raw] of Object.entries(body as Record<string, unknown>)) {
      out.push(compileCondition(operator, keyName, raw));
    }
  }
  return out;
}
