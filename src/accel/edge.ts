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
//   (s3:GetObject, or s3:GetObjectVersion when ?versionId= is given; bucket policy with this
//   request's conditions, ownership and access level, ACLs) → SSE-C headers (requestKey) →
//   loadObject (the origin's own function, over the cached answer: InvalidArgument for a
//   malformed id, NoSuchVersion, delete markers, NoSuchKey) → SSE-C key check → serveObject
//   (conditional headers, Range, partNumber, response-* overrides, checksum mode,
//   x-amz-version-id).
// ?versionId= reads that version through its own cache entry (cache.ts); a malformed id is
// refused with the metadata of the current version's entry, as the origin refuses it after
// authorizing against the current version. ACLs and s3:ExistingObjectTag are those of the
// version served: a version's own ACL and tags, as AWS evaluates them.
// Every answer that consulted the cache carries x-strata-cache: hit | miss | revalidated.
// CORS: OPTIONS preflights on bucket and object paths are answered from the bucket's rules as
// the cache knows them (./cors.ts), and answers carry the rules' headers (src/cors/response.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize } from '../access/authorize.ts';
import { missingObjectError } from '../access/check.ts';
import { requestPayment } from '../access/request-payment.ts';
import { requestConditions, sourceIpOf } from '../access/request-conditions.ts';
import { authenticateRequest } from '../auth/request-credentials.ts';
import { S3Error, isS3Error } from '../errors.ts';
import type { OperationResult, RequestContext, Services } from '../ops/operation.ts';
import type { ResolvedRequest } from '../addressing.ts';
import { sendError, sendResult } from '../http/reply.ts';
import { countCharge } from '../http/request-charge.ts';
import { setCorsHeaders, setCorsHeadersOnError } from '../cors/response.ts';
import { accelBucket, answerAccelPreflight } from './cors.ts';
import { loadObject, serveObject } from '../ops/object-get.ts';
import type { SegmentOpener } from '../ops/read-object.ts';
import { checkReadKey, decryptingOpener, requestKey, sseResponseHeaders, type SseCustomerKey } from '../ops/sse.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { BucketRecord, ObjectRecord, VersionEntry } from '../store/types.ts';
import { parseVersionId } from '../store/versions.ts';
import type { ReadCache, StoredReader } from './cache.ts';
import { OriginUnavailable } from './origin.ts';
import { bucketRecordOf, objectRecordOf, type WireAnswer } from './wire.ts';

export const ACCEL_ONLY_MESSAGE = 'Accelerated endpoints serve only GetObject and HeadObject.';
export const ACCEL_SUSPENDED_MESSAGE = 'S3 Transfer Acceleration is not configured on this bucket.';

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

/**
 * A cached answer seen through the two store reads loadObject makes, so that the edge finds a
 * version, and refuses a missing one or a delete marker, with the origin's own code. `record`
 * is the version the answer is about (current, or the one the query named).
 */
function answerStore(answer: WireAnswer, record: ObjectRecord | undefined): RegionStore {
  const view = {
    getObject: async () => record,
    async getVersion(bucket: string, key: string, versionId?: string): Promise<VersionEntry | undefined> {
      // Malformed ids are InvalidArgument, as the store says (the answer is then the current version's).
      if (versionId !== undefined) parseVersionId(versionId);
      if (answer.deleteMarker) {
        const marker: ObjectRecord = { bucket, key, size: 0, etag: '', lastModified: 0, ownerOrg: '', meta: { user: {} }, blob: null, manifest: null, sse: null, versionId: answer.deleteMarker.versionId };
        return { record: marker, isDeleteMarker: true, isLatest: versionId === undefined, seq: 0 };
      }
      return record ? { record, isDeleteMarker: false, isLatest: versionId === undefined, seq: 0 } : undefined;
    },
  };
  return new Proxy(view, {
    get(target, name) {
      if (name in target) return target[name as keyof typeof view];
      throw new Error(`accelerated reads have no store method ${String(name)}`);
    },
  }) as unknown as RegionStore;
}

export interface EdgeDeps {
  services: Services;
  cache: ReadCache;
  log(message: string, err?: unknown): void;
}

interface Prepared {
  record: ObjectRecord;
  sseKey: SseCustomerKey | undefined;
  /** x-amz-request-charged for a requester-pays bucket, else empty */
  charged: Record<string, string>;
}

