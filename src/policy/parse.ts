// Bucket policy parsing and validation: PutBucketPolicy's body → ParsedPolicy, compiled once so
// that evaluation does no parsing (wildcards → predicates, CIDRs → words + masks, dates → epoch
// ms, actions → a bit mask over the action table).
//
// Errors follow AWS (decision §7.1): 400 MalformedPolicy with AWS's message where one is known.
// Ceph answers 400 InvalidArgument with its parser's message instead.

import { S3Error } from '../errors.ts';
import { ACTION_COUNT, expandActionPattern } from './actions.ts';
import { compileConditionBlock, isExistingObjectTagKey, type CompiledCondition } from './conditions.ts';
import { compileWildcard } from './wildcard.ts';
import { jsonNestsDeeperThan } from '../nesting.ts';

/** AWS: "Bucket policies are limited to 20 KB in size". */
export const MAX_POLICY_BYTES = 20480;

/** Bodies above this are refused without being parsed (the normalised size cannot fit). */
const MAX_RAW_POLICY_BYTES = 1024 * 1024;

export const POLICY_VERSIONS = ['2012-10-17', '2008-10-17'] as const;
export type PolicyVersion = (typeof POLICY_VERSIONS)[number];

export type Effect = 'Allow' | 'Deny';

/**
 * Who a Principal/NotPrincipal element names. Strata identities are (org, user): org is the
 * Ceph uid (CoreWeave organisation/namespace), user the subuser (one key's user).
 */
export interface PrincipalSet {
  /** `"*"` or `{"AWS": "*"}`: everyone, including anonymous callers. */
  readonly any: boolean;
  /** Every user of these orgs (`arn:aws:iam::X:root`, bare `X`, `arn:aws:iam:::user/X[:*]`). */
  readonly orgs: ReadonlySet<string>;
  /** org → user names (`arn:aws:iam::X:user/N`, `arn:aws:iam:::user/X:N`). */
  readonly users: ReadonlyMap<string, ReadonlySet<string>>;
  /** `{"Service": "logging.s3.amazonaws.com"}`: AWS services acting for S3 (the access-log writer) */
  readonly services: ReadonlySet<string>;
}

export interface CompiledStatement {
  readonly sid: string | undefined;
  readonly effect: Effect;
  readonly principals: PrincipalSet;
  /** true: the statement applies to everyone *not* in `principals` (NotPrincipal). */
  readonly notPrincipal: boolean;
  /** 1 at ACTIONS[i].index for every action the Action/NotAction patterns name. */
  readonly actionMask: Uint8Array;
  /** The same patterns as predicates, for action names outside the table. */
  readonly actionPatterns: readonly ((name: string) => boolean)[];
  /** true: NotAction (applies to every action except those named). */
  readonly notAction: boolean;
  readonly resourcePatterns: readonly string[];
  readonly resources: readonly ((arn: string) => boolean)[];
  /** true: NotResource (applies to every resource except those named). */
  readonly notResource: boolean;
  /** AND'd. */
  readonly conditions: readonly CompiledCondition[];
}

export interface ParsedPolicy {
  readonly bucket: string;
  /** undefined when the document has no Version (AWS then assumes 2008-10-17). */
  readonly version: PolicyVersion | undefined;
  readonly id: string | undefined;
  readonly statements: readonly CompiledStatement[];
  /** Normalised names (ConditionValues map keys) of every condition key the policy reads. */
  readonly conditionKeys: ReadonlySet<string>;
  /** Some condition reads s3:ExistingObjectTag/<k>: callers must load the object's tags. */
  readonly mentionsExistingObjectTags: boolean;
}

export interface ParseOptions {
  /** The bucket the policy is attached to; every Resource must be within it. */
  readonly bucket: string;
}

const TOP_LEVEL_FIELDS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_FIELDS = new Set([
  'Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition',
]);

