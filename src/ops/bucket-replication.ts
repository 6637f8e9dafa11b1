// PutBucketReplication / GetBucketReplication / DeleteBucketReplication
// (s3:PutReplicationConfiguration at the full level, also for the Delete, as AWS authorises it;
// s3:GetReplicationConfiguration at read). The source must be versioned (Enabled), and every
// destination must be an existing, versioned bucket of a region this process serves; each rule
// remembers its destination's region, which may be served by another process
// (STRATA_REGION_ENDPOINTS; asked over the internal channel). Replicas are written by
// src/replication. Not supported: replication time control, metrics, existing-object and
// replica-modification sync.
import { parseReplicationConfig, renderReplicationConfig } from '../replication/config.ts';
import { S3Error } from '../errors.ts';
import { storeBucketSetting } from './bucket-setting.ts';
import { readControlBody } from './control-body.ts';
import type { Operation } from './operation.ts';
import { renderXml } from '../xml/xml.ts';

export const GetBucketReplication: Operation = {
  name: 'GetBucketReplication',
  action: 's3:GetReplicationConfiguration',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    const config = ctx.bucket?.config?.replication;
    if (!config) throw new S3Error('ReplicationConfigurationNotFoundError', undefined, { BucketName: ctx.bucketName! });
    return { xml: renderXml('ReplicationConfiguration', renderReplicationConfig(config)) };
  },
};

export const PutBucketReplication: Operation = {
  name: 'PutBucketReplication',
  action: 's3:PutReplicationConfiguration',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const config = parseReplicationConfig(await readControlBody(ctx, 256 * 1024));
    if (ctx.bucket!.config?.versioning !== 'Enabled') throw new S3Error('InvalidRequest', "Versioning must be 'Enabled' on the bucket to apply a replication configuration");
    for (const rule of config.rules) {
      for (const [region, store] of ctx.services.regions) {
        if (region === ctx.store.name && rule.destinationBucket === ctx.bucketName) continue;
        const destination = await store.getBucket(rule.destinationBucket);
        if (!destination) continue;
        if (destination.config?.versioning !== 'Enabled') throw new S3Error('InvalidRequest', 'Destination bucket must have versioning enabled.');
        rule.destinationRegion = region;
        break;
      }
      if (!rule.destinationRegion) {
        // A region served by another process (one process per region) is asked over the internal channel.
        const remote = await ctx.services.events?.findRemoteBucket(rule.destinationBucket);
        if (remote && remote.versioning !== 'Enabled') throw new S3Error('InvalidRequest', 'Destination bucket must have versioning enabled.');
        if (remote) rule.destinationRegion = remote.region;
      }
      if (!rule.destinationRegion) throw new S3Error('InvalidRequest', 'Destination bucket must exist.');
    }
    await storeBucketSetting(ctx, { replication: config });
    return {};
  },
};

export const DeleteBucketReplication: Operation = {
  name: 'DeleteBucketReplication',
  action: 's3:PutReplicationConfiguration',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    await storeBucketSetting(ctx, { replication: undefined });
    return { status: 204 };
  },
};
