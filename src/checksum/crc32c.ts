// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and xorout all-ones.
// Check value for ASCII "123456789" is 0xE3069283.
//
// Slice-by-16 table lookup. When the platform is little-endian the bulk of the input is
// read as aligned 32-bit words through an Int32Array view over the same memory (no copy),
// which roughly halves the cost of assembling words byte by byte.

export const CRC32C_POLY = 0x82f63b78;

/** 16 tables of 256 entries, flattened: table k lives at [k * 256, k * 256 + 256). */
const T = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let k = 1; k < 16; k++) {
    c = T[c & 0xff] ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/** True when an Int32Array view reads bytes b0..b3 as b0 | b1<<8 | b2<<16 | b3<<24. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this many bytes the word view is not worth creating. */
const WORD_PATH_MIN = 64;

/**
 * Continue a CRC-32C. `crc` is a finished CRC value (0 to start), the same convention
 * as `zlib.crc32(data, value)`. Returns the finished CRC as an unsigned 32-bit number.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (LITTLE_ENDIAN && data.length >= WORD_PATH_MIN) return wordPath(data, crc);
  return crc32cPortable(data, crc);
}

function wordPath(buf: Uint8Array, crc: number): number {
  let c = ~crc;
  let i = 0;
  const n = buf.length;
  // Single bytes until the read position is 4-byte aligned in the underlying ArrayBuffer.
  while (((buf.byteOffset + i) & 3) !== 0) {
    c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
    i++;
  }
  const words = Math.floor((n - i) / 4); // not >>> 2: a 4 GiB buffer would wrap to 0
  const w = new Int32Array(buf.buffer, buf.byteOffset + i, words);
  const wn = words - 3;
  let j = 0;
  for (; j < wn; j += 4) {
    const a = c ^ w[j];
    const b = w[j + 1];
    const d = w[j + 2];
    const e = w[j + 3];
    c =
      T[3840 + (a & 255)] ^ T[3584 + ((a >>> 8) & 255)] ^ T[3328 + ((a >>> 16) & 255)] ^ T[3072 + (a >>> 24)] ^
      T[2816 + (b & 255)] ^ T[2560 + ((b >>> 8) & 255)] ^ T[2304 + ((b >>> 16) & 255)] ^ T[2048 + (b >>> 24)] ^
      T[1792 + (d & 255)] ^ T[1536 + ((d >>> 8) & 255)] ^ T[1280 + ((d >>> 16) & 255)] ^ T[1024 + (d >>> 24)] ^
      T[768 + (e & 255)] ^ T[512 + ((e >>> 8) & 255)] ^ T[256 + ((e >>> 16) & 255)] ^ T[e >>> 24];
  }
  i += j * 4;
  for (; i < n; i++) c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Endian-independent slice-by-16 (words assembled from bytes). Exported for tests. */
export function crc32cPortable(buf: Uint8Array, crc = 0): number {
  let c = ~crc;
  let i = 0;
  const n = buf.length;
  for (; i + 16 <= n; i += 16) {
    const a = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    const b = buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24);
    const d = buf[i + 8] | (buf[i + 9] << 8) | (buf[i + 10] << 16) | (buf[i + 11] << 24);
    const e = buf[i + 12] | (buf[i + 13] << 8) | (buf[i + 14] << 16) | (buf[i + 15] << 24);
    c =
      T[3840 + (a & 255)] ^ T[3584 + ((a >>> 8) & 255)] ^ T[3328 + ((a >>> 16) & 255)] ^ T[3072 + (a >>> 24)] ^
      T[2816 + (b & 255)] ^ T[2560 + ((b >>> 8) & 255)] ^ T[2304 + ((b >>> 16) & 255)] ^ T[2048 + (b >>> 24)] ^
      T[1792 + (d & 255)] ^ T[1536 + ((d >>> 8) & 255)] ^ T[1280 + ((d >>> 16) & 255)] ^ T[1024 + (d >>> 24)] ^
      T[768 + (e & 255)] ^ T[512 + ((e >>> 8) & 255)] ^ T[256 + ((e >>> 16) & 255)] ^ T[e >>> 24];
  }
  for (; i < n; i++) c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
