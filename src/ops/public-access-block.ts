// PutPublicAccessBlock, GetPublicAccessBlock, DeletePublicAccessBlock (bucket level;
// s3:PutBucketPublicAccessBlock / s3:GetBucketPublicAccessBlock — Delete needs the Put action, as
// in AWS) and GetBucketPolicyStatus (s3:GetBucketPolicyStatus).
//
// The settings live in the bucket's config (buckets.config JSON) and take effect where AWS says:
//   BlockPublicAcls       PutBucketAcl, PutObjectAcl, PutObject, CopyObject and
//                         CreateMultipartUpload that would set a public ACL → 403 AccessDenied
//                         (acl-util.ts refusePublicAcl). CreateBucket is unaffected: a bucket has
//                         no settings before it exists, and Strata has no account-level block.
//   IgnorePublicAcls      grants to AllUsers / AuthenticatedUsers are ignored by authorization
//                         (access/authorize.ts); the ACLs themselves stay as stored.
//   BlockPublicPolicy     PutBucketPolicy with a public policy → 403 AccessDenied (bucket-policy.ts).
//   RestrictPublicBuckets while the policy is public, its Allows count only for the owning
//                         organisation's keys (access/authorize.ts).
// None of them changes what is already stored. "Public" for policies: src/policy/public.ts.
import { bucketPolicyIsPublic } from '../access/authorize.ts';
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import type { PublicAccessBlock } from '../store/types.ts';
import { parseXml, renderXml, textOf } from '../xml/xml.ts';

/** XML element names and the fields they set, in AWS's order. */
const fields: [string, keyof PublicAccessBlock][] = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
];

/** Parse a PublicAccessBlockConfiguration document; absent settings are false (AWS). */
export function parsePublicAccessBlock(body: Buffer | string): PublicAccessBlock {
  const doc = parseXml(body);
  const root = doc.PublicAccessBlockConfiguration;
  const keys = Object.keys(doc);
  if (root === undefined || keys.length !== 1) throw new S3Error('MalformedXML');
  const config: PublicAccessBlock = { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };
  if (root === '') return config; // <PublicAccessBlockConfiguration/>
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new S3Error('MalformedXML');
  const known = new Map(fields);
  for (const [name, value] of Object.entries(root as Record<string, unknown>)) {
    if (name.startsWith('@_')) continue; // xmlns
    if (name === '#text') {
      if (String(value).trim() !== '') throw new S3Error('MalformedXML');
      continue;
    }
    const field = known.get(name);
    const text = Array.isArray(value) ? undefined : textOf(value)?.trim().toLowerCase();
    if (field === undefined || (text !== 'true' && text !== 'false')) throw new S3Error('MalformedXML');
    config[field] = text === 'true';
  }
  return config;
}

export function renderPublicAccessBlock(config: PublicAccessBlock): string {
  return renderXml('PublicAccessBlockConfiguration', Object.fromEntries(fields.map(([element, field]) => [element, config[field]])));
}

export const PutPublicAccessBlock: Operation = {
  name: 'PutPublicAccessBlock',
  action: 's3:PutBucketPublicAccessBlock',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const config = parsePublicAccessBlock(await readControlBody(ctx, 64 * 1024));
    await ctx.store.setBucketConfig(ctx.bucketName!, (current) => ({ ...current, publicAccessBlock: config }));
    await ctx.store.durable();
    return {};
  },
};

export const GetPublicAccessBlock: Operation = {
  name: 'GetPublicAccessBlock',
  action: 's3:GetBucketPublicAccessBlock',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const config = ctx.bucket!.config?.publicAccessBlock;
    if (!config) throw new S3Error('NoSuchPublicAccessBlockConfiguration', undefined, { BucketName: ctx.bucketName! });
    return { xml: renderPublicAccessBlock(config) };
  },
};

export const DeletePublicAccessBlock: Operation = {
  name: 'DeletePublicAccessBlock',
  action: 's3:PutBucketPublicAccessBlock',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    // Deleting a configuration that does not exist succeeds too (AWS, s3-tests).
    await ctx.store.setBucketConfig(ctx.bucketName!, ({ publicAccessBlock: _removed, ...rest }) => rest);
    await ctx.store.durable();
    return { status: 204 };
  },
};

/**
 * IsPublic reflects the bucket policy only, as in AWS (public ACLs do not count; Ceph counts them).
 * A bucket without a policy answers 404 NoSuchBucketPolicy, as AWS does (Ceph answers IsPublic false).
 */
export const GetBucketPolicyStatus: Operation = {
  name: 'GetBucketPolicyStatus',
  action: 's3:GetBucketPolicyStatus',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const bucket = ctx.bucket!;
    if (!bucket.policy) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: bucket.name });
    return { xml: renderXml('PolicyStatus', { IsPublic: bucketPolicyIsPublic(bucket) }) };
  },
};
