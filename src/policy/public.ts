// Is a bucket policy "public"? (GetBucketPolicyStatus, BlockPublicPolicy, RestrictPublicBuckets.)
//
// AWS's definition, as far as Strata's principals and condition keys allow: a policy is public
// unless every Allow statement in it grants access only to fixed values — a fixed principal, or,
// for a wildcard principal ("*", {"AWS": "*"}), a condition that pins the caller to something
// someone owns:
//   - aws:SourceIp with IpAddress and CIDRs no broader than /8 (IPv4) or /32 (IPv6) — AWS counts
//     very broad ranges (0.0.0.0/1 …) as public;
//   - aws:userid (Strata: "org:user") with a fixed value, or "org:*" (every user of one
//     organisation, the counterpart of AWS's "AROLEID:*");
//   - s3:x-amz-server-side-encryption-aws-kms-key-id with a fixed value.
// The other keys AWS lists (aws:SourceVpc, aws:SourceVpce, aws:SourceArn, aws:SourceAccount,
// aws:SourceOwner, aws:PrincipalOrgID …) are not condition keys Strata accepts: a policy naming
// them is refused when stored. A value is fixed when it holds no wildcard (* ?) and no policy
// variable (${…}). Only positive operators restrict: StringEquals, StringEqualsIgnoreCase,
// StringLike, IpAddress (also with ForAnyValue:); negated operators, …IfExists (true when the key
// is missing, e.g. for anonymous callers) and ForAllValues: (true on a missing key) do not.
// Deny statements never make a policy public. Actions are not considered (AWS's "bad actions"
// are s3:Get*, s3:List*, s3:Put*, s3:Delete*, …: nearly every S3 action).
// Ceph decides differently (an Allow with a wildcard principal whose conditions pass on a dummy
// request environment); the two agree on the s3-tests policy-status cases.
//
// Pure: works on the policy text, which must already have passed parsePolicy (the compiled form
// does not keep condition values).
import { parseCidr } from './values.ts';

/** Condition keys (lower-cased) that can pin a wildcard principal. */
const restrictingKeys = new Set(['aws:sourceip', 'aws:userid', 's3:x-amz-server-side-encryption-aws-kms-key-id']);

const stringOperators = new Set(['StringEquals', 'StringEqualsIgnoreCase', 'StringLike']);

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

function isWildcardPrincipal(principal: unknown): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  for (const value of Object.values(principal as Record<string, unknown>)) {
    if (asList(value).includes('*')) return true;
  }
  return false;
}

function hasVariable(v: string): boolean {
  return v.includes('${');
}

/** Does `operator: { key: values }` confine the statement to fixed callers? */
function restricts(operator: string, key: string, values: unknown[]): boolean {
  const k = key.toLowerCase();
  if (!restrictingKeys.has(k)) return false;
  let op = operator;
  if (op.startsWith('ForAnyValue:')) op = op.slice('ForAnyValue:'.length);
  else if (op.startsWith('ForAllValues:')) return false;
  if (values.length === 0) return false;
  const strings = values.map((v) => (typeof v === 'string' ? v : String(v)));
  if (k === 'aws:sourceip') {
    if (op !== 'IpAddress') return false;
    return strings.every((s) => {
      const cidr = parseCidr(s.trim());
      return cidr !== undefined && cidr.prefix >= (cidr.v6 ? 32 : 8);
    });
  }
  if (!stringOperators.has(op)) return false;
  const like = op === 'StringLike';
  return strings.every((s) => {
    if (hasVariable(s)) return false;
    if (k === 'aws:userid' && like && /^[^*?:]+:\*$/.test(s)) return true; // org:* — one organisation
    return like ? !/[*?]/.test(s) : !s.includes('*');
  });
}

function isPublicStatement(statement: Record<string, unknown>): boolean {
  if (statement.Effect !== 'Allow') return false;
  // NotPrincipal is refused with Allow when a policy is stored; treat it as a wildcard anyway.
  if (statement.NotPrincipal === undefined && !isWildcardPrincipal(statement.Principal)) return false;
  const condition = statement.Condition;
  if (typeof condition === 'object' && condition !== null) {
    for (const [operator, body] of Object.entries(condition as Record<string, unknown>)) {
      if (typeof body !== 'object' || body === null) continue;
      for (const [key, values] of Object.entries(body as Record<string, unknown>)) {
        if (restricts(operator, key, asList(values))) return false;
      }
    }
  }
  return true;
}

/** True if the (already validated) policy document grants access to the public. */
export function isPublicPolicy(text: string): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return true; // not reached for stored policies; unreadable means "cannot prove non-public"
  }
  if (typeof doc !== 'object' || doc === null) return true;
  const statements = asList((doc as Record<string, unknown>).Statement);
  return statements.some((s) => typeof s === 'object' && s !== null && isPublicStatement(s as Record<string, unknown>));
}
