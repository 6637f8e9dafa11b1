// The S3 action table used by bucket policies: every action a policy may name, and the kind of
// resource a request for that action is evaluated against.
//
// Which actions are here, and why:
// - `seed`: the 48 actions the CoreWeave page lists as supported. The seed spells two of them
//   `s3:GetBucketACL`/`s3:GetBucketCORS`; AWS spells them `s3:GetBucketAcl`/`s3:GetBucketCORS`.
//   Names match case-insensitively, so both spellings resolve to the same entry.
// - `tagging`: object tagging actions. The seed's condition-key table names them
//   (s3:PutObjectTagging … s3:DeleteObjectVersionTagging), so a policy must be able to use them.
// - `compat`: other real AWS S3 actions that Ceph RGW (CoreWeave's engine) also accepts in a bucket
//   policy: object lock, default encryption, public access block, ownership controls, policy
//   status, object attributes. Strata may not implement all of these operations, but policies
//   copied from AWS name them routinely (e.g. "Deny s3:PutBucketObjectLockConfiguration"), and
//   rejecting such a policy as MalformedPolicy would be stricter than both AWS and CoreWeave.
//
// Deliberately absent: names that are not AWS actions. AWS has no s3:DeleteBucketTagging,
// s3:DeleteBucketCORS, s3:DeleteLifecycleConfiguration or s3:DeleteBucketEncryption: the
// DeleteBucketTagging/Cors/Lifecycle/Encryption operations are authorised with the matching Put*
// action. Likewise HeadBucket and ListObjects(V2) need s3:ListBucket, HeadObject needs
// s3:GetObject, CreateMultipartUpload/UploadPart/CompleteMultipartUpload need s3:PutObject.
// `s3:PutObjectLockConfiguration` is not an action either (AWS answers "Policy has invalid action").
// s3:DeleteReplicationConfiguration is kept because the seed (Ceph) lists it, though AWS authorises
// DeleteBucketReplication with s3:PutReplicationConfiguration.

import { compileWildcard } from './wildcard.ts';

/** What a request for an action is evaluated against. */
export type ActionResourceKind =
  /** `arn:aws:s3:::bucket` */
  | 'bucket'
  /** `arn:aws:s3:::bucket/key` */
  | 'object'
  /** no resource in a bucket (`*`): s3:ListAllMyBuckets; a bucket policy cannot grant it meaningfully */
  | 'none';

export type ActionOrigin = 'seed' | 'tagging' | 'compat';

export interface ActionInfo {
  /** Canonical AWS spelling, e.g. `s3:GetObject`. */
  readonly name: string;
  readonly resource: ActionResourceKind;
  readonly origin: ActionOrigin;
  /** Position in ACTIONS; used by compiled policies as a bit index. */
  readonly index: number;
}

