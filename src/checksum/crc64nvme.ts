// CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all-ones.
// Check value for ASCII "123456789" is 0xAE8B14860A799888.
//
// BigInt arithmetic is far too slow for bulk data, so the 64-bit register is kept as two
// 32-bit halves (hi, lo) and every table is split into a high-half and a low-half table.
// Slice-by-8 (measured faster than slice-by-16 here: the 64-bit state doubles the lookups
// per byte, and slice-by-16 runs out of registers). On little-endian platforms the input is
// read as aligned 32-bit words through an Int32Array view.

import { LITTLE_ENDIAN } from './crc32c.ts';

export const CRC64NVME_POLY_HI = 0x9a6c9329;
export const CRC64NVME_POLY_LO = 0xac4bc9b5;

/** A finished CRC-64 value held as two 32-bit halves (any sign; read with `>>> 0`). */
export interface Crc64Value {
  hi: number;
  lo: number;
}

/** 8 tables of 256 entries each, flattened; L holds the low 32 bits, H the high 32 bits. */
const L = new Int32Array(8 * 256);
const H = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let lo = n;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = (lo >>> 1) | (hi << 31);
    hi = hi >>> 1;
    if (bit) {
      lo ^= CRC64NVME_POLY_LO;
      hi ^= CRC64NVME_POLY_HI;
    }
  }
  L[n] = lo;
  H[n] = hi;
}
for (let n = 0; n < 256; n++) {
  let lo = L[n];
  let hi = H[n];
  for (let k = 1; k < 8; k++) {
    const x = lo & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ L[x];
    hi = (hi >>> 8) ^ H[x];
    L[k * 256 + n] = lo;
    H[k * 256 + n] = hi;
  }
}

const WORD_PATH_MIN = 64;

/**
 * Continue a CRC-64/NVME in place. `state` holds a finished CRC ({hi: 0, lo: 0} to start)
 * and is updated to the finished CRC of everything fed so far.
 */
export function crc64nvmeUpdate(state: Crc64Value, data: Uint8Array): void {
  if (LITTLE_ENDIAN && data.length >= WORD_PATH_MIN) wordPath(state, data);
  else crc64nvmeUpdatePortable(state, data);
}

/** One-shot CRC-64/NVME as the 8-byte big-endian digest. */
export function crc64nvme(data: Uint8Array): Buffer {
  const s: Crc64Value = { hi: 0, lo: 0 };
  crc64nvmeUpdate(s, data);
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(s.hi >>> 0, 0);
  out.writeUInt32BE(s.lo >>> 0, 4);
  return out;
}

function wordPath(state: Crc64Value, buf: Uint8Array): void {
  let lo = ~state.lo;
  let hi = ~state.hi;
  let i = 0;
  const n = buf.length;
  while (((buf.byteOffset + i) & 3) !== 0) {
    const x = (lo ^ buf[i]) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ L[x];
    hi = (hi >>> 8) ^ H[x];
    i++;
  }
  const words = Math.floor((n - i) / 4); // not >>> 2: a 4 GiB buffer would wrap to 0
  const w = new Int32Array(buf.buffer, buf.byteOffset + i, words);
  const wn = words - 1;
  let j = 0;
  for (; j < wn; j += 2) {
    const a = lo ^ w[j];
    const b = hi ^ w[j + 1];
    const a0 = a & 255;
    const a1 = (a >>> 8) & 255;
    const a2 = (a >>> 16) & 255;
    const a3 = a >>> 24;
    const b0 = b & 255;
    const b1 = (b >>> 8) & 255;
    const b2 = (b >>> 16) & 255;
    const b3 = b >>> 24;
    lo = L[1792 + a0] ^ L[1536 + a1] ^ L[1280 + a2] ^ L[1024 + a3] ^ L[768 + b0] ^ L[512 + b1] ^ L[256 + b2] ^ L[b3];
    hi = H[1792 + a0] ^ H[1536 + a1] ^ H[1280 + a2] ^ H[1024 + a3] ^ H[768 + b0] ^ H[512 + b1] ^ H[256 + b2] ^ H[b3];
  }
  i += j * 4;
  for (; i < n; i++) {
    const x = (lo ^ buf[i]) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ L[x];
    hi = (hi >>> 8) ^ H[x];
  }
  state.lo = ~lo;
  state.hi = ~hi;
}

/** Endian-independent slice-by-8 (words assembled from bytes). Exported for tests. */
export function crc64nvmeUpdatePortable(state: Crc64Value, buf: Uint8Array): void {
  let lo = ~state.lo;
  let hi = ~state.hi;
  let i = 0;
  const n = buf.length;
  for (; i + 8 <= n; i += 8) {
    const a = lo ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    const b = hi ^ (buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24));
    const a0 = a & 255;
    const a1 = (a >>> 8) & 255;
    const a2 = (a >>> 16) & 255;
    const a3 = a >>> 24;
    const b0 = b & 255;
    const b1 = (b >>> 8) & 255;
    const b2 = (b >>> 16) & 255;
    const b3 = b >>> 24;
    lo = L[1792 + a0] ^ L[1536 + a1] ^ L[1280 + a2] ^ L[1024 + a3] ^ L[768 + b0] ^ L[512 + b1] ^ L[256 + b2] ^ L[b3];
    hi = H[1792 + a0] ^ H[1536 + a1] ^ H[1280 + a2] ^ H[1024 + a3] ^ H[768 + b0] ^ H[512 + b1] ^ H[256 + b2] ^ H[b3];
  }
  for (; i < n; i++) {
    const x = (lo ^ buf[i]) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ L[x];
    hi = (hi >>> 8) ^ H[x];
  }
  state.lo = ~lo;
  state.hi = ~hi;
}
