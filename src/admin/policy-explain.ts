// `strata policy explain` and POST /v1/policy/explain: what the server would decide for one
// request, and why. The decision is taken by the server's own authorizeRequest() (the function
// every S3 request goes through, with the object's ACL and tags read from the store as it would
// read them); authorize() records in a trace which step decided and what the bucket policy was
// asked, and src/policy/explain.ts lays out the policy's statements against that same context.
// Block Public Access is shown to have decided when authorizing again without it changes the
// answer.
import type { IncomingMessage } from 'node:http';
import { authorizeRequest } from '../access/check.ts';
import { parsedPolicyOf, type AuthorizeTrace, type DecidingStep } from '../access/authorize.ts';
import type { AccessRequest } from '../access/request.ts';
import { levelAllows, type LevelNeed } from '../access/levels.ts';
import { isS3Error } from '../errors.ts';
import { ExplainError } from './explain-error.ts';
import type { KeyRecord, Principal } from '../identity/identity-store.ts';
import type { Services } from '../ops/operation.ts';
import { routes } from '../ops/routes.ts';
import { explainStatements, type PolicyExplanationDetail } from '../policy/explain.ts';
import { lookupAction, resourceArn } from '../policy/index.ts';
import type { BucketRecord, Grant } from '../store/types.ts';

export { ExplainError };

export interface ExplainInput {
  bucket: string;
  key?: string;
  action: string;
  region?: string;
  /** a user: NAMESPACE/NAME, a user name, or an access key */
  as?: string;
  anonymous?: boolean;
  sourceIp?: string;
  secure?: boolean;
  /** request headers the policy may look at (x-amz-acl, referer, user-agent, x-amz-copy-source, ...) */
  headers?: Record<string, string>;
  /** query parameters (prefix, delimiter, max-keys for listings; versionId) */
  query?: Record<string, string>;
}

export interface AccessExplanation {
  decision: 'Allow' | 'Deny';
  /** what the request would be answered: 200 when authorized, else the error's status */
  status: number;
  errorCode?: string;
  decidedBy: DecidingStep | 'no-such-bucket';
  reason: string;
  request: {
    region: string;
    bucket: string;
    key?: string;
    action: string;
    resource: string;
    principal: { org: string; user: string; level: string; accessKey: string } | 'anonymous';
    sourceIp: string;
    secureTransport: boolean;
  };
  policy: PolicyExplanationDetail | null;
  acl: { bucket: Grant[]; object: Grant[] | null } | null;
  accessLevel: { level: string; needs: LevelNeed; allows: boolean } | null;
  blockPublicAccess: { settings: Record<string, boolean>; decided: boolean; withoutIt?: 'Allow' | 'Deny' } | null;
}

/** The level and bucket need of the first operation whose action is `action` (the route table's order). */
function operationFor(action: string): { level: LevelNeed; needsBucket: boolean } {
  const lower = action.toLowerCase();
  for (const r of routes) {
    if (r.op.action.toLowerCase() === lower || r.op.versionAction?.toLowerCase() === lower) return { level: r.op.level, needsBucket: r.op.needsBucket };
  }
  throw new ExplainError(400, 'BadRequest', `no operation of Strata is authorized as ${action}`);
}

/** Find the key `who` names: NAMESPACE/NAME, a user name (unique across namespaces), or an access key. */
export async function findPrincipal(identity: Services['identity'], who: string, visible: (k: KeyRecord) => boolean = () => true): Promise<Principal> {
  let key: KeyRecord | undefined;
  const slash = who.indexOf('/');
  if (slash > 0) key = await identity.keyByUser(who.slice(0, slash), who.slice(slash + 1));
  else {
    key = await identity.keyByAccessKey(who);
    if (!key) {
      const named = (await identity.listKeys()).filter((k) => k.user === who && visible(k));
      if (named.length > 1) throw new ExplainError(409, 'Ambiguous', `user "${who}" exists in several namespaces (${named.map((k) => k.namespace).join(', ')}): say NAMESPACE/${who}`);
      key = named[0];
    }
  }
  if (!key || !visible(key)) throw new ExplainError(404, 'NotFound', `no user or access key "${who}"`);
  return { org: key.org, user: key.user, level: key.level, accessKey: key.accessKey };
}

const reasons: Record<DecidingStep, (allowed: boolean) => string> = {
  'service-level': (a) => (a ? "the key's access level allows it (no bucket involved)" : "the key's access level does not allow it, or the request is anonymous (no bucket involved)"),
  'policy-deny': () => 'an explicit Deny in the bucket policy',
  'policy-deny-lockout-exempt': () => "the bucket policy denies it, but the owner's full keys may always manage the policy (lock-out protection)",
  'policy-allow': () => 'an Allow in the bucket policy',
  'object-acl-owner': () => "the object was written by another organisation and its ACL grants the bucket owner nothing for this",
  'owner-level': (a) => (a ? "the key belongs to the bucket's organisation and its access level allows it" : "the key belongs to the bucket's organisation but its access level does not allow it"),
  'bucket-acl': () => 'a grant in the bucket ACL',
  'object-acl': () => 'a grant in the object ACL',
  'no-grant': () => "neither the bucket policy nor an ACL grants it to a caller outside the bucket's organisation",
};