const ARN_PREFIX = 'arn:aws:s3:::';
/** Org ids and user names: IAM's name alphabet (which includes Kubernetes names). */
const NAME_RE = /^[A-Za-z0-9_+=,.@-]+$/;
const ROOT_ARN_RE = /^arn:aws:iam::([^:/]*):root$/;
const USER_ARN_RE = /^arn:aws:iam::([^:/]*):user\/(.+)$/;

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

const invalidSyntax = (): S3Error => malformed('Invalid policy syntax.');
const invalidPrincipal = (): S3Error => malformed('Invalid principal in policy');
const invalidAction = (): S3Error => malformed('Policy has invalid action');
const invalidResource = (): S3Error => malformed('Policy has invalid resource');

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string or a non-empty array of strings, as a list. */
function stringList(v: unknown, onError: () => S3Error): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.length === 0) throw onError();
  for (const item of v) if (typeof item !== 'string') throw onError();
  return v as string[];
}

function readDocument(text: string): Record<string, unknown> {
  const byteLength = Buffer.byteLength(text, 'utf8');
  if (byteLength > MAX_RAW_POLICY_BYTES) throw new S3Error('PolicyTooLarge');
  let body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // tolerate a UTF-8 BOM
  body = body.trimStart();
  if (!body.startsWith('{')) {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  // Bounded before anything walks it: 11,000 nested arrays used to overflow the stack (500).
  if (jsonNestsDeeperThan(body)) throw malformed('This policy contains invalid Json');
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw malformed('This policy contains invalid Json');
  }
  if (!isPlainObject(doc)) {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  // AWS measures the normalised document ("Normalized policy document exceeds the maximum
  // allowed size of 20480 bytes"), so indentation does not count against the limit. AWS answers
  // MalformedPolicy; Strata uses its PolicyTooLarge code.
  if (byteLength > MAX_POLICY_BYTES && Buffer.byteLength(JSON.stringify(doc), 'utf8') > MAX_POLICY_BYTES) {
    throw new S3Error('PolicyTooLarge');
  }
  return doc;
}

/**
 * Parse and validate a bucket policy document for `opts.bucket`. Throws S3Error MalformedPolicy
 * (or PolicyTooLarge) with an AWS-style message on the first problem found.
 */
export function parsePolicy(json: string, opts: ParseOptions): ParsedPolicy {
  const doc = readDocument(json);
  for (const field of Object.keys(doc)) {
    if (!TOP_LEVEL_FIELDS.has(field)) throw malformed(`Unknown field ${field}`);
  }

  let version: PolicyVersion | undefined;
  if (doc.Version !== undefined) {
    if (typeof doc.Version !== 'string' || !(POLICY_VERSIONS as readonly string[]).includes(doc.Version)) {
      throw malformed('The policy must contain a valid version string');
    }
    version = doc.Version as PolicyVersion;
  }

  let id: string | undefined;
  if (doc.Id !== undefined) {
    if (typeof doc.Id !== 'string') throw invalidSyntax();
    id = doc.Id;
  }

  if (doc.Statement === undefined || doc.Statement === null) throw malformed('Missing required field Statement');
  const rawStatements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (rawStatements.length === 0) throw malformed('Could not parse the policy: Statement is empty!');

  const statements = rawStatements.map((s) => parseStatement(s, opts.bucket));
  const conditionKeys = new Set<string>();
  for (const s of statements) for (const c of s.conditions) conditionKeys.add(c.key);
  let mentionsExistingObjectTags = false;
  for (const k of conditionKeys) if (isExistingObjectTagKey(k)) mentionsExistingObjectTags = true;

  return Object.freeze({
    bucket: opts.bucket,
    version,
    id,
    statements: Object.freeze(statements),
    conditionKeys,
    mentionsExistingObjectTags,
  });
}

function parseStatement(raw: unknown, bucket: string): CompiledStatement {
  if (!isPlainObject(raw)) throw invalidSyntax();
  for (const field of Object.keys(raw)) {
    if (!STATEMENT_FIELDS.has(field)) throw malformed(`Unknown field ${field}`);
  }

  let sid: string | undefined;
  if (raw.Sid !== undefined) {
    if (typeof raw.Sid !== 'string') throw invalidSyntax();
    sid = raw.Sid;
  }

  if (raw.Effect === undefined) throw malformed('Missing required field Effect');
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') {
    // Case-sensitive, like AWS ("The Effect value is case sensitive").
    throw malformed(`Invalid effect: ${typeof raw.Effect === 'string' ? raw.Effect : JSON.stringify(raw.Effect)}`);
  }
  const effect: Effect = raw.Effect;

  // Principal. AWS requires one in a bucket policy ("Missing required field Principal"); Ceph
  // accepts a statement without one and never matches it. We follow AWS.
  if (raw.Principal !== undefined && raw.NotPrincipal !== undefined) {
    throw malformed('A statement cannot contain both Principal and NotPrincipal');
  }
  if (raw.Principal === undefined && raw.NotPrincipal === undefined) {
    throw malformed('Missing required field Principal');
  }
  const notPrincipal = raw.NotPrincipal !== undefined;
  const principals = parsePrincipal(notPrincipal ? raw.NotPrincipal : raw.Principal);
  if (notPrincipal && effect !== 'Deny') {
    // AWS: "NotPrincipal must be used with "Effect":"Deny""; ceph/s3-tests
    // test_bucket_policy_allow_notprincipal expects a 400 for Allow + NotPrincipal.
    throw malformed('NotPrincipal is only supported with "Effect": "Deny"');
  }

  // Action.
  if (raw.Action !== undefined && raw.NotAction !== undefined) {
    throw malformed('A statement cannot contain both Action and NotAction');
  }
  if (raw.Action === undefined && raw.NotAction === undefined) throw malformed('Missing required field Action');
  const notAction = raw.NotAction !== undefined;
  const actionList = stringList(notAction ? raw.NotAction : raw.Action, invalidSyntax);
  const actionMask = new Uint8Array(ACTION_COUNT);
  const actionPatterns: ((name: string) => boolean)[] = [];
  for (const pattern of actionList) {
    const matched = expandActionPattern(pattern);
    if (matched.length === 0) throw invalidAction();
    for (const a of matched) actionMask[a.index] = 1;
    actionPatterns.push(compileWildcard(pattern, true));
  }

  // Resource.
  if (raw.Resource !== undefined && raw.NotResource !== undefined) {
    throw malformed('A statement cannot contain both Resource and NotResource');
  }
  if (raw.Resource === undefined && raw.NotResource === undefined) throw malformed('Missing required field Resource');
  const notResource = raw.NotResource !== undefined;
  const resourcePatterns = stringList(notResource ? raw.NotResource : raw.Resource, invalidResource);
  const resources = resourcePatterns.map((p) => compileResource(p, bucket));

  const conditions = raw.Condition === undefined ? [] : compileConditionBlock(raw.Condition);

  return Object.freeze({
    sid,
    effect,
    principals,
    notPrincipal,
    actionMask,
    actionPatterns,
    notAction,
    resourcePatterns: [...resourcePatterns],
    resources,
    notResource,
    conditions,
  });
}

