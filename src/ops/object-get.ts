// GetObject and HeadObject (s3:GetObject): single byte ranges, partNumber, conditional headers,
// response-* overrides, and x-amz-checksum-mode. Multi-range requests are served whole, as S3
// does; ?versionId= reads a version (a delete marker: 404 when current, 405 by its id). ?torrent
// is GetObjectTorrent (torrent.ts).
import { missingObjectError } from '../access/check.ts';
import { checksumHeaderName } from '../checksum/algorithms.ts';
import { S3Error } from '../errors.ts';
import type { Operation, RequestContext, OperationResult } from './operation.ts';
import type { ObjectRecord } from '../store/types.ts';
import { header, objectHeaders } from './common.ts';
import { checkReadConditions } from './conditions.ts';
import { openObjectRange, segmentsOf, type SegmentOpener } from './read-object.ts';
import { checkReadKey, openerFor, requestKey, sseResponseHeaders } from './sse.ts';
import { readVersionHeader, versioningOf } from './versioning.ts';

/** Parse a single `bytes=` range against `size`; undefined means "serve everything". */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // malformed or multi-range: ignored, like S3
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw rangeError(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined; // syntactically invalid: ignored
  if (start >= size) throw rangeError(size);
  return { start, end };
}

function rangeError(size: number): S3Error {
  return new S3Error('InvalidRange', undefined, { RangeRequested: '', ActualObjectSize: String(size) }, { 'Content-Range': `bytes */${size}` });
}

const responseOverrides: [string, string][] = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

/**
 * A key that is simply absent says so: x-amz-delete-marker: false on its 404, as Ceph RGW
 * answers (ceph/s3-tests checks it; AWS sends the header only for a marker).
 */
function notAMarker(err: S3Error): S3Error {
  if (err.code === 'NoSuchKey') err.headers['x-amz-delete-marker'] = 'false';
  return err;
}

export async function loadObject(ctx: RequestContext): Promise<ObjectRecord> {
  const versionId = ctx.query.get('versionId');
  if (versionId === undefined && versioningOf(ctx.bucket) === undefined) {
    // Never versioned: the objects table is the whole story.
    const record = await ctx.store.getObject(ctx.bucketName!, ctx.key!);
    if (!record) throw notAMarker(missingObjectError(ctx, ctx.bucket!, ctx.key!));
    return record;
  }
  const entry = await ctx.store.getVersion(ctx.bucketName!, ctx.key!, versionId);
  if (!entry) {
    if (versionId !== undefined) throw new S3Error('NoSuchVersion', undefined, { Key: ctx.key!, VersionId: versionId });
    throw notAMarker(missingObjectError(ctx, ctx.bucket!, ctx.key!));
  }
  if (entry.isDeleteMarker) {
    const markerHeaders = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': entry.record.versionId ?? 'null' };
    if (versionId !== undefined) {
      // A marker named by its id exists but has no body (AWS: 405 with Allow: DELETE).
      throw new S3Error('MethodNotAllowed', undefined, { Method: ctx.method, ResourceType: 'DeleteMarker' }, { ...markerHeaders, Allow: 'DELETE' });
    }
    const err = missingObjectError(ctx, ctx.bucket!, ctx.key!);
    if (err.code !== 'NoSuchKey') throw err;
    throw new S3Error('NoSuchKey', undefined, { Key: ctx.key! }, markerHeaders);
  }
  return entry.record;
}

/**
 * Shared by GET and HEAD. `opener` decides how segment bytes are produced (plain or decrypted)
 * and `extraHeaders` adds headers such as SSE-C's.
 */
export async function serveObject(ctx: RequestContext, record: ObjectRecord, head: boolean, opener: SegmentOpener, extraHeaders: Record<string, string> = {}): Promise<OperationResult> {
  checkReadConditions(ctx, record);
  const headers = { ...objectHeaders(record), ...readVersionHeader(ctx.bucket, record), ...extraHeaders };
  for (const [param, name] of responseOverrides) {
    const value = ctx.query.get(param);
    if (value === undefined) continue;
    if (!ctx.principal) throw new S3Error('InvalidRequest', 'Request specific response headers cannot be used for anonymous GET requests.');
    headers[name] = value;
  }
  const rangeHeader = header(ctx, 'range');
  const partNumberParam = ctx.query.get('partNumber');
  let start = 0;
  let end = record.size - 1;
  let partial = false;
  if (partNumberParam !== undefined) {
    if (rangeHeader !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
    const partNumber = Number(partNumberParam);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: partNumberParam });
    const segments = segmentsOf(record);
    refuseMissingPart(record, partNumber);
    if (record.manifest) {
      const segment = segments[partNumber - 1];
      start = segment.objectOffset;
      end = segment.objectOffset + segment.size - 1;
      partial = true;
      headers['x-amz-mp-parts-count'] = record.manifest.length;
    }
  } else {
    const range = parseRange(rangeHeader, record.size);
    if (range) {
      start = range.start;
      end = range.end;
      partial = true;
    }
  }
  if (partial && !(start === 0 && end === record.size - 1 && partNumberParam === undefined && !rangeHeader)) {
    headers['Content-Range'] = `bytes ${start}-${end}/${record.size}`;
  }
  const checksum = record.meta.checksum;
  if (header(ctx, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED' && checksum && !rangeHeader && (partNumberParam === undefined || !record.manifest)) {
    headers[checksumHeaderName(checksum.algorithm)] = checksum.value;
    headers['x-amz-checksum-type'] = checksum.type;
  }
  const length = Math.max(0, end - start + 1);
  headers['Content-Length'] = length;
  const status = headers['Content-Range'] !== undefined ? 206 : 200;
  if (head) return { status, headers };
  return { status, headers, body: openObjectRange(record, start, end, opener) };
}

/**
 * A part the object does not have: 400 InvalidPart, as Ceph RGW answers and ceph/s3-tests asserts
 * (AWS says 416 InvalidPartNumber; both refuse, and clients read the part count first). Checked
 * before an SSE-C object's key, as RGW does: the part is missing whatever key comes with it.
 */
function refuseMissingPart(record: ObjectRecord, partNumber: number): void {
  const parts = record.manifest?.length ?? 1;
  if (Number.isInteger(partNumber) && partNumber >= 1 && partNumber <= 10000 && partNumber > parts) {
    throw new S3Error('InvalidPart', 'The requested partnumber is not satisfiable', { PartNumber: String(partNumber) });
  }
}

/** GET and HEAD of a stored object, decrypting SSE-C objects with the key the request brings. */
async function getOrHead(ctx: RequestContext, head: boolean): Promise<OperationResult> {
  const key = requestKey(ctx, 'read');
  const record = await loadObject(ctx);
  const partNumber = ctx.query.get('partNumber');
  if (partNumber !== undefined) refuseMissingPart(record, Number(partNumber));
  checkReadKey(record, key);
  return serveObject(ctx, record, head, openerFor(ctx.store, record, key), key ? sseResponseHeaders(key) : {});
}

export const GetObject: Operation = {
  name: 'GetObject',
  action: 's3:GetObject',
  versionAction: 's3:GetObjectVersion',
  level: 'read',
  needsBucket: true,
  handle: (ctx) => getOrHead(ctx, false),
};

export const HeadObject: Operation = {
  name: 'HeadObject',
  action: 's3:GetObject',
  versionAction: 's3:GetObjectVersion',
  level: 'read',
  needsBucket: true,
  handle: (ctx) => getOrHead(ctx, true),
};
