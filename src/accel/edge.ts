// Requests to accel-object.<region>.<base> (and <bucket>.accel-object.<region>.<base>): GetObject
// and HeadObject answered from this node's read cache (cache.ts), for buckets of any region.
//
// What is refused, always with the message "Accelerated endpoints serve only GetObject and
// HeadObject.", before authentication:
//   - any method other than GET and HEAD (PutObject, CopyObject, DeleteObject(s), multipart,
//     PUT/DELETE of bucket configuration, POST ...): 405 MethodNotAllowed;
//   - GET/HEAD that does not name an object (ListBuckets, ListObjects(V2), HeadBucket, bucket
//     configuration reads) or that names a sub-resource (?acl, ?tagging, ?uploadId, ?uploads,
//     ?attributes, ?torrent, ...): 400 InvalidRequest.
//
// The rest runs exactly as on the origin (src/app.ts + src/ops/object-get.ts), with the
// bucket and object records of the cache entry instead of the region's database:
//   authenticate (SigV4 header or presigned, shared identity) → NoSuchBucket → authorize()
//   (bucket policy with this request's conditions, ownership and access level, ACLs) →
//   SSE-C headers (requestKey) → versionId → NoSuchKey → SSE-C key check → serveObject
//   (conditional headers, Range, partNumber, response-* overrides, checksum mode).
// Every answer that consulted the cache carries x-strata-cache: hit | miss | revalidated.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize } from '../access/authorize.ts';
import { missingObjectError } from '../access/check.ts';
import { requestConditions, sourceIpOf } from '../access/request-conditions.ts';
import { authenticate } from '../auth/sigv4.ts';
import { S3Error, isS3Error } from '../errors.ts';
import type { OperationResult, RequestContext, Services } from '../http/operation.ts';
import type { ResolvedRequest } from '../http/parse-request.ts';
import { sendError, sendResult } from '../http/reply.ts';
import type { Principal } from '../identity/identity-store.ts';
import { serveObject } from '../ops/object-get.ts';
import type { SegmentOpener } from '../ops/read-object.ts';
import { checkReadKey, decryptingOpener, requestKey, sseResponseHeaders, type SseCustomerKey } from '../ops/sse.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { ObjectRecord } from '../store/types.ts';
import type { ReadCache, StoredReader } from './cache.ts';
import { OriginUnavailable } from './origin.ts';
import { bucketRecordOf, objectRecordOf, type WireAnswer } from './wire.ts';

export const ACCEL_ONLY_MESSAGE = 'Accelerated endpoints serve only GetObject and HeadObject.';

/** Query parameters that select an operation other than GetObject/HeadObject. */
const subResources = new Set([
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'list-type', 'location', 'logging', 'metadataTable', 'metrics', 'notification', 'object-lock',
  'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore',
  'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions', 'website', 'renameObject',
]);

/** Refuse everything but GetObject/HeadObject (see the header comment). */
export function refuseNonObjectRead(method: string, target: ResolvedRequest): void {
  if (method !== 'GET' && method !== 'HEAD') {
    throw new S3Error('MethodNotAllowed', ACCEL_ONLY_MESSAGE, { Method: method, ResourceType: target.key !== undefined ? 'OBJECT' : target.bucket !== undefined ? 'BUCKET' : 'SERVICE' });
  }
  if (target.bucket === undefined || target.key === undefined) throw new S3Error('InvalidRequest', ACCEL_ONLY_MESSAGE);
  for (const name of target.query.keys()) if (subResources.has(name)) throw new S3Error('InvalidRequest', ACCEL_ONLY_MESSAGE);
}

/** RequestContext.store for regions this process does not hold: the read path never touches it. */
const noStore = new Proxy({}, {
  get() {
    throw new Error('accelerated requests have no region store');
  },
}) as RegionStore;

export interface EdgeDeps {
  services: Services;
  cache: ReadCache;
  log(message: string, err?: unknown): void;
}

interface Prepared {
  record: ObjectRecord;
  sseKey: SseCustomerKey | undefined;
}

