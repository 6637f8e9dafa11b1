// Bucket CORS configuration: PutBucketCors, GetBucketCors, DeleteBucketCors (?cors). Put and
// Delete are authorized as s3:PutBucketCORS (AWS has no s3:DeleteBucketCORS action) at the full
// level, like the other bucket configuration writes; Get as s3:GetBucketCORS. The document is
// validated in src/cors/config.ts; what the rules do is in src/cors/match.ts (preflights:
// ./cors-preflight.ts; headers of actual answers: src/cors/response.ts).
import { parseCorsConfiguration, renderCorsConfiguration, maxCorsDocumentBytes } from '../cors/config.ts';
import { S3Error } from '../errors.ts';
import { storeBucketSetting } from './bucket-setting.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';

export const GetBucketCors: Operation = {
  name: 'GetBucketCors',
  action: 's3:GetBucketCORS',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const rules = ctx.bucket?.config?.cors;
    if (!rules) throw new S3Error('NoSuchCORSConfiguration', undefined, { BucketName: ctx.bucketName! });
    return { xml: renderCorsConfiguration(rules) };
  },
};

export const PutBucketCors: Operation = {
  name: 'PutBucketCors',
  action: 's3:PutBucketCORS',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const cors = parseCorsConfiguration(await readControlBody(ctx, maxCorsDocumentBytes));
    await storeBucketSetting(ctx, { cors });
    return {};
  },
};

export const DeleteBucketCors: Operation = {
  name: 'DeleteBucketCors',
  action: 's3:PutBucketCORS',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    // Deleting a configuration that does not exist succeeds too, as on AWS.
    await storeBucketSetting(ctx, { cors: undefined });
    return { status: 204 };
  },
};
