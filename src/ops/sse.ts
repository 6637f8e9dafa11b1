// SSE-C as the operations use it: which key a request carries, whether it may be used on this
// transport, how a stored object's segments are decrypted, and the response headers. The
// cipher, the on-disk format and the key check live in src/crypto/sse-c.ts.
import { createHmac } from 'node:crypto';
import { pipeline } from 'node:stream';
import { PassThrough } from 'node:stream';
import {
  createDecryptStream,
  newObjectEncryption,
  openObjectEncryption,
  parseSseCustomerHeaders,
  parseSseRecord,
  recordKeyMatches,
  rejectSseCombination,
  serializeSseRecord,
  sseErrors,
  sseResponseHeaders,
  storedRangeFor,
  SSE_C_COPY_SOURCE_PREFIX,
  SSE_C_PREFIX,
  type SseCustomerKey,
} from '../crypto/sse-c.ts';
import type { RequestContext } from './operation.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { ObjectRecord } from '../store/types.ts';
import { plainOpener, type SegmentOpener } from './read-object.ts';

export type { SseCustomerKey };

function isLoopback(ip: string): boolean {
  return ip === '127.0.0.1' || ip === '::1' || ip.startsWith('127.');
}

/**
 * AWS and Ceph refuse SSE-C over plain HTTP: the key would cross the network in clear. Clients on
 * loopback are exempt (local use and tests), and `sseRequireTls: false` turns the rule off.
 */
function checkTransport(ctx: RequestContext): void {
  if (ctx.secureTransport || !ctx.services.config.sseRequireTls || isLoopback(ctx.sourceIp)) return;
  throw sseErrors.insecureTransport();
}

/** The key a write or read request carries in the x-amz-server-side-encryption-customer-* headers. */
export function requestKey(ctx: RequestContext, mode: 'write' | 'read'): SseCustomerKey | undefined {
  if (mode === 'write') rejectSseCombination(ctx.headers);
  const key = parseSseCustomerHeaders(ctx.headers, SSE_C_PREFIX, mode);
  if (key) checkTransport(ctx);
  return key;
}

/** The key for a copy source, in the x-amz-copy-source-server-side-encryption-customer-* headers. */
export function copySourceKey(ctx: RequestContext): SseCustomerKey | undefined {
  const key = parseSseCustomerHeaders(ctx.headers, SSE_C_COPY_SOURCE_PREFIX, 'read');
  if (key) checkTransport(ctx);
  return key;
}

export function isEncrypted(record: ObjectRecord): boolean {
  return record.sse !== null;
}

/**
 * Check the key a read brings against the object: required for an SSE-C object (400 without,
 * 403 when wrong), refused for a plain one.
 */
export function checkReadKey(record: ObjectRecord, key: SseCustomerKey | undefined): void {
  if (!isEncrypted(record)) {
    if (key) throw sseErrors.notApplicable();
    return;
  }
  if (!key) throw sseErrors.keyRequired();
  if (!recordKeyMatches(key, parseSseRecord(record.sse!))) throw sseErrors.wrongKey();
}

/** Segment opener for `record`: plain bytes, or decrypted chunks for SSE-C objects and parts. */
export function openerFor(store: RegionStore, record: ObjectRecord, key: SseCustomerKey | undefined): SegmentOpener {
  if (!isEncrypted(record)) return plainOpener(store);
  return decryptingOpener((blob, start, end) => store.blobs.read(blob, start, end), record, key!);
}

/** A decrypting opener over any source of stored bytes (the region's blobs, or a read cache). */
export function decryptingOpener(
  readStored: (blob: string, start: number, end: number) => NodeJS.ReadableStream,
  record: ObjectRecord,
  key: SseCustomerKey,
): SegmentOpener {
  return (segment, start, end) => {
    const sse = segment.part?.sse ?? record.sse!;
    const dataKey = openObjectEncryption(key, parseSseRecord(sse));
    const range = storedRangeFor(start, end, segment.size);
    const out = new PassThrough();
    pipeline(readStored(segment.blob, range.storedStart, range.storedEnd), createDecryptStream(dataKey, range), out, () => undefined);
    return out;
  };
}

export interface WriteEncryption {
  /** the data key, for BlobStore.write's encryptWith (the bytes are sealed where they are written) */
  dataKey: Buffer;
  /** the record to store with the object or part */
  sse: string;
  /** computes the ETag to publish from the plaintext MD5 */
  etag: (md5: Buffer) => string;
  headers: Record<string, string>;
}

/** Encryption for a new object or part written with `key`. */
export function writeEncryption(key: SseCustomerKey): WriteEncryption {
  const enc = newObjectEncryption(key);
  return {
    dataKey: enc.dataKey,
    sse: serializeSseRecord(enc.record),
    // AWS: the ETag of an SSE-C object is not the MD5 of its data (publishing it would leak a
    // digest of the plaintext); Ceph publishes the MD5. We follow AWS with a digest keyed by the
    // customer's key: the same bytes under the same key keep the same ETag (a re-sent part matches).
    etag: (md5) => createHmac('sha256', key.key).update('strata sse-c etag\0').update(md5).digest('hex').slice(0, 32),
    headers: sseResponseHeaders(key),
  };
}

/** A record usable only to check later keys (the upload-level record of an SSE-C multipart upload). */
export function keyCheckRecord(key: SseCustomerKey): string {
  return serializeSseRecord(newObjectEncryption(key).record);
}

export function keyMatchesRecord(key: SseCustomerKey, sse: string): boolean {
  return recordKeyMatches(key, parseSseRecord(sse));
}

export { sseErrors, sseResponseHeaders };
