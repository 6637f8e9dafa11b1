// Authorization of a request in context: binds the pure decision (authorize.ts) to the request's
// principal, condition values and, lazily, the object's ACL and tags.
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
  authorize({
    principal: ctx.principal,
    action,
    level,
    bucket,
    key,
    conditions: (policy) => requestConditions(ctx, action, policy, { existingTags: loadObject ? () => loadObject()?.meta.tags : undefined, ...extras }),
    object: loadObject,
  });
}
