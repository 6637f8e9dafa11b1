// Bucket and object ACLs: GetBucketAcl/PutBucketAcl (s3:GetBucketAcl, s3:PutBucketAcl) and
// GetObjectAcl/PutObjectAcl (s3:GetObjectAcl, s3:PutObjectAcl), with canned ACLs, x-amz-grant-*
// headers or an AccessControlPolicy document. Grantees are organisations (canonical user ids)
// or the AllUsers / AuthenticatedUsers / LogDelivery groups; e-mail grantees are not supported.
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { Operation, RequestContext } from './operation.ts';
import type { Acl, Grant } from '../store/types.ts';
import { parseXml, renderXml, textOf } from '../xml/xml.ts';
import { aclFromRequestHeaders, checkGrantees, allUsersUri, authenticatedUsersUri, logDeliveryUri, privateAcl, refusePublicAcl } from './acl-util.ts';
import { ownerXml } from './common.ts';
import { loadObject } from './object-get.ts';
import { changeOrigin } from './change-origin.ts';

const xsi = 'http://www.w3.org/2001/XMLSchema-instance';
const permissions = new Set(['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP']);

export function renderAcl(acl: Acl): string {
  // Group grants first, then grants to organisations, each in the order given: Ceph RGW lists
  // them so (its grant map is keyed by user id, a group's being empty) and ceph/s3-tests' grant
  // checks compare in that order. S3 gives grants no order, so AWS clients are indifferent.
  const grants = [...acl.grants.filter((g) => g.grantee.type === 'Group'), ...acl.grants.filter((g) => g.grantee.type !== 'Group')];
  return renderXml('AccessControlPolicy', {
    Owner: ownerXml(acl.owner),
    AccessControlList: {
      Grant: grants.map((g) => ({
        Grantee:
          g.grantee.type === 'CanonicalUser'
            ? { '@xmlns:xsi': xsi, '@xsi:type': 'CanonicalUser', ID: g.grantee.id, DisplayName: g.grantee.id }
            : { '@xmlns:xsi': xsi, '@xsi:type': 'Group', URI: g.grantee.uri },
        Permission: g.permission,
      })),
    },
  });
}

function parseAclDocument(body: Buffer, owner: string): Acl {
  const doc = parseXml(body, { arrays: ['Grant'], errorCode: 'MalformedACLError' });
  const policy = doc.AccessControlPolicy as Record<string, unknown> | undefined;
  if (!policy || typeof policy !== 'object') throw new S3Error('MalformedACLError');
  const ownerId = textOf((policy.Owner as Record<string, unknown> | undefined)?.ID);
  if (ownerId !== undefined && ownerId !== owner) throw new S3Error('AccessDenied', 'The owner of an ACL cannot be changed.');
  const list = policy.AccessControlList as Record<string, unknown> | string | undefined;
  const grantsXml = (typeof list === 'object' && list ? (list.Grant as Record<string, unknown>[] | undefined) : undefined) ?? [];
  const grants: Grant[] = grantsXml.map((g) => {
    const permission = textOf(g?.Permission);
    if (!permission || !permissions.has(permission)) throw new S3Error('MalformedACLError');
    const grantee = g.Grantee as Record<string, unknown> | undefined;
    if (!grantee || typeof grantee !== 'object') throw new S3Error('MalformedACLError');
    const type = grantee['@_type'] as string | undefined;
    const id = textOf(grantee.ID);
    const uri = textOf(grantee.URI);
    if ((type === 'CanonicalUser' || (!type && id)) && id) return { grantee: { type: 'CanonicalUser', id }, permission: permission as Grant['permission'] };
    if ((type === 'Group' || (!type && uri)) && uri) {
      if (![allUsersUri, authenticatedUsersUri, logDeliveryUri].includes(uri)) throw new S3Error('InvalidArgument', 'Invalid group uri', { ArgumentName: 'uri', ArgumentValue: uri });
      return { grantee: { type: 'Group', uri }, permission: permission as Grant['permission'] };
    }
    if (type === 'AmazonCustomerByEmail') throw new S3Error('UnresolvableGrantByEmailAddress');
    throw new S3Error('MalformedACLError');
  });
  return { owner, grants };
}

/** The ACL a PutBucketAcl/PutObjectAcl request sets: from headers, or from the body. */
async function requestedAcl(ctx: RequestContext, owner: string, bucketOwner: string): Promise<Acl> {
  const fromHeaders = aclFromRequestHeaders(ctx, owner, 'object', bucketOwner);
  const body = await readControlBody(ctx, 64 * 1024);
  if (fromHeaders && body.length > 0) throw new S3Error('UnexpectedContent');
  if (fromHeaders) return await checkGrantees(ctx, fromHeaders);
  if (body.length === 0) throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', { MissingHeaderName: 'x-amz-acl' });
  return await checkGrantees(ctx, parseAclDocument(body, owner));
}

export const GetBucketAcl: Operation = {
  name: 'GetBucketAcl',
  action: 's3:GetBucketAcl',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const bucket = ctx.bucket!;
    return { xml: renderAcl(bucket.acl ?? privateAcl(bucket.ownerOrg)) };
  },
};

export const PutBucketAcl: Operation = {
  name: 'PutBucketAcl',
  action: 's3:PutBucketAcl',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const bucket = ctx.bucket!;
    const acl = await requestedAcl(ctx, bucket.ownerOrg, bucket.ownerOrg);
    refusePublicAcl(bucket, acl); // BlockPublicAcls
    await ctx.store.setBucketAcl(bucket.name, acl);
    await ctx.store.durable();
    return {};
  },
};

export const GetObjectAcl: Operation = {
  name: 'GetObjectAcl',
  action: 's3:GetObjectAcl',
  versionAction: 's3:GetObjectVersionAcl',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const record = await loadObject(ctx);
    return { xml: renderAcl(record.meta.acl ?? privateAcl(record.ownerOrg)) };
  },
};

export const PutObjectAcl: Operation = {
  name: 'PutObjectAcl',
  action: 's3:PutObjectAcl',
  versionAction: 's3:PutObjectVersionAcl',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const record = await loadObject(ctx);
    const acl = await requestedAcl(ctx, record.meta.acl?.owner ?? record.ownerOrg, ctx.bucket!.ownerOrg);
    refusePublicAcl(ctx.bucket, acl); // BlockPublicAcls
    await ctx.store.updateObjectMeta(ctx.bucketName!, ctx.key!, (meta) => ({ ...meta, acl }), ctx.query.get('versionId'), changeOrigin(ctx, 'PutObjectAcl'));
    await ctx.store.durable();
    return {};
  },
};
