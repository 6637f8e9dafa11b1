// The origin side of accelerated reads: what a region answers about one object, read straight
// from its RegionStore. Used two ways:
//  - over HTTP, by the internal endpoint GET /_strata/accel/v1/object (served by index.ts on the
//    S3 listener, node-authenticated, see node-auth.ts), for nodes in other regions;
//  - in process (LocalOrigin), when the accelerated host names a region this process serves
//    and no endpoint is configured for it: same answer, no HTTP round trip, same cache.
//
// Internal request: GET /_strata/accel/v1/object?region=R&bucket=B&key=K&mode=M[&range=A-B][&versionId=V]
//   versionId   answer about that version (as GetObject?versionId= reads it) instead of the
//               current one; the edge sends only ids the store can parse
//   mode=full   metadata, then every stored byte of the object
//   mode=meta   metadata only
//   mode=range  stored bytes A..B (inclusive) of the concatenated parts, with If-Match: "<version>"
//   If-None-Match: "<version>" (full/meta) → 304 when the object's version is unchanged.
// Answers:
//   200  headers x-strata-accel-meta-length: N, x-strata-accel-stored-length: S, ETag: "<version>"
//        (when the object exists); body = N bytes of JSON (WireAnswer: bucket fields for
//        authorization, the object record with part sizes and SSE-C records) + S stored bytes,
//        as they are on disk (ciphertext for SSE-C objects). A missing bucket, key or version is
//        a 200 whose JSON says bucket: null / object: null; a delete marker (the current
//        version of a versioned key, or the one named) adds deleteMarker: {versionId}.
//   304  x-strata-accel-meta: base64url(JSON) with fresh bucket and object fields (no part list),
//        so policies, ACLs and tags are refreshed even when the bytes are not.
//   412  If-Match did not match (the object changed under a range read).
//   403  bad or old node signature;  400  unknown region, bad parameters, bad range.
import { Readable } from 'node:stream';
import type { PinnedBlob } from '../store/blobs.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { BucketRecord, ObjectRecord } from '../store/types.ts';
import { versioningOf } from '../ops/versioning.ts';
import { OBJECT_PATH, versionOf, wireBucket, wireObject, WIRE_VERSION, type WireAnswer } from './wire.ts';

export type OriginMode = 'meta' | 'full' | 'range';

export interface OriginQuery {
  bucket: string;
  key: string;
  mode: OriginMode;
  /** stored bytes, inclusive (mode range) */
  range?: { start: number; end: number };
  ifNoneMatch?: string;
  ifMatch?: string;
  /** the version to answer about (absent: the current version) */
  versionId?: string;
}

export type OriginOutcome =
  | { status: 'ok'; answer: WireAnswer; version?: string; bodyLength: number; body?: Readable }
  | { status: 'not-modified'; answer: WireAnswer; version: string }
  | { status: 'changed' }
  | { status: 'bad-range' };

/** An origin that could not be reached or answered nonsense: the edge answers 503. */
export class OriginUnavailable extends Error {
  constructor(readonly region: string, message: string) {
    super(`origin for region ${region}: ${message}`);
    this.name = 'OriginUnavailable';
  }
}

/** Where the cache gets answers from: another node over HTTP, or this process's own store. */
export interface Origin {
  fetch(region: string, q: OriginQuery): Promise<OriginOutcome>;
}

/** Counts kept by a node acting as origin (reported by /_strata/accel/stats under "origin"). */
export interface OriginStats {
  full: number;
  meta: number;
  range: number;
  notModified: number;
  changed: number;
  bytes: number;
  rejected: number;
}

export function newOriginStats(): OriginStats {
  return { full: 0, meta: 0, range: 0, notModified: 0, changed: 0, bytes: 0, rejected: 0 };
}

/** Answer a query from a region's store. Stored sizes are taken from an open blob, so a concurrent overwrite cannot pull it away. */
export async function answerFromStore(store: RegionStore, q: OriginQuery, stats?: OriginStats): Promise<OriginOutcome> {
  for (let attempt = 0; ; attempt++) {
    // A version query's answer echoes the id it answers (see wire.ts).
    const echo = q.versionId !== undefined ? { versionId: q.versionId } : {};
    const bucket = await store.getBucket(q.bucket);
    if (!bucket) {
      if (q.ifMatch !== undefined) return count(stats, { status: 'changed' });
      return count(stats, { status: 'ok', answer: { v: WIRE_VERSION, bucket: null, object: null, ...echo }, bodyLength: 0 }, q.mode);
    }
    const { record, deleteMarker } = await findVersion(store, bucket, q);
    if (!record) {
      if (q.ifMatch !== undefined) return count(stats, { status: 'changed' });
      const answer: WireAnswer = { v: WIRE_VERSION, bucket: wireBucket(bucket), object: null, ...echo };
      if (deleteMarker) answer.deleteMarker = deleteMarker;
      return count(stats, { status: 'ok', answer, bodyLength: 0 }, q.mode);
    }
    const version = versionOf(record);
    if (q.ifMatch !== undefined && q.ifMatch !== version) return count(stats, { status: 'changed' });
    let handle: PinnedBlob | undefined;
    let storedSize = 0;
    if (record.blob) {
      try {
        handle = await store.blobs.pin(record.blob);
        storedSize = handle.size;
      } catch (err) {
        // Overwritten and reaped between reading the record and opening its blob: read again.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw err;
      }
    } else {
      for (const part of record.manifest ?? []) storedSize += part.storedSize;
    }
    if (q.mode !== 'range' && q.ifNoneMatch !== undefined && q.ifNoneMatch === version) {
      await handle?.close();
      return count(stats, { status: 'not-modified', answer: { v: WIRE_VERSION, bucket: wireBucket(bucket), object: wireObject(record, storedSize, false), ...echo }, version });
    }
    const answer: WireAnswer = { v: WIRE_VERSION, bucket: wireBucket(bucket), object: wireObject(record, storedSize, q.mode !== 'range'), ...echo };
    if (q.mode === 'meta') {
      await handle?.close();
      return count(stats, { status: 'ok', answer, version, bodyLength: 0 }, q.mode);
    }
    let start = 0;
    let end = storedSize - 1;
    if (q.mode === 'range') {
      const r = q.range;
      if (!r || !Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start || r.end >= storedSize) {
        await handle?.close();
        return { status: 'bad-range' };
      }
      start = r.start;
      end = r.end;
    }
    const body = storedBytes(store, record, handle, start, end);
    const bodyLength = Math.max(0, end - start + 1);
    if (stats) stats.bytes += bodyLength;
    return count(stats, { status: 'ok', answer, version, bodyLength, body }, q.mode);
  }
}

