// x-amz-expiration on PUT, HEAD and GET of an object a rule will expire: the earliest expiry
// the enabled rules give the current version, and that rule's ID (URL-encoded, as AWS sends it).
//   x-amz-expiration: expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"
// Always counted in real days, midnight-rounded as AWS counts them, as Ceph does too: a shortened
// test day (lifecycleDaySeconds) speeds the worker up, and ceph/s3-tests expects the header unchanged.
import type { BucketRecord, ObjectRecord } from '../store/types.ts';
import { currentExpiry, REAL_DAY_MS } from './rules.ts';

export function expirationHeader(bucket: BucketRecord | undefined, record: ObjectRecord): Record<string, string> {
  const rules = bucket?.config?.lifecycle;
  if (!rules) return {};
  const expiry = currentExpiry(rules, { key: record.key, size: record.size, tags: record.meta.tags ?? [] }, record.lastModified, REAL_DAY_MS);
  if (!expiry) return {};
  return { 'x-amz-expiration': `expiry-date="${new Date(expiry.at).toUTCString()}", rule-id="${encodeURIComponent(expiry.ruleId)}"` };
}