const table: ReadonlyArray<readonly [string, ActionResourceKind, ActionOrigin]> = [
  // --- the seed's list, in its order ---
  ['s3:AbortMultipartUpload', 'object', 'seed'],
  ['s3:CreateBucket', 'bucket', 'seed'],
  ['s3:DeleteBucketPolicy', 'bucket', 'seed'],
  ['s3:DeleteBucket', 'bucket', 'seed'],
  ['s3:DeleteBucketWebsite', 'bucket', 'seed'],
  ['s3:DeleteObject', 'object', 'seed'],
  ['s3:DeleteObjectVersion', 'object', 'seed'],
  ['s3:DeleteReplicationConfiguration', 'bucket', 'seed'],
  ['s3:GetAccelerateConfiguration', 'bucket', 'seed'],
  ['s3:GetBucketAcl', 'bucket', 'seed'],
  ['s3:GetBucketCORS', 'bucket', 'seed'],
  ['s3:GetBucketLocation', 'bucket', 'seed'],
  ['s3:GetBucketLogging', 'bucket', 'seed'],
  ['s3:GetBucketNotification', 'bucket', 'seed'],
  ['s3:GetBucketPolicy', 'bucket', 'seed'],
  ['s3:GetBucketRequestPayment', 'bucket', 'seed'],
  ['s3:GetBucketTagging', 'bucket', 'seed'],
  ['s3:GetBucketVersioning', 'bucket', 'seed'],
  ['s3:GetBucketWebsite', 'bucket', 'seed'],
  ['s3:GetLifecycleConfiguration', 'bucket', 'seed'],
  ['s3:GetObjectAcl', 'object', 'seed'],
  ['s3:GetObject', 'object', 'seed'],
  ['s3:GetObjectTorrent', 'object', 'seed'],
  ['s3:GetObjectVersionAcl', 'object', 'seed'],
  ['s3:GetObjectVersion', 'object', 'seed'],
  ['s3:GetObjectVersionTorrent', 'object', 'seed'],
  ['s3:GetReplicationConfiguration', 'bucket', 'seed'],
  ['s3:ListAllMyBuckets', 'none', 'seed'],
  ['s3:ListBucketMultipartUploads', 'bucket', 'seed'],
  ['s3:ListBucket', 'bucket', 'seed'],
  ['s3:ListBucketVersions', 'bucket', 'seed'],
  ['s3:ListMultipartUploadParts', 'object', 'seed'],
  ['s3:PutAccelerateConfiguration', 'bucket', 'seed'],
  ['s3:PutBucketAcl', 'bucket', 'seed'],
  ['s3:PutBucketCORS', 'bucket', 'seed'],
  ['s3:PutBucketLogging', 'bucket', 'seed'],
  ['s3:PutBucketNotification', 'bucket', 'seed'],
  ['s3:PutBucketPolicy', 'bucket', 'seed'],
  ['s3:PutBucketRequestPayment', 'bucket', 'seed'],
  ['s3:PutBucketTagging', 'bucket', 'seed'],
  ['s3:PutBucketVersioning', 'bucket', 'seed'],
  ['s3:PutBucketWebsite', 'bucket', 'seed'],
  ['s3:PutLifecycleConfiguration', 'bucket', 'seed'],
  ['s3:PutObjectAcl', 'object', 'seed'],
  ['s3:PutObject', 'object', 'seed'],
  ['s3:PutObjectVersionAcl', 'object', 'seed'],
  ['s3:PutReplicationConfiguration', 'bucket', 'seed'],
  ['s3:RestoreObject', 'object', 'seed'],
  // --- object tagging (named by the seed's condition-key table) ---
  ['s3:GetObjectTagging', 'object', 'tagging'],
  ['s3:PutObjectTagging', 'object', 'tagging'],
  ['s3:DeleteObjectTagging', 'object', 'tagging'],
  ['s3:GetObjectVersionTagging', 'object', 'tagging'],
  ['s3:PutObjectVersionTagging', 'object', 'tagging'],
  ['s3:DeleteObjectVersionTagging', 'object', 'tagging'],
  // --- real AWS actions also accepted by Ceph, kept so AWS-style policies parse ---
  ['s3:GetEncryptionConfiguration', 'bucket', 'compat'],
  ['s3:PutEncryptionConfiguration', 'bucket', 'compat'],
  ['s3:GetBucketObjectLockConfiguration', 'bucket', 'compat'],
  ['s3:PutBucketObjectLockConfiguration', 'bucket', 'compat'],
  ['s3:GetObjectRetention', 'object', 'compat'],
  ['s3:PutObjectRetention', 'object', 'compat'],
  ['s3:GetObjectLegalHold', 'object', 'compat'],
  ['s3:PutObjectLegalHold', 'object', 'compat'],
  ['s3:BypassGovernanceRetention', 'object', 'compat'],
  ['s3:GetBucketPublicAccessBlock', 'bucket', 'compat'],
  ['s3:PutBucketPublicAccessBlock', 'bucket', 'compat'],
  ['s3:GetBucketPolicyStatus', 'bucket', 'compat'],
  ['s3:GetBucketOwnershipControls', 'bucket', 'compat'],
  ['s3:PutBucketOwnershipControls', 'bucket', 'compat'],
  ['s3:GetObjectAttributes', 'object', 'compat'],
  ['s3:GetObjectVersionAttributes', 'object', 'compat'],
];

export const ACTIONS: readonly ActionInfo[] = Object.freeze(
  table.map(([name, resource, origin], index) => Object.freeze({ name, resource, origin, index })),
);

export const ACTION_COUNT = ACTIONS.length;

/** Both the canonical spelling and the lower-cased spelling map to the entry. */
const byName = new Map<string, ActionInfo>();
for (const a of ACTIONS) {
  byName.set(a.name, a);
  byName.set(a.name.toLowerCase(), a);
}

/** The table entry for an action name (any case), or undefined. */
export function lookupAction(name: string): ActionInfo | undefined {
  return byName.get(name) ?? byName.get(name.toLowerCase());
}

/** The resource kind a request for `name` is evaluated against; undefined for unknown names. */
export function actionResourceKind(name: string): ActionResourceKind | undefined {
  return lookupAction(name)?.resource;
}

/** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`: the resource string for RequestContext. */
export function resourceArn(bucket: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/**
 * The actions an action pattern from a policy names (`s3:Get*`, `*`, `S3:getobject`), matched
 * case-insensitively against the whole name including the `s3:` prefix. An empty result means
 * the pattern is invalid ("Policy has invalid action").
 *
 * A leading `*` is an ordinary wildcard: `*Object` names only actions ending in "Object". Ceph
 * treats any action starting with `*` as "all actions" (tracker #81229); we do not copy that.
 */
export function expandActionPattern(pattern: string): ActionInfo[] {
  const test = compileWildcard(pattern, true);
  return ACTIONS.filter((a) => test(a.name));
}
