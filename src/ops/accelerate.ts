// Transfer acceleration: PutBucketAccelerateConfiguration / GetBucketAccelerateConfiguration
// (s3:PutAccelerateConfiguration needs the full level, like the other bucket configuration
// writes). The cloud Strata mirrors accelerates every bucket, so a bucket never configured is
// served by the accelerated hosts; `Suspended` makes them refuse it (src/accel/edge.ts) and drop
// what they cached of it, from their next look at the bucket (within the cache's TTL).
import { S3Error } from '../errors.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import type { AccelerateStatus } from '../store/types.ts';
import { parseXml, renderXml, textOf } from '../xml/xml.ts';

export const GetBucketAccelerateConfiguration: Operation = {
  name: 'GetBucketAccelerateConfiguration',
  action: 's3:GetAccelerateConfiguration',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const status = ctx.bucket?.config?.accelerate;
    // Never configured: no Status element, as AWS answers.
    return { xml: renderXml('AccelerateConfiguration', status ? { Status: status } : {}) };
  },
};

export const PutBucketAccelerateConfiguration: Operation = {
  name: 'PutBucketAccelerateConfiguration',
  action: 's3:PutAccelerateConfiguration',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const doc = parseXml(await readControlBody(ctx, 64 * 1024), { errorCode: 'MalformedXML' });
    const config = doc.AccelerateConfiguration as Record<string, unknown> | undefined;
    if (!config || typeof config !== 'object') throw new S3Error('MalformedXML');
    const status = textOf(config.Status);
    if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML');
    // AWS: accelerated host names are <bucket>.s3-accelerate..., which a dotted name would break.
    if (ctx.bucketName!.includes('.')) {
      throw new S3Error('InvalidRequest', 'S3 Transfer Acceleration is not supported for buckets with periods (.) in their names.');
    }
    const accelerate: AccelerateStatus = status;
    await ctx.store.setBucketConfig(ctx.bucketName!, (current) => ({ ...current, accelerate }));
    await ctx.store.durable();
    return {};
  },
};
