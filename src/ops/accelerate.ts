// Transfer acceleration: PutBucketAccelerateConfiguration / GetBucketAccelerateConfiguration
// (s3:PutAccelerateConfiguration needs the full level, like the other bucket configuration
// writes). The cloud Strata mirrors accelerates every bucket, so a bucket never configured is
// served by the accelerated hosts; `Suspended` makes them refuse it (src/accel/edge.ts) and drop
// what they cached of it, from their next look at the bucket (within the cache's TTL).
import { S3Error } from '../errors.ts';
import { enumeratedValue, readSettingDocument, settingAnswer, storeBucketSetting } from './bucket-setting.ts';
import type { Operation } from './operation.ts';

export const GetBucketAccelerateConfiguration: Operation = {
  name: 'GetBucketAccelerateConfiguration',
  action: 's3:GetAccelerateConfiguration',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    return settingAnswer('AccelerateConfiguration', 'Status', ctx.bucket?.config?.accelerate);
  },
};

export const PutBucketAccelerateConfiguration: Operation = {
  name: 'PutBucketAccelerateConfiguration',
  action: 's3:PutAccelerateConfiguration',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const accelerate = enumeratedValue(await readSettingDocument(ctx, 'AccelerateConfiguration'), 'Status', ['Enabled', 'Suspended'] as const);
    // AWS: accelerated host names are <bucket>.s3-accelerate..., which a dotted name would break.
    if (ctx.bucketName!.includes('.')) {
      throw new S3Error('InvalidRequest', 'S3 Transfer Acceleration is not supported for buckets with periods (.) in their names.');
    }
    await storeBucketSetting(ctx, { accelerate });
    return {};
  },
};