export async function handleAccelRequest(deps: EdgeDeps, raw: IncomingMessage, res: ServerResponse, target: ResolvedRequest, requestId: string): Promise<void> {
  const { services, cache } = deps;
  const { config } = services;
  const started = Date.now();
  const method = raw.method ?? 'GET';
  const isHead = method === 'HEAD';
  const resource = target.bucket ? `/${target.bucket}${target.key !== undefined ? '/' + target.key : ''}` : (raw.url ?? '/').split('?')[0];
  let reader: StoredReader | undefined;
  try {
    refuseNonObjectRead(method, target);
    const bucketName = target.bucket!;
    const key = target.key!;
    const auth = authenticate(
      { method, rawUrl: raw.url ?? '/', headers: raw.headers },
      (accessKeyId) => {
        const c = services.identity.credentialsFor(accessKeyId);
        return c ? { secretKey: c.secret } : undefined;
      },
      { now: new Date(), acceptedRegions: config.signingRegions, serviceRegion: 'default' },
    );
    let principal: Principal | undefined;
    if (auth.kind === 'signed') principal = services.identity.credentialsFor(auth.accessKeyId)?.principal;
    if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError');

    const socket = raw.socket as { encrypted?: boolean };
    const ctx: RequestContext = {
      requestId,
      raw,
      headers: raw.headers,
      method,
      target,
      query: target.query,
      bucketName,
      key,
      store: services.regions.get(target.region) ?? noStore,
      services,
      principal,
      payload: auth.kind === 'signed' ? auth.payload : { kind: 'unsigned' },
      bucket: undefined,
      secureTransport: socket.encrypted === true,
      sourceIp: '',
    };
    ctx.sourceIp = sourceIpOf(ctx);

    /** The origin's checks, in the origin's order, against a cached answer. */
    const prepare = (answer: WireAnswer, cached?: ObjectRecord): Prepared => {
      if (!answer.bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucketName });
      const bucket = bucketRecordOf(answer.bucket);
      ctx.bucket = bucket;
      const record = answer.object ? (cached ?? objectRecordOf(bucketName, answer.object)) : undefined;
      // A missing key is answered as the origin answers it, whether or not GetObject is allowed.
      if (!record) throw missingObjectError(ctx, bucket, key);
      authorize({
        principal,
        action: 's3:GetObject',
        level: 'read',
        bucket,
        key,
        conditions: (policy) => requestConditions(ctx, 's3:GetObject', policy, { existingTags: () => record?.meta.tags }),
        object: () => record,
      });
      const sseKey = requestKey(ctx, 'read');
      const versionId = ctx.query.get('versionId');
      if (versionId !== undefined && versionId !== 'null') throw new S3Error('NoSuchKey', 'The specified version does not exist.', { Key: key, VersionId: versionId });
      checkReadKey(record, sseKey);
      return { record, sseKey };
    };
    /** Would this request be served bytes from `answer`? (decides whether a miss fills) */
    const decide = async (answer: WireAnswer): Promise<boolean> => {
      try {
        const { record } = prepare(answer);
        await serveObject(ctx, record, true, noBytes);
        return true;
      } catch {
        return false;
      }
    };

    let result: OperationResult | undefined;
    for (let attempt = 0; result === undefined; attempt++) {
      const { entry, state } = await cache.lookup({ region: target.region, bucket: bucketName, key }, isHead ? 'meta' : 'bytes', decide, started);
      res.setHeader('x-strata-cache', state);
      const { record, sseKey } = prepare(entry.answer, cache.recordOf(entry));
      const extra = sseKey ? sseResponseHeaders(sseKey) : {};
      if (isHead) {
        result = await serveObject(ctx, record, true, noBytes, extra);
        break;
      }
      try {
        reader = await cache.openReader(entry);
      } catch (err) {
        // Evicted, or its fill failed, between the lookup and the open: look again.
        if (attempt < 3) continue;
        throw err;
      }
      const r = reader;
      const readStored = (blob: string, start: number, end: number) => r.read(Number(blob) + start, Number(blob) + end);
      const opener: SegmentOpener = sseKey ? decryptingOpener(readStored, record, sseKey) : (segment, start, end) => readStored(segment.blob, start, end);
      result = await serveObject(ctx, record, false, opener, extra);
    }
    try {
      await sendResult(res, result, requestId, isHead);
    } finally {
      reader?.close();
    }
  } catch (err) {
    reader?.close();
    let s3err: S3Error;
    if (isS3Error(err)) s3err = err;
    else if (err instanceof OriginUnavailable) {
      deps.log(`accel: ${err.message}`);
      s3err = new S3Error('ServiceUnavailable', `The origin of region ${err.region} cannot be reached and this node holds no fresh copy.`);
    } else {
      deps.log('accel: internal error', err);
      s3err = new S3Error('InternalError');
    }
    if (!raw.readableEnded) raw.resume();
    sendError(res, s3err, resource, requestId, isHead);
  }
}

const noBytes: SegmentOpener = () => {
  throw new Error('HEAD reads no bytes');
};
