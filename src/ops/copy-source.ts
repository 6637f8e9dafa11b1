// The x-amz-copy-source header of CopyObject and UploadPartCopy: which object to read, after
// checking the caller may read it (s3:GetObject against the source bucket's own rules).
import { missingObjectError } from '../access/check.ts';
import { S3Error } from '../errors.ts';
import { versioningOf } from './versioning.ts';
import type { RequestContext } from './operation.ts';
import type { BucketRecord, ObjectRecord } from '../store/types.ts';
import { header } from './common.ts';
import { checkCopySourceConditions } from './conditions.ts';
import { authorizeObjectAction } from './object-access.ts';

export interface CopySource {
  bucket: BucketRecord;
  record: ObjectRecord;
  /** the header value as the policy condition key s3:x-amz-copy-source sees it: bucket/key */
  raw: string;
  /** x-amz-copy-source-version-id for the answer, when the source bucket ever had versioning */
  versionHeader: Record<string, string>;
}

export function parseCopySourceHeader(value: string): { bucket: string; key: string; versionId?: string } {
  let v = value;
  const q = v.indexOf('?');
  let versionId: string | undefined;
  if (q >= 0) {
    const params = new URLSearchParams(v.slice(q + 1));
    versionId = params.get('versionId') ?? undefined;
    v = v.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(v);
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source' });
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source' });
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

export async function loadCopySource(ctx: RequestContext): Promise<CopySource> {
  const value = header(ctx, 'x-amz-copy-source')!;
  const parsed = parseCopySourceHeader(value);
  const bucket = await ctx.store.getBucket(parsed.bucket);
  if (!bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: parsed.bucket });
  // Reading a named version is s3:GetObjectVersion (AWS).
  await authorizeObjectAction(ctx, parsed.versionId !== undefined ? 's3:GetObjectVersion' : 's3:GetObject', 'read', parsed.key, bucket, {}, parsed.versionId);
  const entry = parsed.versionId !== undefined || versioningOf(bucket) !== undefined ? await ctx.store.getVersion(parsed.bucket, parsed.key, parsed.versionId) : undefined;
  const record = entry ? entry.record : parsed.versionId === undefined && versioningOf(bucket) === undefined ? await ctx.store.getObject(parsed.bucket, parsed.key) : undefined;
  if (parsed.versionId !== undefined && !entry) throw new S3Error('NoSuchVersion', undefined, { Key: parsed.key, VersionId: parsed.versionId });
  // A delete marker cannot be copied: by its id it is InvalidRequest (AWS), as the current version NoSuchKey.
  if (entry?.isDeleteMarker && parsed.versionId !== undefined) throw new S3Error('InvalidRequest', 'The source of a copy request may not specifically refer to a delete marker by version id.');
  if (!record || entry?.isDeleteMarker) throw missingObjectError(ctx, bucket, parsed.key);
  checkCopySourceConditions(ctx, record);
  const versionHeader: Record<string, string> = versioningOf(bucket) !== undefined ? { 'x-amz-copy-source-version-id': record.versionId ?? 'null' } : {};
  return { bucket, record, raw: `${parsed.bucket}/${parsed.key}`, versionHeader };
}