/**
 * `arn:aws:s3:::<pattern>`, case-sensitive, `*`/`?` wildcards. The bucket part (up to the first
 * `/`) must name — or as a pattern, match — the policy's own bucket: AWS refuses other buckets'
 * resources with "Policy has invalid resource". `arn:aws:s3:::*` and `arn:aws:s3:::*` + `/*` are
 * accepted (ceph/s3-tests test_bucket_policy_another_bucket uses them); a bare `*` is not (AWS).
 */
function compileResource(pattern: string, bucket: string): (arn: string) => boolean {
  if (!pattern.startsWith(ARN_PREFIX)) throw invalidResource();
  const rest = pattern.slice(ARN_PREFIX.length);
  const slash = rest.indexOf('/');
  const bucketPart = slash < 0 ? rest : rest.slice(0, slash);
  if (bucketPart === '') throw invalidResource();
  if (!compileWildcard(bucketPart, false)(bucket)) throw invalidResource();
  return compileWildcard(pattern, false);
}

interface MutablePrincipalSet {
  any: boolean;
  orgs: Set<string>;
  users: Map<string, Set<string>>;
  services: Set<string>;
}

/**
 * Principal forms (reference §1.3):
 * - `"*"`, `{"AWS": "*"}`, `{"AWS": ["*"]}`: everyone, anonymous included.
 * - `arn:aws:iam::X:root` and a bare `X` (no ':' or '/'): every user of org X.
 * - `arn:aws:iam::X:user/N`: user N of org X (AWS form; the account field is the org).
 * - `arn:aws:iam::X:user/X:N`: the same, written Ceph-style as uid:subuser.
 * - `arn:aws:iam:::user/X:N` (empty account, Ceph's tenant-less form): user N of org X;
 *   `arn:aws:iam:::user/X` and `…/user/X:*`: every user of org X (Ceph matches a bare uid
 *   against all its subusers).
 * Partial wildcards, roles, services, federated and CanonicalUser principals are refused with
 * "Invalid principal in policy" (Ceph: "RGW does not support canonical users").
 */
