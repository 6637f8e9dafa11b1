// Requester-pays buckets: a request by anyone other than the bucket's organisation must say it
// accepts the charge (x-amz-request-payer: requester, a signed header like every x-amz-* one),
// and anonymous requests are refused, as AWS does; answers to charged requests say
// x-amz-request-charged. The bucket owner's own requests are unaffected.
import { S3Error } from '../errors.ts';
import type { Principal } from '../identity/identity-store.ts';
import type { BucketRecord } from '../store/types.ts';

export type RequestPayer = 'BucketOwner' | 'Requester';

/** The headers a request's answer carries for its payment, or AccessDenied when it may not proceed. */
export function requestPayment(bucket: BucketRecord | undefined, principal: Principal | undefined, payerHeader: string | string[] | undefined): Record<string, string> {
  if (bucket?.config?.requestPayment !== 'Requester') return {};
  if (principal === undefined) throw new S3Error('AccessDenied', 'Anonymous requests are not allowed on a requester-pays bucket.');
  if (principal.org === bucket.ownerOrg) return {};
  // AWS compares the value case-insensitively ("requester").
  if (typeof payerHeader !== 'string' || payerHeader.toLowerCase() !== 'requester') {
    throw new S3Error('AccessDenied', 'This bucket is requester pays: requests by other accounts must send x-amz-request-payer: requester.');
  }
  return { 'x-amz-request-charged': 'requester' };
}
