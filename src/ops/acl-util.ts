// ACLs from request headers: canned ACLs (x-amz-acl) and explicit grants (x-amz-grant-*).
// Canonical user IDs in Strata are organisation ids: an ACL grants to a whole organisation.
import { S3Error } from '../errors.ts';
import type { RequestContext } from './operation.ts';
import type { Acl, BucketRecord, Grant } from '../store/types.ts';
import { authorizeObjectAction } from './object-access.ts';
import { bucketAclGrantsWrite } from '../access/authorize.ts';

import { allUsersUri, authenticatedUsersUri, grantHeaders, logDeliveryUri } from '../access/acl-vocabulary.ts';

export { allUsersUri, authenticatedUsersUri, grantHeaders, logDeliveryUri };

export const cannedAcls = ['private', 'public-read', 'public-read-write', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control', 'log-delivery-write', 'aws-exec-read'] as const;

export function privateAcl(owner: string): Acl {
  return { owner, grants: [{ grantee: { type: 'CanonicalUser', id: owner }, permission: 'FULL_CONTROL' }] };
}

export function cannedAcl(name: string, owner: string, bucketOwner: string): Acl {
  // The owner's grant is listed after the canned ones, as Ceph (and the S3 test suite) list them.
  const acl: Acl = { owner, grants: [] };
  const group = (uri: string, permission: Grant['permission']): Grant => ({ grantee: { type: 'Group', uri }, permission });
  switch (name) {
    case 'private':
    case 'aws-exec-read':
      break;
    case 'public-read':
      acl.grants.push(group(allUsersUri, 'READ'));
      break;
    case 'public-read-write':
      acl.grants.push(group(allUsersUri, 'READ'), group(allUsersUri, 'WRITE'));
      break;
    case 'authenticated-read':
      acl.grants.push(group(authenticatedUsersUri, 'READ'));
      break;
    case 'bucket-owner-read':
      if (bucketOwner !== owner) acl.grants.push({ grantee: { type: 'CanonicalUser', id: bucketOwner }, permission: 'READ' });
      break;
    case 'bucket-owner-full-control':
      if (bucketOwner !== owner) acl.grants.push({ grantee: { type: 'CanonicalUser', id: bucketOwner }, permission: 'FULL_CONTROL' });
      break;
    case 'log-delivery-write':
      acl.grants.push(group(logDeliveryUri, 'WRITE'), group(logDeliveryUri, 'READ_ACP'));
      break;
    default:
      throw new S3Error('InvalidArgument', undefined, { ArgumentName: 'x-amz-acl', ArgumentValue: name });
  }
  acl.grants.push(...privateAcl(owner).grants);
  return acl;
}

/** Parse `id="org", uri="http://...", emailAddress="..."` grantee lists of x-amz-grant-* headers. */
function parseGrantees(value: string, permission: Grant['permission']): Grant[] {
  const grants: Grant[] = [];
  for (const part of value.split(',')) {
    const m = /^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$/i.exec(part);
    if (!m) throw new S3Error('InvalidArgument', 'Invalid grant header value', { ArgumentName: 'x-amz-grant', ArgumentValue: value });
    const kind = m[1].toLowerCase();
    if (kind === 'id') grants.push({ grantee: { type: 'CanonicalUser', id: m[2] }, permission });
    else if (kind === 'uri') {
      if (![allUsersUri, authenticatedUsersUri, logDeliveryUri].includes(m[2])) throw new S3Error('InvalidArgument', 'Invalid group uri', { ArgumentName: 'uri', ArgumentValue: m[2] });
      grants.push({ grantee: { type: 'Group', uri: m[2] }, permission });
    } else throw new S3Error('UnresolvableGrantByEmailAddress');
  }
  return grants;
}

/**
 * The ACL of an object being written: what the request asks for, else private to the writer.
 * An object written into another organisation's bucket belongs to its writer (S3 object
 * ownership), so the writer can read it back; the bucket owner keeps its own rights over the bucket.
 */
export async function newObjectAcl(ctx: RequestContext): Promise<Acl | undefined> {
  const bucketOwner = ctx.bucket!.ownerOrg;
  const writer = ctx.principal?.org ?? bucketOwner;
  const requested = aclFromRequestHeaders(ctx, writer, 'object', bucketOwner);
  refusePublicAcl(ctx.bucket, requested); // BlockPublicAcls (PutObject, CopyObject, CreateMultipartUpload)
  // An ACL that opens the object to anyone beyond its writer and the bucket owner is a PutObjectAcl
  // in disguise, and needs what PutObjectAcl needs: the full level, or s3:PutObjectAcl from policy.
  // Otherwise a readwrite key could publish any object by copying it onto itself with
  // x-amz-acl: public-read. AWS asks s3:PutObjectAcl for any ACL header; we do not for ACLs that
  // widen nothing (private, bucket-owner-full-control), because rclone sends x-amz-acl: private
  // by default and ceph/s3-tests (test_bucket_policy_put_obj_grant) grant the bucket owner with
  // s3:PutObject alone.
  // An object written under the bucket ACL's WRITE grant (anonymously, or by another
  // organisation) belongs to its writer, who may give it an ACL as it writes (AWS's ACL model;
  // Ceph RGW; ceph/s3-tests' anonymous POST uploads with acl=public-read). Keys of the bucket's
  // own organisation still need what PutObjectAcl needs.
  const writesUnderBucketAcl = ctx.principal?.org !== bucketOwner && bucketAclGrantsWrite(ctx.bucket!, ctx.principal);
  if (requested && widensAccess(requested, writer, bucketOwner) && !writesUnderBucketAcl) await authorizeObjectAction(ctx, 's3:PutObjectAcl', 'full', ctx.key!);
  if (requested) return await checkGrantees(ctx, requested);
  return writer !== bucketOwner ? privateAcl(writer) : undefined;
}

/** Whether an ACL grants anything to someone other than the object's writer and the bucket's owner. */
function widensAccess(acl: Acl, writer: string, bucketOwner: string): boolean {
  return acl.grants.some((g) => g.grantee.type !== 'CanonicalUser' || (g.grantee.id !== writer && g.grantee.id !== bucketOwner));
}

/** AWS's "public ACL": one that grants anything to the AllUsers or AuthenticatedUsers group. */
export function isPublicAcl(acl: Acl): boolean {
  return acl.grants.some((g) => g.grantee.type === 'Group' && (g.grantee.uri === allUsersUri || g.grantee.uri === authenticatedUsersUri));
}

/**
 * BlockPublicAcls of the bucket's public access block: a request that would set a public ACL on
 * the bucket or on one of its objects is refused with 403 AccessDenied, before anything changes.
 */
export function refusePublicAcl(bucket: BucketRecord | undefined, acl: Acl | null | undefined): void {
  if (acl && bucket?.config?.publicAccessBlock?.blockPublicAcls && isPublicAcl(acl)) {
    throw new S3Error('AccessDenied');
  }
}

/** Grants must name organisations that exist (S3 answers InvalidArgument for unknown ids). */
export async function checkGrantees(ctx: Pick<RequestContext, 'services'>, acl: Acl): Promise<Acl> {
  let orgs: Set<string> | undefined;
  for (const grant of acl.grants) {
    if (grant.grantee.type !== 'CanonicalUser') continue;
    orgs ??= new Set(await ctx.services.identity.listOrgs());
    if (!orgs.has(grant.grantee.id)) throw new S3Error('InvalidArgument', 'Invalid id', { ArgumentName: 'CanonicalUser/ID', ArgumentValue: grant.grantee.id });
  }
  return acl;
}

/**
 * The ACL a creating request asks for, or null when it asks for nothing (the default,
 * private, is then implied). `bucketOwner` is used by the bucket-owner-* canned ACLs.
 */
export function aclFromRequestHeaders(ctx: Pick<RequestContext, 'headers'>, owner: string, _kind: 'bucket' | 'object', bucketOwner = owner): Acl | null {
  const canned = ctx.headers['x-amz-acl'] as string | undefined;
  const grantNames = Object.keys(grantHeaders).filter((h) => ctx.headers[h] !== undefined) as (keyof typeof grantHeaders)[];
  if (canned !== undefined && grantNames.length > 0) throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  if (canned !== undefined) return cannedAcl(canned, owner, bucketOwner);
  if (grantNames.length === 0) return null;
  const acl: Acl = { owner, grants: [] };
  for (const name of grantNames) acl.grants.push(...parseGrantees(String(ctx.headers[name]), grantHeaders[name]));
  return acl;
}
