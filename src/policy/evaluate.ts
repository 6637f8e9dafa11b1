// Bucket policy evaluation: ParsedPolicy × RequestContext → Allow | Deny | Pass.
//
// - An explicit Deny in any matching statement wins.
// - Otherwise any matching Allow gives Allow.
// - Otherwise Pass: the policy says nothing, and the caller falls back to its owner / ACL /
//   access-level check (Ceph's three-valued logic, reference §1.1). Pass is not a deny.
// A statement matches when its principal, action, resource and every condition match.
//
// Not done here (the caller's job): AWS's lock-out protection, under which full-level keys of the
// owning org may always Get/Put/DeleteBucketPolicy despite a Deny (decision §7.2); CopyObject's
// second evaluation (s3:GetObject on the source against the source bucket's policy).

import { lookupAction } from './actions.ts';
import type { ConditionValues } from './conditions.ts';
import type { CompiledStatement, ParsedPolicy, PrincipalSet } from './parse.ts';

export type PolicyDecision = 'Allow' | 'Deny' | 'Pass';

export type RequestPrincipal =
  | { readonly kind: 'anonymous' }
  /** `org`: the organisation (Ceph uid); `user`: the key's user name (Ceph subuser). */
  | { readonly kind: 'user'; readonly org: string; readonly user: string }
  /** an AWS service principal acting for S3, e.g. logging.s3.amazonaws.com (access-log delivery) */
  | { readonly kind: 'service'; readonly name: string };

export interface RequestContext {
  readonly principal: RequestPrincipal;
  /** Canonical or any-case action name, e.g. `s3:GetObject`. */
  readonly action: string;
  /** `arn:aws:s3:::bucket` for bucket actions, `arn:aws:s3:::bucket/key` for object actions. */
  readonly resource: string;
  /**
   * Condition values keyed by normalised key name (lower-cased; see `conditionKey` /
   * `conditionValues` in conditions.ts). Absent key = missing. The caller supplies every global
   * key in AWS's format: aws:CurrentTime ISO-8601, aws:EpochTime epoch seconds,
   * aws:SecureTransport always 'true'/'false', aws:PrincipalType 'Anonymous' | 'User'.
   */
  readonly conditions: ConditionValues;
}

export function principalListed(p: PrincipalSet, who: RequestPrincipal): boolean {
  if (p.any) return true;
  if (who.kind === 'anonymous') return false; // anonymous matches only '*'
  if (who.kind === 'service') return p.services.has(who.name);
  if (p.orgs.has(who.org)) return true;
  const users = p.users.get(who.org);
  return users !== undefined && users.has(who.user);
}

export function resourceListed(s: CompiledStatement, resource: string): boolean {
  for (const m of s.resources) if (m(resource)) return true;
  return false;
}

export function actionListed(s: CompiledStatement, index: number, action: string): boolean {
  if (index >= 0) return s.actionMask[index] === 1;
  // Not in the table: match the written patterns directly (case-insensitive).
  for (const m of s.actionPatterns) if (m(action)) return true;
  return false;
}

/** Does the statement apply to this request (ignoring its Effect)? */
export function statementMatches(s: CompiledStatement, ctx: RequestContext, actionIndex?: number): boolean {
  const index = actionIndex ?? lookupAction(ctx.action)?.index ?? -1;
  if (principalListed(s.principals, ctx.principal) === s.notPrincipal) return false;
  if (actionListed(s, index, ctx.action) === s.notAction) return false;
  if (resourceListed(s, ctx.resource) === s.notResource) return false;
  const conditions = s.conditions;
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    if (!c.test(ctx.conditions.get(c.key))) return false;
  }
  return true;
}

export interface PolicyExplanation {
  readonly decision: PolicyDecision;
  /** The Deny statement that decided, or the first matching Allow; undefined for Pass. */
  readonly statement: CompiledStatement | undefined;
}

/** Like evaluatePolicy, but also says which statement decided (for logs and debugging). */
export function explainPolicy(policy: ParsedPolicy, ctx: RequestContext): PolicyExplanation {
  const index = lookupAction(ctx.action)?.index ?? -1;
  let allow: CompiledStatement | undefined;
  for (const s of policy.statements) {
    if (allow !== undefined && s.effect === 'Allow') continue;
    if (!statementMatches(s, ctx, index)) continue;
    if (s.effect === 'Deny') return { decision: 'Deny', statement: s };
    allow = s;
  }
  return allow === undefined ? { decision: 'Pass', statement: undefined } : { decision: 'Allow', statement: allow };
}

export function evaluatePolicy(policy: ParsedPolicy, ctx: RequestContext): PolicyDecision {
  const index = lookupAction(ctx.action)?.index ?? -1;
  let allowed = false;
  const statements = policy.statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    // Once allowed, only a Deny can change the answer.
    if (allowed && s.effect === 'Allow') continue;
    if (!statementMatches(s, ctx, index)) continue;
    if (s.effect === 'Deny') return 'Deny';
    allowed = true;
  }
  return allowed ? 'Allow' : 'Pass';
}

/** True if some condition reads s3:ExistingObjectTag/<k>: only then load the object's tags. */
export function policyMentionsExistingObjectTags(p: ParsedPolicy): boolean {
  return p.mentionsExistingObjectTags;
}

/** Normalised names of every condition key the policy reads (so callers compute only those). */
export function requiredConditionKeys(p: ParsedPolicy): Set<string> {
  return new Set(p.conditionKeys);
}