export async function handleAccelRequest(deps: EdgeDeps, raw: IncomingMessage, res: ServerResponse, target: ResolvedRequest, requestId: string): Promise<void> {
  const { services, cache } = deps;
  const { config } = services;
  const started = Date.now();
  const method = raw.method ?? 'GET';
  const isHead = method === 'HEAD';
  const resource = target.bucket ? `/${target.bucket}${target.key !== undefined ? '/' + target.key : ''}` : (raw.url ?? '/').split('?')[0];
  let reader: StoredReader | undefined;
  /** the bucket the answer is about, once known (its CORS rules apply to errors too) */
  let bucketSeen: BucketRecord | undefined;
  /** The owner turned acceleration off: nothing of this bucket is served or kept here. */
  const admit = (bucket: BucketRecord) => {
    if (bucket.config?.accelerate !== 'Suspended') return;
    cache.dropBucket(target.region, bucket.name);
    throw new S3Error('InvalidRequest', ACCEL_SUSPENDED_MESSAGE);
  };
  try {
    if (method === 'OPTIONS' && target.bucket !== undefined) {
      await sendResult(res, await answerAccelPreflight(cache, raw.headers, target, started, admit), requestId, false);
      return;
    }
    refuseNonObjectRead(method, target);
    const bucketName = target.bucket!;
    const key = target.key!;
    const { auth, principal } = await authenticateRequest({ method, rawUrl: raw.url ?? '/', headers: raw.headers }, services.identity, {
      now: new Date(),
      acceptedRegions: config.signingRegions,
      serviceRegion: 'default',
    });
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

    const versionId = ctx.query.get('versionId');
    const action = versionId !== undefined ? 's3:GetObjectVersion' : 's3:GetObject';
    // A well-formed id has an entry of its own; a malformed one is refused (in prepare) with the
    // current version's metadata, without asking the origin about it or fetching any bytes.
    let readsVersion = versionId !== undefined;
    if (versionId !== undefined) {
      try {
        parseVersionId(versionId);
      } catch {
        readsVersion = false;
      }
    }

    /** The origin's checks, in the origin's order, against a cached answer. */
    const prepare = async (answer: WireAnswer, cached?: ObjectRecord): Promise<Prepared> => {
      if (!answer.bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucketName });
      const bucket = bucketRecordOf(answer.bucket);
      admit(bucket);
      ctx.bucket = bucket;
      bucketSeen = bucket;
      const served = answer.object ? (cached ?? objectRecordOf(bucketName, answer.object)) : undefined;
      try {
        authorize({
          principal,
          action,
          level: 'read',
          bucket,
          key,
          conditions: (policy) => requestConditions(ctx, action, policy, { existingTags: () => served?.meta.tags }),
          object: () => served,
        });
      } catch (err) {
        // As authorizeRequest: a caller who may list learns that a missing key is missing.
        if (action === 's3:GetObject' && !served) throw missingObjectError(ctx, bucket, key);
        throw err;
      }
      // Requester pays here as at the origin (AccessDenied without x-amz-request-payer).
      const charged = requestPayment(bucket, principal, raw.headers['x-amz-request-payer']);
      const sseKey = requestKey(ctx, 'read');
      const record = await loadObject({ ...ctx, store: answerStore(answer, served) });
      checkReadKey(record, sseKey);
      return { record, sseKey, charged };
    };
    /** Would this request be served bytes from `answer`? (decides whether a miss fills) */
    const decide = async (answer: WireAnswer): Promise<boolean> => {
      try {
        const { record } = await prepare(answer);
        await serveObject(ctx, record, true, noBytes);
        return true;
      } catch {
        return false;
      }
    };

    let result: OperationResult | undefined;
    let counting = false;
    for (let attempt = 0; result === undefined; attempt++) {
      const cacheKey = readsVersion ? { region: target.region, bucket: bucketName, key, versionId } : { region: target.region, bucket: bucketName, key };
      const { entry, state } = await cache.lookup(cacheKey, isHead || (versionId !== undefined && !readsVersion) ? 'meta' : 'bytes', decide, started);
      res.setHeader('x-strata-cache', state);
      const { record, sseKey, charged } = await prepare(entry.answer, cache.recordOf(entry));
      const extra = { ...(sseKey ? sseResponseHeaders(sseKey) : {}), ...charged };
      if (charged['x-amz-request-charged'] && !counting) {
        counting = true;
        // Counted where the region's metadata is (a node serving another region's origin counts nothing yet).
        const local = services.regions.get(target.region);
        if (local) countCharge(res, local, principal!.org, bucketName, raw, isHead, (err) => deps.log('accel: could not count a requester-pays charge', err));
      }
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
    setCorsHeaders(res, method, raw.headers, ctx.bucket);
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
    // (An unreachable origin is not asked a second time just for the rules.)
    const lookUp = !bucketSeen && !(err instanceof OriginUnavailable);
    await setCorsHeadersOnError(res, method, raw.headers, async () => (lookUp ? accelBucket(cache, target, started) : bucketSeen));
    sendError(res, s3err, resource, requestId, isHead);
  }
}

const noBytes: SegmentOpener = () => {
  throw new Error('HEAD reads no bytes');
};
