// Bucket policies: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy (s3:PutBucketPolicy,
// s3:GetBucketPolicy, s3:DeleteBucketPolicy), as s3cmd setpolicy / info / delpolicy and
// aws s3api use them. A policy is validated (parsed) before it is stored; the stored text is
// returned unchanged by GetBucketPolicy.
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import { parsePolicy } from '../policy/parse.ts';
import { isPublicPolicy } from '../policy/public.ts';

/** Bucket policies are limited to 20 KB (AWS); bodies beyond a small margin are not read. */
const maxPolicyBodyBytes = 64 * 1024;

export const PutBucketPolicy: Operation = {
  name: 'PutBucketPolicy',
  action: 's3:PutBucketPolicy',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const body = await readControlBody(ctx, maxPolicyBodyBytes).catch((err) => {
      if (err instanceof S3Error && err.code === 'MaxMessageLengthExceeded') throw new S3Error('PolicyTooLarge');
      throw err;
    });
    const text = body.toString('utf8');
    parsePolicy(text, { bucket: ctx.bucketName! });
    // BlockPublicPolicy of the bucket's public access block: a public policy is refused (AWS: 403).
    if (ctx.bucket!.config?.publicAccessBlock?.blockPublicPolicy && isPublicPolicy(text)) {
      throw new S3Error('AccessDenied');
    }
    await ctx.store.setBucketPolicy(ctx.bucketName!, text);
    await ctx.store.durable();
    return { status: 204 };
  },
};

export const GetBucketPolicy: Operation = {
  name: 'GetBucketPolicy',
  action: 's3:GetBucketPolicy',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const policy = ctx.bucket!.policy;
    if (!policy) throw new S3Error('NoSuchBucketPolicy', undefined, { BucketName: ctx.bucketName! });
    return { json: policy };
  },
};

export const DeleteBucketPolicy: Operation = {
  name: 'DeleteBucketPolicy',
  action: 's3:DeleteBucketPolicy',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    await ctx.store.setBucketPolicy(ctx.bucketName!, null);
    await ctx.store.durable();
    return { status: 204 };
  },
};
