// Authorization checks an operation makes beyond the one the pipeline made for it: each key of
// a DeleteObjects request, and the source object of a copy (against the source bucket's rules).
import { authorizeRequest } from '../access/check.ts';
import type { ConditionExtras } from '../access/request-conditions.ts';
import type { LevelNeed, RequestContext } from './operation.ts';
import type { BucketRecord } from '../store/types.ts';

export function authorizeObjectAction(
  ctx: RequestContext,
  action: string,
  level: LevelNeed,
  key: string,
  bucket: BucketRecord = ctx.bucket!,
  extras: ConditionExtras = {},
  versionId?: string,
): Promise<void> {
  return authorizeRequest(ctx, action, level, bucket, key, extras, versionId);
}
