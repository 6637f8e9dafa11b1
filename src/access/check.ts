// Authorization of a request in context: binds the pure decision (authorize.ts) to the request's
// principal, condition values and, lazily, the object's ACL and tags.
import { S3Error } from '../errors.ts';
import type { LevelNeed } from './levels.ts';
import type { AccessRequest } from './request.ts';
import type { BucketRecord, ObjectRecord } from '../store/types.ts';
import { authorize } from './authorize.ts';
import { requestConditions, type ConditionExtras } from './request-conditions.ts';

/** Thrown by the object getter while the object is not loaded yet: load it, then decide again. */
const NEEDS_OBJECT = Symbol('the decision needs the object');

/**
 * Authorize `action`. The decision itself (authorize.ts) is synchronous and pure; the object it
 * may need (its ACL, its tags for s3:ExistingObjectTag) is read from the store only when the
 * decision asks for it: the first run stops there, the object is loaded, and the decision is
 * taken again with it.
 */
export async function authorizeRequest(
  ctx: AccessRequest,
  action: string,
  level: LevelNeed,
  bucket: BucketRecord | undefined,
  key: string | undefined,
  extras: ConditionExtras = {},
  /** the version acted on (?versionId=): its ACL and tags decide, not the current version's (AWS) */
  versionId?: string,
): Promise<void> {
  let loaded: { record: ObjectRecord | undefined } | undefined;
  const load = async () => (loaded ??= { record: await objectForDecision(ctx, bucket!.name, key!, versionId) }).record;
  const object =
    bucket && key !== undefined
      ? () => {
          if (!loaded) throw NEEDS_OBJECT;
          return loaded.record;
        }
      : undefined;
  for (;;) {
    try {
      authorize({
        principal: ctx.principal,
        action,
        level,
        bucket,
        key,
        conditions: (policy) => requestConditions(ctx, action, policy, { existingTags: object ? () => object()?.meta.tags : undefined, ...extras }),
        object,
        trace: ctx.authorizeTrace,
      });
      return;
    } catch (err) {
      if (err === NEEDS_OBJECT) {
        await load();
        continue;
      }
      // A caller who may list the bucket learns that a missing key is missing even when it may not
      // read it (AWS); see missingObjectError for the other half of the rule.
      if (err instanceof S3Error && err.code === 'AccessDenied' && action === 's3:GetObject' && bucket && object && !(await load())) {
        if (mayList(ctx, bucket, key!)) throw new S3Error('NoSuchKey', undefined, { Key: key! });
      }
      throw err;
    }
  }
}

/** The object whose ACL and tags a decision reads: the named version, else the current one. */
async function objectForDecision(ctx: AccessRequest, bucket: string, key: string, versionId: string | undefined): Promise<ObjectRecord | undefined> {
  if (versionId === undefined) return ctx.store.getObject(bucket, key);
  // A malformed id or a delete marker has no ACL: the operation answers InvalidArgument or 405 itself.
  const entry = await ctx.store.getVersion(bucket, key, versionId).catch(() => undefined);
  return entry && !entry.isDeleteMarker ? entry.record : undefined;
}

/**
 * The error for a key that does not exist, once the caller was allowed to read it: S3 tells a
 * caller who may list the bucket that the key is missing (404 NoSuchKey), and everyone else only
 * that access is denied (403), so that keys cannot be probed by whoever may merely read them.
 */
export function missingObjectError(ctx: AccessRequest, bucket: BucketRecord, key: string, detail: Record<string, string> = {}): S3Error {
  if (mayList(ctx, bucket, key)) return new S3Error('NoSuchKey', undefined, { Key: key, ...detail });
  return new S3Error('AccessDenied');
}

/**
 * Whether the caller may list the part of the bucket where `key` would be: s3:ListBucket with
 * the key as s3:prefix, so that a ListBucket Allow limited by s3:prefix reveals only the missing
 * keys it would list (AWS; Ceph since ceph/ceph#68577, s3-tests test_head_object_404_with_policy_prefix).
 */
function mayList(ctx: AccessRequest, bucket: BucketRecord, key: string): boolean {
  try {
    authorize({ principal: ctx.principal, action: 's3:ListBucket', level: 'read', bucket, conditions: (policy) => requestConditions(ctx, 's3:ListBucket', policy, { listPrefix: key }) });
    return true;
  } catch {
    return false;
  }
}