/**
 * The version a query is about, found as GetObject finds it (loadObject in ops/object-get.ts):
 * a never-versioned bucket's objects table alone, else the key's history, where the current
 * version or the one named may be a delete marker.
 */
async function findVersion(store: RegionStore, bucket: BucketRecord, q: OriginQuery): Promise<{ record?: ObjectRecord; deleteMarker?: { versionId: string | null } }> {
  if (q.versionId === undefined && versioningOf(bucket) === undefined) return { record: await store.getObject(q.bucket, q.key) };
  const entry = await store.getVersion(q.bucket, q.key, q.versionId);
  if (!entry) return {};
  if (entry.isDeleteMarker) return { deleteMarker: { versionId: entry.record.versionId ?? null } };
  return { record: entry.record };
}

function count<T extends OriginOutcome>(stats: OriginStats | undefined, outcome: T, mode?: OriginMode): T {
  if (!stats) return outcome;
  if (outcome.status === 'not-modified') stats.notModified++;
  else if (outcome.status === 'changed') stats.changed++;
  else if (outcome.status === 'ok' && mode) stats[mode]++;
  return outcome;
}

/** Stored bytes [start, end] of the object's blobs, concatenated in part order. */
function storedBytes(store: RegionStore, record: ObjectRecord, handle: PinnedBlob | undefined, start: number, end: number): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    if (end < start) return;
    if (handle) {
      for await (const chunk of handle.read(start, end)) yield chunk as Buffer;
      return;
    }
    let offset = 0;
    for (const part of record.manifest ?? []) {
      const partStart = offset;
      const partEnd = offset + part.storedSize - 1;
      offset += part.storedSize;
      if (part.storedSize === 0 || partEnd < start || partStart > end) continue;
      for await (const chunk of store.blobs.read(part.blob, Math.max(start, partStart) - partStart, Math.min(end, partEnd) - partStart)) yield chunk as Buffer;
    }
  }
  const body = Readable.from(generate(), { objectMode: false });
  if (handle) body.once('close', () => void handle.close().catch(() => undefined));
  return body;
}

/** The origin for regions this process serves itself (no endpoint configured for them). */
export class LocalOrigin implements Origin {
  constructor(private readonly regions: Map<string, RegionStore>, private readonly stats: OriginStats) {}

  async fetch(region: string, q: OriginQuery): Promise<OriginOutcome> {
    const store = this.regions.get(region);
    if (!store) throw new OriginUnavailable(region, 'no endpoint is configured and this process does not serve it');
    return answerFromStore(store, q, this.stats);
  }
}

/** Parse the internal request's query into an OriginQuery (undefined when malformed). */
export function parseOriginQuery(params: URLSearchParams, headers: Record<string, string | string[] | undefined>): { region: string; query: OriginQuery } | undefined {
  const region = params.get('region');
  const bucket = params.get('bucket');
  const key = params.get('key');
  const mode = params.get('mode') ?? 'full';
  // An empty key asks only about the bucket (a CORS preflight on a bucket path): metadata only.
  if (!region || !bucket || key === null || (key === '' && mode !== 'meta') || (mode !== 'full' && mode !== 'meta' && mode !== 'range')) return undefined;
  const query: OriginQuery = { bucket, key, mode };
  if (mode === 'range') {
    const m = /^(\d+)-(\d+)$/.exec(params.get('range') ?? '');
    if (!m) return undefined;
    query.range = { start: Number(m[1]), end: Number(m[2]) };
  }
  const unquote = (v: string | string[] | undefined) => (typeof v === 'string' ? v.trim().replace(/^"(.*)"$/, '$1') : undefined);
  const versionId = params.get('versionId');
  if (versionId !== null) query.versionId = versionId;
  query.ifNoneMatch = unquote(headers['if-none-match']);
  query.ifMatch = unquote(headers['if-match']);
  return { region, query };
}

/** The request target (path and query) of an internal object request. */
export function originTarget(region: string, q: OriginQuery): string {
  const params = new URLSearchParams({ region, bucket: q.bucket, key: q.key, mode: q.mode });
  if (q.mode === 'range' && q.range) params.set('range', `${q.range.start}-${q.range.end}`);
  if (q.versionId !== undefined) params.set('versionId', q.versionId);
  return `${OBJECT_PATH}?${params.toString()}`;
}
