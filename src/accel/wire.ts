// What an origin region tells an accelerating node about one object: the bucket fields that
// authorization needs, the object record without anything origin-private (blob ids), and a
// version token. Shared by the origin endpoint (origin.ts), the HTTP client (origin-client.ts)
// and the cache (cache.ts).
//
// Version token. The S3 ETag alone is not a safe cache validator for stored bytes: an SSE-C
// object re-encrypted under the same ETag, or an object whose record is rewritten in place,
// would keep it. Every write in Strata produces new blob ids, so the token is a digest of the
// ETag, the blob ids (single blob or every part) and the SSE-C records: it changes whenever the
// stored bytes can have changed, and stays put on metadata-only changes (tags, ACLs), which a
// revalidation (304) still refreshes.
//
// Versions. An answer is about the key's current version, or, when the query names one
// (versionId), about that version: the object is the version served, with its versionId (null:
// the null version), so that the edge can say x-amz-version-id; deleteMarker says that the
// version is a delete marker (object null). A version query's answer echoes versionId, so an
// edge can tell an origin that reads by version from one that would answer the current version.
import { createHash } from 'node:crypto';
import type { BucketRecord, ObjectRecord, PartRef } from '../store/types.ts';

export const WIRE_VERSION = 1;

/** Internal endpoint paths on the S3 listener. */
export const OBJECT_PATH = '/_strata/accel/v1/object';
export const STATS_PATH = '/_strata/accel/stats';

/** Response headers of the internal endpoint. */
export const META_LENGTH_HEADER = 'x-strata-accel-meta-length';
export const META_HEADER = 'x-strata-accel-meta';
export const STORED_LENGTH_HEADER = 'x-strata-accel-stored-length';

/** The bucket fields authorization needs (tags stay at the origin). */
export type WireBucket = Pick<BucketRecord, 'name' | 'ownerOrg' | 'createdAt' | 'acl' | 'policy' | 'config'>;

/** A part as the cache needs it: everything but its origin-private blob id. */
export type WirePart = Omit<PartRef, 'blob'>;

/** The object record without blob ids or bucket name. */
export type WireObject = Pick<ObjectRecord, 'key' | 'size' | 'etag' | 'lastModified' | 'ownerOrg' | 'meta' | 'sse' | 'versionId'> & {
  /** stored bytes of the whole object (sum over parts; ciphertext size for SSE-C) */
  storedSize: number;
  /** parts of a multipart object, in order; null for a single-blob object. Omitted in 304 answers. */
  parts?: WirePart[] | null;
};

export interface WireAnswer {
  v: number;
  /** null: the bucket does not exist in the origin region */
  bucket: WireBucket | null;
  /** null: no such key (or no bucket), no such version, or a delete marker */
  object: WireObject | null;
  /** the version the query named, echoed (absent in answers about the current version) */
  versionId?: string;
  /** the version answered (the current one, or the one named) is a delete marker; object is null */
  deleteMarker?: { versionId: string | null };
}

export function versionOf(record: ObjectRecord): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([record.etag, record.blob, record.sse, (record.manifest ?? []).map((p) => [p.blob, p.sse ?? null])]));
  return 'v1-' + h.digest('hex').slice(0, 40);
}

export function wireBucket(b: BucketRecord): WireBucket {
  return { name: b.name, ownerOrg: b.ownerOrg, createdAt: b.createdAt, acl: b.acl, policy: b.policy, config: b.config };
}

export function wireObject(o: ObjectRecord, storedSize: number, withParts: boolean): WireObject {
  const w: WireObject = { key: o.key, size: o.size, etag: o.etag, lastModified: o.lastModified, ownerOrg: o.ownerOrg, meta: o.meta, sse: o.sse, versionId: o.versionId ?? null, storedSize };
  if (withParts) {
    w.parts = o.manifest
      ? o.manifest.map((p) => {
          const part: WirePart = { partNumber: p.partNumber, size: p.size, storedSize: p.storedSize, etag: p.etag };
          if (p.checksum !== undefined) part.checksum = p.checksum;
          if (p.sse !== undefined) part.sse = p.sse;
          return part;
        })
      : null;
  }
  return w;
}

