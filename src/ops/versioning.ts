// Bucket versioning: PutBucketVersioning / GetBucketVersioning (s3:PutBucketVersioning needs the
// full level, like the other bucket configuration writes), and what the object operations share:
// the x-amz-version-id answer header and the bytes a write frees for the quota check.
import { S3Error } from '../errors.ts';
import { readSettingDocument, settingAnswer } from './bucket-setting.ts';
import type { Operation } from './operation.ts';
import type { BucketRecord, ObjectRecord, VersioningStatus } from '../store/types.ts';
import { textOf } from '../xml/xml.ts';

export function versioningOf(bucket: BucketRecord | undefined): VersioningStatus | undefined {
  return bucket?.config?.versioning;
}

/**
 * x-amz-version-id for a version just written: only where versioning is enabled (AWS sends none
 * for a write to a never-versioned bucket, nor for the null version a suspended bucket writes).
 */
export function writtenVersionHeader(bucket: BucketRecord | undefined, versionId: string | null | undefined): Record<string, string> {
  return versioningOf(bucket) === 'Enabled' && versionId ? { 'x-amz-version-id': versionId } : {};
}

/** x-amz-version-id of a version read or named: any bucket that ever had versioning says it ("null" included). */
export function readVersionHeader(bucket: BucketRecord | undefined, record: ObjectRecord): Record<string, string> {
  return versioningOf(bucket) !== undefined ? { 'x-amz-version-id': record.versionId ?? 'null' } : {};
}

/** Bytes a write over `current` frees (the quota's early estimate; the store decides again at commit). */
export function bytesReplaced(bucket: BucketRecord | undefined, current: ObjectRecord | undefined): number {
  if (!current) return 0;
  const status = versioningOf(bucket);
  return status === undefined || (status === 'Suspended' && !current.versionId) ? current.size : 0;
}

export const GetBucketVersioning: Operation = {
  name: 'GetBucketVersioning',
  action: 's3:GetBucketVersioning',
  level: 'read',
  needsBucket: true,
  async handle(ctx) {
    // A bucket whose versioning was never enabled has no Status element (AWS).
    return settingAnswer('VersioningConfiguration', 'Status', versioningOf(ctx.bucket));
  },
};

export const PutBucketVersioning: Operation = {
  name: 'PutBucketVersioning',
  action: 's3:PutBucketVersioning',
  level: 'full',
  needsBucket: true,
  async handle(ctx) {
    const config = await readSettingDocument(ctx, 'VersioningConfiguration');
    const status = textOf(config.Status);
    const mfa = textOf(config.MfaDelete);
    if (mfa !== undefined && mfa !== 'Disabled') {
      if (mfa !== 'Enabled') throw new S3Error('MalformedXML');
      // There are no MFA devices here, so MFA delete could never be satisfied.
      throw new S3Error('NotImplemented', 'MFA delete is not supported: Strata has no MFA devices.');
    }
    if (status === undefined) {
      // An empty configuration changes nothing (AWS accepts it).
      return {};
    }
    if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML');
    await ctx.store.setVersioning(ctx.bucketName!, status);
    await ctx.store.durable();
    return {};
  },
};
