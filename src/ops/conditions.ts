// Conditional requests. Reads follow RFC 7232 §6 as S3 applies it: If-Match, then
// If-Unmodified-Since (only without If-Match), then If-None-Match, then If-Modified-Since (only
// without If-None-Match); a failed If-Match/If-Unmodified-Since is 412 and wins over 304.
import { S3Error } from '../errors.ts';
import type { RequestContext } from './operation.ts';
import { etagMatches, type ObjectPrecondition } from '../store/region-store.ts';
import type { ObjectRecord } from '../store/types.ts';
import { header, httpDate, quoteEtag } from './common.ts';

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** Compare at one-second resolution: HTTP dates carry no milliseconds. */
function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export interface ConditionHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** Evaluate read preconditions; returns 'ok', 'not-modified' or 'failed'. */
export function evaluateConditions(c: ConditionHeaders, record: ObjectRecord): 'ok' | 'not-modified' | 'failed' {
  const lastModified = seconds(record.lastModified);
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, record.etag)) return 'failed';
  } else {
    const since = parseHttpDate(c.ifUnmodifiedSince);
    if (since !== undefined && lastModified > seconds(since)) return 'failed';
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, record.etag)) return 'not-modified';
  } else {
    const since = parseHttpDate(c.ifModifiedSince);
    if (since !== undefined && lastModified <= seconds(since)) return 'not-modified';
  }
  return 'ok';
}

/** GET/HEAD preconditions: throws 412 PreconditionFailed or 304 NotModified. */
export function checkReadConditions(ctx: Pick<RequestContext, 'headers'>, record: ObjectRecord): void {
  const outcome = evaluateConditions(
    {
      ifMatch: header(ctx, 'if-match'),
      ifNoneMatch: header(ctx, 'if-none-match'),
      ifModifiedSince: header(ctx, 'if-modified-since'),
      ifUnmodifiedSince: header(ctx, 'if-unmodified-since'),
    },
    record,
  );
  if (outcome === 'failed') throw new S3Error('PreconditionFailed', undefined, { Condition: header(ctx, 'if-match') !== undefined ? 'If-Match' : 'If-Unmodified-Since' });
  if (outcome === 'not-modified') {
    throw new S3Error('NotModified', undefined, {}, { ETag: quoteEtag(record.etag), 'Last-Modified': httpDate(record.lastModified) });
  }
}

/** CopyObject / UploadPartCopy source preconditions: every failure is 412. */
export function checkCopySourceConditions(ctx: Pick<RequestContext, 'headers'>, source: ObjectRecord): void {
  const outcome = evaluateConditions(
    {
      ifMatch: header(ctx, 'x-amz-copy-source-if-match'),
      ifNoneMatch: header(ctx, 'x-amz-copy-source-if-none-match'),
      ifModifiedSince: header(ctx, 'x-amz-copy-source-if-modified-since'),
      ifUnmodifiedSince: header(ctx, 'x-amz-copy-source-if-unmodified-since'),
    },
    source,
  );
  if (outcome !== 'ok') throw new S3Error('PreconditionFailed', undefined, { Condition: 'x-amz-copy-source-If-*' });
}

/** PutObject / CompleteMultipartUpload / CopyObject conditional writes. */
export function writePreconditions(ctx: Pick<RequestContext, 'headers'>): ObjectPrecondition {
  const ifNoneMatch = header(ctx, 'if-none-match');
  const ifMatch = header(ctx, 'if-match');
  // `*`: the key must not exist (AWS). An ETag list: the write must not replace a current version
  // with one of those ETags, as Ceph RGW does (ceph/s3-tests test_put_object_ifnonmatch_*); AWS
  // answers 501 to it, and its clients never send it, so supporting it takes nothing from them.
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') return { ifNoneMatch, ifMatch };
  return { mustNotExist: ifNoneMatch !== undefined, ifMatch };
}
