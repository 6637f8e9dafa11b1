// Multipart upload checksums: COMPOSITE ("checksum of checksums") and FULL_OBJECT (CRCs only).

import { combineCrc, type CrcAlgorithm } from './combine.ts';
import { createHasher, digestLength, type ChecksumAlgorithm } from './hashers.ts';

export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/** Case-insensitive parse of x-amz-checksum-type. */
export function parseChecksumType(s: string): ChecksumType | undefined {
  if (typeof s !== 'string') return undefined;
  const u = s.toUpperCase();
  return u === 'COMPOSITE' || u === 'FULL_OBJECT' ? u : undefined;
}

function checkDigest(alg: ChecksumAlgorithm, d: Buffer, i: number): void {
  if (!Buffer.isBuffer(d) || d.length !== digestLength(alg)) {
    throw new RangeError(`part ${i + 1}: ${alg} digest must be ${digestLength(alg)} bytes`);
  }
}

/**
 * AWS COMPOSITE multipart checksum: base64(alg(concat(raw part digests))) + '-' + partCount.
 * `partDigests` are the raw per-part digests in part-number order.
 * (AWS only offers COMPOSITE for CRC32, CRC32C, SHA1 and SHA256; CRC64NVME is FULL_OBJECT
 * only, so callers should reject that combination before getting here.)
 */
export function compositeChecksum(alg: ChecksumAlgorithm, partDigests: Buffer[]): string {
  const h = createHasher(alg);
  for (let i = 0; i < partDigests.length; i++) {
    checkDigest(alg, partDigests[i], i);
    h.update(partDigests[i]);
  }
  return `${h.digest().toString('base64')}-${partDigests.length}`;
}

/**
 * FULL_OBJECT multipart checksum for a CRC algorithm: the CRC of the whole object derived
 * from per-part CRCs and part sizes (no data re-read). Returns the raw big-endian digest;
 * the wire value is its base64 with no "-N" suffix.
 */
export function fullObjectCrc(alg: CrcAlgorithm, parts: ReadonlyArray<{ digest: Buffer; size: number }>): Buffer {
  let acc: Buffer = Buffer.alloc(digestLength(alg)); // CRC of the empty string is 0 for all three
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    checkDigest(alg, p.digest, i);
    acc = combineCrc(alg, acc, p.digest, p.size);
  }
  return acc;
}