export function bucketRecordOf(b: WireBucket): BucketRecord {
  return { name: b.name, ownerOrg: b.ownerOrg, createdAt: b.createdAt, acl: b.acl, policy: b.policy, tags: null, config: b.config };
}

/**
 * An ObjectRecord the read path (serveObject, decryptingOpener) can use. Blob ids are replaced
 * by the segment's offset in the concatenated stored bytes, as a decimal string: a cache file
 * holds exactly that concatenation, so `Number(segment.blob)` is where the segment starts.
 */
export function objectRecordOf(bucket: string, w: WireObject): ObjectRecord {
  let manifest: PartRef[] | null = null;
  if (w.parts) {
    manifest = [];
    let offset = 0;
    for (const p of w.parts) {
      manifest.push({ partNumber: p.partNumber, blob: String(offset), size: p.size, storedSize: p.storedSize, etag: p.etag, checksum: p.checksum, sse: p.sse });
      offset += p.storedSize;
    }
  }
  return { bucket, key: w.key, size: w.size, etag: w.etag, lastModified: w.lastModified, ownerOrg: w.ownerOrg, meta: w.meta, blob: manifest ? null : '0', manifest, sse: w.sse, versionId: w.versionId ?? null };
}

/** Stored byte ranges [start, end) of each segment in the concatenation (for per-part checks). */
export function segmentBounds(w: WireObject): Array<{ start: number; end: number; etag: string; encrypted: boolean }> {
  if (!w.parts) return [{ start: 0, end: w.storedSize, etag: w.etag, encrypted: w.sse !== null }];
  const out: Array<{ start: number; end: number; etag: string; encrypted: boolean }> = [];
  let offset = 0;
  for (const p of w.parts) {
    out.push({ start: offset, end: offset + p.storedSize, etag: p.etag, encrypted: (p.sse ?? w.sse) != null });
    offset += p.storedSize;
  }
  return out;
}

/** Validate the shape of an answer received from another node (a malformed one is an origin failure). */
export function parseAnswer(text: string): WireAnswer {
  const a = JSON.parse(text) as WireAnswer;
  if (typeof a !== 'object' || a === null || a.v !== WIRE_VERSION) throw new Error('origin answer: unsupported format');
  if (a.bucket !== null && (typeof a.bucket !== 'object' || typeof a.bucket.name !== 'string' || typeof a.bucket.ownerOrg !== 'string')) throw new Error('origin answer: malformed bucket');
  if (a.object !== null) {
    const o = a.object;
    if (typeof o !== 'object' || typeof o.key !== 'string' || !Number.isSafeInteger(o.size) || !Number.isSafeInteger(o.storedSize) || typeof o.etag !== 'string' || typeof o.meta !== 'object') {
      throw new Error('origin answer: malformed object');
    }
    if (o.versionId !== undefined && o.versionId !== null && typeof o.versionId !== 'string') throw new Error('origin answer: malformed version id');
    if (o.parts) {
      let total = 0;
      for (const p of o.parts) total += p.storedSize;
      if (total !== o.storedSize) throw new Error('origin answer: part sizes do not add up');
    }
  }
  if (a.versionId !== undefined && typeof a.versionId !== 'string') throw new Error('origin answer: malformed version id');
  if (a.deleteMarker !== undefined) {
    const m = a.deleteMarker;
    if (typeof m !== 'object' || m === null || (m.versionId !== null && typeof m.versionId !== 'string') || a.object !== null) throw new Error('origin answer: malformed delete marker');
  }
  return a;
}

export function encodeMetaHeader(a: WireAnswer): string {
  return Buffer.from(JSON.stringify(a), 'utf8').toString('base64url');
}

export function decodeMetaHeader(v: string): WireAnswer {
  return parseAnswer(Buffer.from(v, 'base64url').toString('utf8'));
}