function parsePrincipal(raw: unknown): PrincipalSet {
  const set: MutablePrincipalSet = { any: false, orgs: new Set(), users: new Map(), services: new Set() };
  if (typeof raw === 'string') {
    if (raw !== '*') throw invalidPrincipal();
    set.any = true;
    return set;
  }
  if (!isPlainObject(raw)) throw invalidPrincipal();
  const fields = Object.keys(raw);
  if (fields.length === 0) throw invalidPrincipal();
  for (const field of fields) {
    // Service principals name who writes access logs (logging.s3.amazonaws.com, as AWS and Ceph
    // RGW accept); CanonicalUser and Federated principals are not supported.
    if (field === 'Service') {
      for (const value of stringList(raw[field], invalidPrincipal)) {
        if (!/^[A-Za-z0-9.-]{1,128}$/.test(value)) throw invalidPrincipal();
        set.services.add(value.toLowerCase());
      }
      continue;
    }
    if (field !== 'AWS') throw invalidPrincipal();
    for (const value of stringList(raw[field], invalidPrincipal)) addPrincipal(set, value);
  }
  return set;
}

function addUser(set: MutablePrincipalSet, org: string, user: string): void {
  let users = set.users.get(org);
  if (users === undefined) {
    users = new Set();
    set.users.set(org, users);
  }
  users.add(user);
}

function addPrincipal(set: MutablePrincipalSet, value: string): void {
  if (value === '*') {
    set.any = true;
    return;
  }
  const root = ROOT_ARN_RE.exec(value);
  if (root !== null) {
    const org = root[1]!;
    if (!NAME_RE.test(org)) throw invalidPrincipal();
    set.orgs.add(org);
    return;
  }
  const user = USER_ARN_RE.exec(value);
  if (user !== null) {
    const account = user[1]!;
    const name = user[2]!;
    if (account !== '' && !NAME_RE.test(account)) throw invalidPrincipal();
    const colon = name.indexOf(':');
    if (colon < 0) {
      if (!NAME_RE.test(name)) throw invalidPrincipal();
      if (account === '') set.orgs.add(name);
      else addUser(set, account, name);
      return;
    }
    const org = name.slice(0, colon);
    const sub = name.slice(colon + 1);
    if (!NAME_RE.test(org)) throw invalidPrincipal();
    if (account !== '' && account !== org) throw invalidPrincipal();
    if (sub === '*') {
      set.orgs.add(org);
      return;
    }
    if (!NAME_RE.test(sub)) throw invalidPrincipal();
    addUser(set, org, sub);
    return;
  }
  if (NAME_RE.test(value)) {
    set.orgs.add(value);
    return;
  }
  throw invalidPrincipal();
}
