// Algorithm names and incremental hashers for S3 flexible checksums. (MD5, for ETags, is computed by the
// blob writer threads: checksum/md5-lanes.mjs.)

import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';
import { crc32c } from './crc32c.ts';
import { crc64nvmeUpdate, type Crc64Value } from './crc64nvme.ts';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

export const checksumAlgorithms: readonly ChecksumAlgorithm[] = Object.freeze([
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'SHA1',
  'SHA256',
] as const);

const BY_UPPER: ReadonlyMap<string, ChecksumAlgorithm> = new Map(checksumAlgorithms.map((a) => [a, a]));

/** Case-insensitive: 'crc32c' → 'CRC32C'. Anything else (including surrounding spaces) → undefined. */
export function parseChecksumAlgorithm(s: string): ChecksumAlgorithm | undefined {
  if (typeof s !== 'string') return undefined;
  return BY_UPPER.get(s.toUpperCase());
}

/** 'CRC32' → 'x-amz-checksum-crc32' (lower-case, as Node exposes incoming header names). */
export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

/** 'CRC32' → 'ChecksumCRC32' (XML element in CompleteMultipartUpload, ListParts, GetObjectAttributes, …). */
export function xmlElementName(alg: ChecksumAlgorithm): string {
  return `Checksum${alg}`;
}

const DIGEST_LENGTH: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

/** Raw digest length in bytes: 4, 4, 8, 20, 32. */
export function digestLength(alg: ChecksumAlgorithm): number {
  return DIGEST_LENGTH[alg];
}

export function isCrcAlgorithm(alg: ChecksumAlgorithm): alg is 'CRC32' | 'CRC32C' | 'CRC64NVME' {
  return alg === 'CRC32' || alg === 'CRC32C' || alg === 'CRC64NVME';
}

/** An incremental hash. digest() returns the raw big-endian digest; call update() only before it. */
export interface Hasher {
  update(data: Buffer): void;
  digest(): Buffer;
}

class Crc32Hasher implements Hasher {
  private c = 0;
  update(data: Buffer): void {
    this.c = zlib.crc32(data, this.c);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.c >>> 0, 0);
    return out;
  }
}

class Crc32cHasher implements Hasher {
  private c = 0;
  update(data: Buffer): void {
    this.c = crc32c(data, this.c);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.c >>> 0, 0);
    return out;
  }
}

class Crc64NvmeHasher implements Hasher {
  private readonly s: Crc64Value = { hi: 0, lo: 0 };
  update(data: Buffer): void {
    crc64nvmeUpdate(this.s, data);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE(this.s.hi >>> 0, 0);
    out.writeUInt32BE(this.s.lo >>> 0, 4);
    return out;
  }
}

/** node:crypto wrapper; digest() is cached so calling it twice is harmless. */
class CryptoHasher implements Hasher {
  private readonly h: Hash;
  private result: Buffer | undefined;
  constructor(name: string) {
    this.h = createHash(name);
  }
  update(data: Buffer): void {
    if (this.result !== undefined) throw new Error('Hasher.update() after digest()');
    this.h.update(data);
  }
  digest(): Buffer {
    if (this.result === undefined) this.result = this.h.digest();
    return this.result;
  }
}

export function createHasher(alg: ChecksumAlgorithm): Hasher {
  switch (alg) {
    case 'CRC32':
      return new Crc32Hasher();
    case 'CRC32C':
      return new Crc32cHasher();
    case 'CRC64NVME':
      return new Crc64NvmeHasher();
    case 'SHA1':
      return new CryptoHasher('sha1');
    case 'SHA256':
      return new CryptoHasher('sha256');
    default:
      throw new TypeError(`unknown checksum algorithm: ${String(alg)}`);
  }
}

/** One-shot raw digest of `data`. */
export function computeChecksum(alg: ChecksumAlgorithm, data: Buffer): Buffer {
  const h = createHasher(alg);
  h.update(data);
  return h.digest();
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode a wire checksum value. Returns the raw digest, or undefined unless `b64` is the
 * canonical padded base64 (as every AWS SDK sends) of exactly digestLength(alg) bytes.
 */
export function decodeChecksumValue(alg: ChecksumAlgorithm, b64: string): Buffer | undefined {
  const len = DIGEST_LENGTH[alg];
  if (len === undefined || typeof b64 !== 'string') return undefined;
  if (b64.length !== 4 * Math.ceil(len / 3) || !B64_RE.test(b64)) return undefined;
  const buf = Buffer.from(b64, 'base64');
  if (buf.length !== len || buf.toString('base64') !== b64) return undefined;
  return buf;
}

/** base64 of a raw digest (the wire form). */
export function encodeChecksumValue(digest: Buffer): string {
  return digest.toString('base64');
}