interface Verdict {
  allowed: boolean;
  status: number;
  errorCode?: string;
  trace: AuthorizeTrace;
}

async function decide(base: Omit<AccessRequest, 'authorizeTrace'>, bucket: BucketRecord | undefined, input: ExplainInput, op: { level: LevelNeed }, action: string): Promise<Verdict> {
  const trace: AuthorizeTrace = {};
  try {
    await authorizeRequest({ ...base, authorizeTrace: trace }, action, op.level, bucket, input.key, {}, input.query?.versionId);
    return { allowed: true, status: 200, trace };
  } catch (err) {
    if (!isS3Error(err)) throw err;
    return { allowed: false, status: err.status, errorCode: err.code, trace };
  }
}

export async function explainAccess(services: Pick<Services, 'config' | 'identity' | 'regions'>, input: ExplainInput, principal: Principal | undefined): Promise<AccessExplanation> {
  const info = lookupAction(input.action);
  if (!info) throw new ExplainError(400, 'BadRequest', `unknown action "${input.action}" (e.g. s3:GetObject, s3:PutObject, s3:ListBucket)`);
  const action = info.name;
  const op = operationFor(action);
  const region = input.region ?? services.config.defaultRegion;
  const store = services.regions.get(region);
  if (!store) throw new ExplainError(400, 'BadRequest', `region "${region}" is not served here (regions: ${[...services.regions.keys()].join(', ')})`);
  const headers: Record<string, string> = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const sourceIp = input.sourceIp ?? '127.0.0.1';
  const request: AccessExplanation['request'] = {
    region,
    bucket: input.bucket,
    key: input.key,
    action,
    resource: resourceArn(input.bucket, input.key),
    principal: principal ? { org: principal.org, user: principal.user, level: principal.level, accessKey: principal.accessKey } : 'anonymous',
    sourceIp,
    secureTransport: input.secure === true,
  };
  const bucket = await store.getBucket(input.bucket);
  if (!bucket && op.needsBucket) {
    return { decision: 'Deny', status: 404, errorCode: 'NoSuchBucket', decidedBy: 'no-such-bucket', reason: `bucket "${input.bucket}" does not exist in ${region}`, request, policy: null, acl: null, accessLevel: null, blockPublicAccess: null };
  }
  const base: Omit<AccessRequest, 'authorizeTrace'> = {
    // Only sourceIpOf reads the socket, and the source address is given here instead.
    raw: { headers, socket: {} } as unknown as IncomingMessage,
    headers,
    method: 'GET',
    query: new Map(Object.entries(input.query ?? {})),
    principal,
    secureTransport: input.secure === true,
    sourceIp,
    store,
    services,
  };
  const target = op.needsBucket ? bucket : undefined;
  const verdict = await decide(base, target, input, op, action);
  const step = verdict.trace.step ?? 'no-grant';
  let reason = reasons[step](verdict.allowed);
  const outcome = { decision: verdict.allowed ? ('Allow' as const) : ('Deny' as const), status: verdict.status, ...(verdict.errorCode ? { errorCode: verdict.errorCode } : {}), decidedBy: step };
  if (!bucket || !target) {
    // CreateBucket (and service-level actions): the key's level alone, no bucket's rules.
    return { ...outcome, reason, request, policy: null, acl: null, accessLevel: principal ? { level: principal.level, needs: op.level, allows: levelAllows(principal.level, op.level) } : null, blockPublicAccess: null };
  }

  const parsed = parsedPolicyOf(bucket);
  const policy = parsed && verdict.trace.policy ? explainStatements(parsed, verdict.trace.policy.context) : null;
  const object = input.key !== undefined ? await store.getObject(bucket.name, input.key) : undefined;
  const pab = bucket.config?.publicAccessBlock;
  let blockPublicAccess: AccessExplanation['blockPublicAccess'] = null;
  if (pab && Object.values(pab).some((v) => v === true)) {
    const without = await decide(base, { ...bucket, config: { ...bucket.config, publicAccessBlock: undefined } }, input, op, action);
    const decided = without.allowed !== verdict.allowed;
    blockPublicAccess = { settings: { ...pab } as Record<string, boolean>, decided, ...(decided ? { withoutIt: without.allowed ? ('Allow' as const) : ('Deny' as const) } : {}) };
  }
  if (verdict.trace.publicPolicyRestricted) reason += '; the public bucket policy\'s Allow was set aside by RestrictPublicBuckets';
  if (blockPublicAccess?.decided) reason += `; Block Public Access decided (without it: ${blockPublicAccess.withoutIt})`;
  if (verdict.errorCode === 'NoSuchKey') reason += '; the key does not exist and the caller may list the bucket, so it is told NoSuchKey';
  return {
    ...outcome,
    reason,
    request,
    policy,
    acl: { bucket: bucket.acl?.grants ?? [], object: object ? (object.meta.acl?.grants ?? []) : null },
    accessLevel: principal && principal.org === bucket.ownerOrg ? { level: principal.level, needs: op.level, allows: levelAllows(principal.level, op.level) } : null,
    blockPublicAccess,
  };
}

