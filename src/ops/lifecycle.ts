// Bucket lifecycle configuration: PutBucketLifecycleConfiguration (s3:PutLifecycleConfiguration,
// the full level like the other bucket configuration writes), GetBucketLifecycleConfiguration
// (s3:GetLifecycleConfiguration) and DeleteBucketLifecycle (authorized as
// s3:PutLifecycleConfiguration, as AWS does). The rules are validated (src/lifecycle/document.ts),
// stored in the bucket's config, and carried out by the lifecycle worker (src/lifecycle/worker.ts).
// Not supported: Transition and NoncurrentVersionTransition (one storage class), refused clearly.
import { S3Error } from '../errors.ts';
import { maxLifecycleDocumentBytes, parseLifecycleDocument, renderLifecycleDocument } from '../lifecycle/document.ts';
import { storeBucketSetting } from './bucket-setting.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';

export const GetBucketLifecycleConfiguration: Operation = {
  name: 'GetBucketLifecycleConfiguration',
  action: 's3:GetLifecycleConfiguration',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const lifecycle = ctx.bucket?.config?.lifecycle;
    if (!lifecycle) throw new S3Error('NoSuchLifecycleConfiguration', undefined, { BucketName: ctx.bucketName! });
    return { xml: renderLifecycleDocument(lifecycle) };
  },
};

export const PutBucketLifecycleConfiguration: Operation = {
  name: 'PutBucketLifecycleConfiguration',
  action: 's3:PutLifecycleConfiguration',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const lifecycle = parseLifecycleDocument(await readControlBody(ctx, maxLifecycleDocumentBytes));
    // A pass under way goes on from where it stands, with the new rules.
    await storeBucketSetting(ctx, { lifecycle });
    return {};
  },
};

export const DeleteBucketLifecycle: Operation = {
  name: 'DeleteBucketLifecycle',
  action: 's3:PutLifecycleConfiguration',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    // 204 whether or not there was a configuration, as AWS answers.
    await storeBucketSetting(ctx, { lifecycle: undefined, lifecycleProgress: undefined });
    return { status: 204 };
  },
};
