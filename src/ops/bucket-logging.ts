// Server access logging: PutBucketLogging / GetBucketLogging (s3:PutBucketLogging at the full
// level, s3:GetBucketLogging at read), and Ceph RGW's flush, POST ?logging (authorized as
// s3:PutBucketLogging), which writes the bucket's pending records now and answers the log
// object's name. The target must exist in the same region (another region's bucket:
// CrossLocationLoggingProhibitted), must not be the source, must not itself be logged and must
// not be requester-pays (InvalidArgument, as Ceph RGW answers), and its owner must let the
// source write: the same organisation, or a bucket policy allowing the service principal
// logging.s3.amazonaws.com s3:PutObject under the prefix (aws:SourceArn, aws:SourceAccount
// evaluated), else AccessDenied.
import { parseLoggingStatus, renderLoggingStatus, type LoggingConfig } from '../access-log/config.ts';
import { S3Error } from '../errors.ts';
import { evaluatePolicy } from '../policy/evaluate.ts';
import { parsePolicy } from '../policy/parse.ts';
import { conditionValues } from '../policy/conditions.ts';
import type { BucketRecord } from '../store/types.ts';
import { readControlBody } from './control-body.ts';
import type { Operation, RequestContext } from './operation.ts';
import { renderXml } from '../xml/xml.ts';

export const GetBucketLogging: Operation = {
  name: 'GetBucketLogging',
  action: 's3:GetBucketLogging',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const logging = ctx.bucket?.config?.logging;
    // Ceph RGW: Last-Modified is when the configuration last changed (setting the same one again is no change).
    const headers = logging?.modifiedAt ? { 'last-modified': new Date(logging.modifiedAt).toUTCString() } : undefined;
    return { headers, xml: renderXml('BucketLoggingStatus', renderLoggingStatus(logging, ctx.services.config.accessLogDelaySeconds)) };
  },
};

/** May `source`'s owner write logs into `target` under `prefix`? */
function loggingAllowed(source: BucketRecord, target: BucketRecord, prefix: string): boolean {
  if (source.ownerOrg === target.ownerOrg) return true;
  if (!target.policy) return false;
  const decision = evaluatePolicy(parsePolicy(target.policy, { bucket: target.name }), {
    principal: { kind: 'service', name: 'logging.s3.amazonaws.com' },
    action: 's3:PutObject',
    resource: `arn:aws:s3:::${target.name}/${prefix}`,
    conditions: conditionValues({ 'aws:SourceArn': `arn:aws:s3:::${source.name}`, 'aws:SourceAccount': source.ownerOrg, 'aws:SecureTransport': 'true' }),
  });
  return decision === 'Allow';
}

async function checkTarget(ctx: RequestContext, config: LoggingConfig): Promise<void> {
  const source = ctx.bucket!;
  const target = await ctx.store.getBucket(config.targetBucket);
  if (!target) {
    for (const [name, other] of ctx.services.regions) {
      if (name !== ctx.store.name && (await other.getBucket(config.targetBucket))) throw new S3Error('CrossLocationLoggingProhibitted', undefined, { SourceBucketLocation: ctx.store.name, TargetBucketLocation: name });
    }
    throw new S3Error('InvalidTargetBucketForLogging', 'The target bucket for logging does not exist', { TargetBucket: config.targetBucket });
  }
  const invalid = (message: string) => new S3Error('InvalidArgument', message, { ArgumentName: 'TargetBucket', ArgumentValue: config.targetBucket });
  if (target.name === source.name) throw invalid('The target bucket must not be the logged bucket.');
  if (target.config?.logging) throw invalid('The target bucket is itself logged.');
  if (target.config?.requestPayment === 'Requester') throw invalid('Requester Pays enabled target buckets are not supported.');
  if (!loggingAllowed(source, target, config.targetPrefix)) throw new S3Error('AccessDenied', 'The target bucket does not allow logging.s3.amazonaws.com to write the logs of this bucket.');
}

function sameLogging(a: LoggingConfig | undefined, b: LoggingConfig): boolean {
  if (!a) return false;
  const { modifiedAt: _a, ...restA } = a;
  const { modifiedAt: _b, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}

export const PutBucketLogging: Operation = {
  name: 'PutBucketLogging',
  action: 's3:PutBucketLogging',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const config = parseLoggingStatus(await readControlBody(ctx, 64 * 1024));
    if (config) await checkTarget(ctx, config);
    await ctx.store.setBucketConfig(ctx.bucketName!, (current) => {
      const next = { ...current };
      if (config) next.logging = { ...config, modifiedAt: sameLogging(current.logging, config) ? current.logging!.modifiedAt : Date.now() };
      else delete next.logging;
      return next;
    });
    await ctx.store.durable();
    return {};
  },
};

export const PostBucketLogging: Operation = {
  name: 'PostBucketLogging',
  action: 's3:PutBucketLogging',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const logging = ctx.bucket?.config?.logging;
    if (!logging) throw new S3Error('InvalidArgument', 'Logging is not enabled on this bucket.', { ArgumentName: 'logging' });
    // The owner's permission is checked again: a target policy may have changed since.
    const target = await ctx.store.getBucket(logging.targetBucket);
    if (target && !loggingAllowed(ctx.bucket!, target, logging.targetPrefix)) throw new S3Error('AccessDenied');
    const written = (await ctx.services.events?.flushAccessLog(ctx.store.name, logging.targetBucket, logging.targetPrefix)) ?? [];
    return { xml: renderXml('PostBucketLoggingOutput', { FlushedLoggingObject: written[written.length - 1] ?? '' }) };
  },
};