const inputFields: Record<keyof ExplainInput, 'string' | 'boolean' | 'record'> = {
  bucket: 'string', key: 'string', action: 'string', region: 'string', as: 'string', anonymous: 'boolean',
  sourceIp: 'string', secure: 'boolean', headers: 'record', query: 'record',
};

/** Check a request body (already parsed JSON) against ExplainInput, naming the first bad field. */
export function explainInputOf(body: unknown, options: { caller: boolean } = { caller: true }): ExplainInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ExplainError(400, 'BadRequest', 'body must be a JSON object {"bucket", "action", "as" | "anonymous", ...}');
  for (const [name, value] of Object.entries(body)) {
    const kind = inputFields[name as keyof ExplainInput];
    if (!kind) throw new ExplainError(400, 'BadRequest', `unknown field "${name}"`);
    const ok = kind === 'record' ? typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string') : typeof value === kind;
    if (!ok) throw new ExplainError(400, 'BadRequest', `"${name}" must be ${kind === 'record' ? 'an object of strings' : `a ${kind}`}`);
  }
  const input = body as ExplainInput;
  if (!input.bucket || !input.action) throw new ExplainError(400, 'BadRequest', '"bucket" and "action" are required');
  if (options.caller && (input.anonymous === true) === (input.as !== undefined)) throw new ExplainError(400, 'BadRequest', 'say who asks: "as" (NAMESPACE/NAME, a user name or an access key) or "anonymous": true');
  if (!options.caller && (input.anonymous !== undefined || input.as !== undefined)) throw new ExplainError(400, 'BadRequest', 'who-can asks about every caller: leave out "as" and "anonymous"');
  return input;
}

/**
 * The admin API's explanation. A token scoped to some namespaces explains only buckets of the
 * organisations among them, as callers it may see (or anonymous); any other bucket, existing or
 * not, is refused alike, so that the endpoint reveals no other organisation's buckets.
 */
export async function explainForScope(services: Services, input: ExplainInput, mayActFor: (org: string) => boolean, maySee: (key: KeyRecord) => boolean, unrestricted: boolean): Promise<AccessExplanation> {
  if (!unrestricted) await requireBucketInScope(services, input, mayActFor);
  const principal = input.as !== undefined ? await findPrincipal(services.identity, input.as, maySee) : undefined;
  return explainAccess(services, input, principal);
}

/** A scoped token's bucket must belong to one of its organisations; a missing one is refused alike. */
export async function requireBucketInScope(services: Services, input: Pick<ExplainInput, 'bucket' | 'region'>, mayActFor: (org: string) => boolean): Promise<void> {
  const store = services.regions.get(input.region ?? services.config.defaultRegion);
  const bucket = store ? await store.getBucket(input.bucket) : undefined;
  if (!bucket || !mayActFor(bucket.ownerOrg)) throw new ExplainError(403, 'Forbidden', `bucket "${input.bucket}" is not a bucket of this token's organisations`);
}

/** At most this many keys are asked about by whoCan (a larger identity store is cut, and says so). */
export const WHO_CAN_MAX_KEYS = 1000;

export interface WhoCanAnswer {
  action: string;
  resource: string;
  region: string;
  anonymous: Pick<AccessExplanation, 'decision' | 'decidedBy' | 'reason'>;
  users: ({ namespace: string; org: string; user: string; level: string; accessKey: string } & Pick<AccessExplanation, 'decision' | 'decidedBy' | 'reason'>)[];
  /** keys left out past WHO_CAN_MAX_KEYS */
  truncated: boolean;
}

/**
 * "Who can read this bucket?": the explanation for an anonymous caller and for every key the
 * caller may see, with the request's other conditions as given (source address, TLS, headers).
 */
export async function whoCan(services: Services, input: Omit<ExplainInput, 'as' | 'anonymous'>, maySee: (key: KeyRecord) => boolean = () => true): Promise<WhoCanAnswer> {
  const brief = (e: AccessExplanation) => ({ decision: e.decision, decidedBy: e.decidedBy, reason: e.reason });
  const anonymous = await explainAccess(services, input, undefined);
  const keys = (await services.identity.listKeys()).filter(maySee);
  const users: WhoCanAnswer['users'] = [];
  for (const k of keys.slice(0, WHO_CAN_MAX_KEYS)) {
    const e = await explainAccess(services, input, { org: k.org, user: k.user, level: k.level, accessKey: k.accessKey });
    users.push({ namespace: k.namespace, org: k.org, user: k.user, level: k.level, accessKey: k.accessKey, ...brief(e) });
  }
  return { action: anonymous.request.action, resource: anonymous.request.resource, region: anonymous.request.region, anonymous: brief(anonymous), users, truncated: keys.length > WHO_CAN_MAX_KEYS };
}
