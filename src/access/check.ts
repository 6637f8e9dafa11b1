// Authorization of a request in context: binds the pure decision (authorize.ts) to the request's
// principal, condition values and, lazily, the object's ACL and tags.
import { S3Error } from '../errors.ts';
import type { LevelNeed, RequestContext } from '../http/operation.ts';
import type { BucketRecord } from '../store/types.ts';
import { authorize } from './authorize.ts';
import { requestConditions, type ConditionExtras } from './request-conditions.ts';

export function authorizeRequest(
  ctx: RequestContext,
  action: string,
  level: LevelNeed,
  bucket: BucketRecord | undefined,
  key: string | undefined,
  extras: ConditionExtras = {},
): void {
  const loadObject = bucket && key !== undefined ? () => ctx.store.getObject(bucket.name, key) : undefined;
  try {
    authorize({
      principal: ctx.principal,
      action,
      level,
      bucket,
      key,
      conditions: (policy) => requestConditions(ctx, action, policy, { existingTags: loadObject ? () => loadObject()?.meta.tags : undefined, ...extras }),
      object: loadObject,
    });
  } catch (err) {
    // A caller who may list the bucket learns that a missing key is missing even when it may not
    // read it (AWS); see missingObjectError for the other half of the rule.
    if (err instanceof S3Error && err.code === 'AccessDenied' && action === 's3:GetObject' && bucket && loadObject && !loadObject()) {
      if (mayList(ctx, bucket, key!)) throw new S3Error('NoSuchKey', undefined, { Key: key! });
    }
    throw err;
  }
}

/**
 * The error for a key that does not exist, once the caller was allowed to read it: S3 tells a
 * caller who may list the bucket that the key is missing (404 NoSuchKey), and everyone else only
 * that access is denied (403), so that keys cannot be probed by whoever may merely read them.
 */
export function missingObjectError(ctx: RequestContext, bucket: BucketRecord, key: string, detail: Record<string, string> = {}): S3Error {
  if (mayList(ctx, bucket, key)) return new S3Error('NoSuchKey', undefined, { Key: key, ...detail });
  return new S3Error('AccessDenied');
}

/**
 * Whether the caller may list the part of the bucket where `key` would be: s3:ListBucket with
 * the key as s3:prefix, so that a ListBucket Allow limited by s3:prefix reveals only the missing
 * keys it would list (AWS; Ceph since ceph/ceph#68577, s3-tests test_head_object_404_with_policy_prefix).
 */
function mayList(ctx: RequestContext, bucket: BucketRecord, key: string): boolean {
  try {
    authorize({ principal: ctx.principal, action: 's3:ListBucket', level: 'read', bucket, conditions: (policy) => requestConditions(ctx, 's3:ListBucket', policy, { listPrefix: key }) });
    return true;
  } catch {
    return false;
  }
}
