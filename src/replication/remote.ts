// Replication to a region served by another process (one process per region), over the
// node-authenticated internal channel of the accelerated endpoints (src/accel/node-auth.ts: an
// HMAC over method, request target and time, keyed from the shared master.key). The request
// target carries the SHA-256 of the body and of the metadata header, so a signature vouches for
// exactly those bytes:
//   GET /_strata/replication/v1/bucket?region=R&bucket=B                 {"exists", "versioning"}
//   PUT /_strata/replication/v1/version?region=R&bucket=B&key=K&versionId=V&marker=0|1&sha256=H&meta=M
//       x-strata-replica: base64url JSON of the version's record (ETag, metadata, times), body: its bytes
// A destination process that is down makes the delivery fail, and the outbox retries it.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { signNodeRequest, verifyNodeRequest } from '../accel/node-auth.ts';
import { S3Error, isS3Error } from '../errors.ts';
import { sendError } from '../http/reply.ts';
import { quotaGuard } from '../quota/quota.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { ObjectRecord } from '../store/types.ts';
import { installMarker, installReplica } from './install.ts';

const BUCKET_PATH = '/_strata/replication/v1/bucket';
const VERSION_PATH = '/_strata/replication/v1/version';
const RECORD_HEADER = 'x-strata-replica';
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** What travels with a replica: the record without its blobs (they are the body). */
type WireRecord = Pick<ObjectRecord, 'etag' | 'lastModified' | 'meta' | 'size'>;

export class RemoteRegions {
  constructor(private readonly endpoints: Map<string, string>, private readonly nodeKey: Buffer) {}

  has(region: string): boolean {
    return this.endpoints.has(region);
  }

  regions(): string[] {
    return [...this.endpoints.keys()];
  }

  private async call(region: string, method: 'GET' | 'PUT', target: string, headers: Record<string, string> = {}, body?: Readable | Buffer) {
    const base = this.endpoints.get(region);
    if (!base) throw new Error(`region ${region} has no endpoint`);
    const res = await request(base + target, { method, headers: { ...headers, ...signNodeRequest(this.nodeKey, method, target) }, body, headersTimeout: 30_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${region} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** The bucket's state in `region`, or undefined when the region cannot be asked now. */
  async bucket(region: string, bucket: string): Promise<{ exists: boolean; versioning: string | null } | undefined> {
    const q = new URLSearchParams({ region, bucket });
    try {
      return (await this.call(region, 'GET', `${BUCKET_PATH}?${q}`)) as { exists: boolean; versioning: string | null };
    } catch {
      return undefined;
    }
  }

  /** Send one version (`bytes` opened twice: once to hash, once to send) or a marker. */
  async send(region: string, bucket: string, key: string, versionId: string, record: WireRecord | undefined, bytes: (() => Readable) | undefined): Promise<void> {
    let digest = sha256('');
    if (bytes) {
      const hash = createHash('sha256');
      for await (const chunk of bytes()) hash.update(chunk as Buffer);
      digest = hash.digest('hex');
    }
    const header = Buffer.from(JSON.stringify(record ?? {})).toString('base64url');
    const q = new URLSearchParams({ region, bucket, key, versionId, marker: record ? '0' : '1', sha256: digest, meta: sha256(header) });
    await this.call(region, 'PUT', `${VERSION_PATH}?${q}`, { [RECORD_HEADER]: header, ...(record ? { 'content-length': String(record.size) } : {}) }, bytes ? bytes() : Buffer.alloc(0));
  }
}

function param(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null) throw new S3Error('InvalidRequest', `Internal endpoint: ${name} missing.`);
  return v;
}

/** The receiving side; false when the request is not for it. */
export async function handleReplicationInternal(regions: Map<string, RegionStore>, nodeKey: Buffer, defaultQuotaBytes: number, raw: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean> {
  const url = raw.url ?? '/';
  const path = url.split('?')[0];
  if (path !== BUCKET_PATH && path !== VERSION_PATH) return false;
  try {
    verifyNodeRequest(nodeKey, raw.method ?? 'GET', url, raw.headers);
    const q = new URL(url, 'http://internal.invalid').searchParams;
    const store = regions.get(param(q, 'region'));
    if (!store) throw new S3Error('InvalidRequest', 'Internal endpoint: region not served here.');
    const bucketName = param(q, 'bucket');
    let answer: Record<string, unknown>;
    if (path === BUCKET_PATH && raw.method === 'GET') {
      const bucket = await store.getBucket(bucketName);
      answer = { exists: bucket !== undefined, versioning: bucket?.config?.versioning ?? null };
    } else if (path === VERSION_PATH && raw.method === 'PUT') {
      const header = raw.headers[RECORD_HEADER];
      if (typeof header !== 'string' || sha256(header) !== param(q, 'meta')) throw new S3Error('AccessDenied', 'Internal endpoint: replica metadata does not match its signature.');
      const target = await store.getBucket(bucketName);
      if (!target) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucketName });
      const key = param(q, 'key');
      const versionId = param(q, 'versionId');
      if (param(q, 'marker') === '1') {
        raw.resume();
        await installMarker(store, bucketName, key, versionId, target.ownerOrg);
        answer = { outcome: 'written' };
      } else {
        const wire = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as WireRecord;
        const quota = await quotaGuard(store, target.ownerOrg, defaultQuotaBytes, 0);
        quota.beforeRead(wire.size);
        const written = await store.blobs.write(raw, [], { declaredSize: wire.size, sha256: true });
        try {
          if (written.sha256!.toString('hex') !== param(q, 'sha256') || written.received !== wire.size) throw new S3Error('BadDigest');
          const record: ObjectRecord = { bucket: bucketName, key, versionId, size: wire.size, etag: wire.etag, lastModified: wire.lastModified, meta: wire.meta, ownerOrg: target.ownerOrg, blob: written.id, manifest: null, sse: null };
          const outcome = await installReplica(store, record, (usage) => quota.atCommit(0, wire.size, usage));
          if (outcome === 'present') await store.blobs.remove(written.id);
          answer = { outcome };
        } catch (error) {
          await store.blobs.remove(written.id).catch(() => undefined);
          throw error;
        }
        await store.durable();
      }
    } else throw new S3Error('MethodNotAllowed');
    const body = Buffer.from(JSON.stringify(answer));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'x-amz-request-id': requestId });
    res.end(body);
  } catch (error) {
    if (!raw.readableEnded) raw.resume();
    sendError(res, isS3Error(error) ? error : new S3Error('InternalError', (error as Error).message), path, requestId, false);
  }
  return true;
}
