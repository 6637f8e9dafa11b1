// CORS on the accelerated hosts. The bucket's rules travel with every cached answer (the wire
// bucket carries its config), so a preflight is answered from the cache like a HEAD: a
// metadata-only look-up of the path's key (or of no key, for a bucket path), never filling
// bytes, then the same evaluation as on the regional hosts (src/cors/match.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedRequest } from '../addressing.ts';
import { preflightHeaders } from '../cors/match.ts';
import { S3Error } from '../errors.ts';
import { header } from '../ops/common.ts';
import type { OperationResult } from '../ops/operation.ts';
import type { BucketRecord } from '../store/types.ts';
import type { ReadCache } from './cache.ts';
import { bucketRecordOf } from './wire.ts';

const fillNothing = async () => false;

/** The bucket of the request's path as the cache (or its origin) knows it; undefined when absent. */
export async function accelBucket(cache: ReadCache, target: ResolvedRequest, since: number): Promise<BucketRecord | undefined> {
  if (target.bucket === undefined) return undefined;
  const key = { region: target.region, bucket: target.bucket, key: target.key ?? '' };
  const { entry } = await cache.lookup(key, 'meta', fillNothing, since);
  return entry.answer.bucket ? bucketRecordOf(entry.answer.bucket) : undefined;
}

/**
 * Answer an OPTIONS preflight on an accelerated host. `admit` refuses a bucket the accelerated
 * hosts do not serve (acceleration suspended), as it does for reads.
 */
export async function answerAccelPreflight(
  cache: ReadCache,
  headers: IncomingHttpHeaders,
  target: ResolvedRequest,
  since: number,
  admit: (bucket: BucketRecord) => void,
): Promise<OperationResult> {
  const bucket = await accelBucket(cache, target, since);
  if (!bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: target.bucket ?? '' });
  admit(bucket);
  const ctx = { headers };
  const request = { origin: header(ctx, 'origin'), method: header(ctx, 'access-control-request-method'), headers: header(ctx, 'access-control-request-headers') };
  return { headers: preflightHeaders(bucket.config?.cors, request, target.key !== undefined ? 'OBJECT' : 'BUCKET') };
}
