// CRC combination: given crc(A), crc(B) and len(B), compute crc(A || B) without the data.
//
// For a reflected CRC with init == xorout (true for CRC-32, CRC-32C and CRC-64/NVME, where
// both are all-ones) the conditioning terms cancel and
//     crc(A || B) = crc(A) * x^(8 * len(B))  mod P   XOR   crc(B)
// in GF(2)[x]. x^(8n) mod P is built from a table of x^(2^k) mod P by square-and-multiply,
// so the cost is O(log n) polynomial multiplications (each 32 or 64 shift/xor steps).
//
// Polynomials are kept in the same reflected bit order as the CRC register: the most
// significant bit of the register is the coefficient of x^0.

const MAX_LENGTH = Number.MAX_SAFE_INTEGER;

// ---- 32-bit CRCs --------------------------------------------------------------------------

/** a * b mod P for reflected 32-bit polynomials. */
function mulmod32(a: number, b: number, poly: number): number {
  let p = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >>> 1) ^ poly : b >>> 1;
  }
  return p >>> 0;
}

function x2nTable32(poly: number): Uint32Array {
  // x2n[k] = x^(2^k) mod P. 64 entries covers every bit of an 8 * 2^53 bit count.
  const t = new Uint32Array(64);
  t[0] = 0x40000000; // x^1
  for (let k = 1; k < 64; k++) t[k] = mulmod32(t[k - 1], t[k - 1], poly);
  return t;
}

interface Crc32Combiner {
  poly: number;
  x2n: Uint32Array;
}

function makeCombiner32(poly: number): Crc32Combiner {
  return { poly, x2n: x2nTable32(poly) };
}

/** crc(A||B) for a 32-bit CRC from finished values. */
function combine32(c: Crc32Combiner, crcA: number, crcB: number, lengthB: number): number {
  // x^(8 * lengthB) mod P: start from x^0 and multiply in x^(2^(k)) for each set bit of
  // lengthB, where k starts at 3 because the exponent is lengthB * 2^3.
  let op = 0x80000000;
  let n = lengthB;
  let k = 3;
  while (n > 0) {
    if (n % 2 === 1) op = mulmod32(c.x2n[k], op, c.poly);
    n = Math.floor(n / 2);
    k++;
  }
  return (mulmod32(op, crcA >>> 0, c.poly) ^ crcB) >>> 0;
}

// ---- 64-bit CRCs (two 32-bit halves) -------------------------------------------------------

interface Crc64Combiner {
  polyHi: number;
  polyLo: number;
  x2nHi: Uint32Array;
  x2nLo: Uint32Array;
}

// Result registers for mulmod64, so the hot loop allocates nothing.
let rHi = 0;
let rLo = 0;

/** (aHi:aLo) * (bHi:bLo) mod P for reflected 64-bit polynomials; result in rHi/rLo. */
function mulmod64(aHi: number, aLo: number, bHi: number, bLo: number, polyHi: number, polyLo: number): void {
  let pHi = 0;
  let pLo = 0;
  // Bits of a from the coefficient of x^0 (bit 63) down to x^63 (bit 0).
  for (let i = 0; i < 64; i++) {
    const bit = i < 32 ? (aHi >>> (31 - i)) & 1 : (aLo >>> (63 - i)) & 1;
    if (bit) {
      pHi ^= bHi;
      pLo ^= bLo;
    }
    const carry = bLo & 1;
    bLo = (bLo >>> 1) | (bHi << 31);
    bHi = bHi >>> 1;
    if (carry) {
      bHi ^= polyHi;
      bLo ^= polyLo;
    }
  }
  rHi = pHi >>> 0;
  rLo = pLo >>> 0;
}

function makeCombiner64(polyHi: number, polyLo: number): Crc64Combiner {
  const x2nHi = new Uint32Array(64);
  const x2nLo = new Uint32Array(64);
  x2nHi[0] = 0x40000000; // x^1
  x2nLo[0] = 0;
  for (let k = 1; k < 64; k++) {
    mulmod64(x2nHi[k - 1], x2nLo[k - 1], x2nHi[k - 1], x2nLo[k - 1], polyHi, polyLo);
    x2nHi[k] = rHi;
    x2nLo[k] = rLo;
  }
  return { polyHi, polyLo, x2nHi, x2nLo };
}

function combine64(
  c: Crc64Combiner,
  aHi: number,
  aLo: number,
  bHi: number,
  bLo: number,
  lengthB: number,
): void {
  let opHi = 0x80000000;
  let opLo = 0;
  let n = lengthB;
  let k = 3;
  while (n > 0) {
    if (n % 2 === 1) {
      mulmod64(c.x2nHi[k], c.x2nLo[k], opHi, opLo, c.polyHi, c.polyLo);
      opHi = rHi;
      opLo = rLo;
    }
    n = Math.floor(n / 2);
    k++;
  }
  mulmod64(opHi, opLo, aHi, aLo, c.polyHi, c.polyLo);
  rHi = (rHi ^ bHi) >>> 0;
  rLo = (rLo ^ bLo) >>> 0;
}

// ---- public API ----------------------------------------------------------------------------

export type CrcAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME';

const COMBINE_CRC32 = makeCombiner32(0xedb88320);
const COMBINE_CRC32C = makeCombiner32(0x82f63b78);
const COMBINE_CRC64NVME = makeCombiner64(0x9a6c9329, 0xac4bc9b5);

function checkLength(lengthB: number): void {
  if (!Number.isInteger(lengthB) || lengthB < 0 || lengthB > MAX_LENGTH) {
    throw new RangeError(`combineCrc: lengthB must be a non-negative safe integer, got ${lengthB}`);
  }
}

/** Combine two finished 32-bit CRC values (as unsigned numbers). */
export function combineCrc32Value(alg: 'CRC32' | 'CRC32C', crcA: number, crcB: number, lengthB: number): number {
  checkLength(lengthB);
  return combine32(alg === 'CRC32' ? COMBINE_CRC32 : COMBINE_CRC32C, crcA, crcB, lengthB);
}

/**
 * The CRC of A||B from the big-endian digests of A and B and the byte length of B.
 * Digests are 4 bytes for CRC32/CRC32C and 8 bytes for CRC64NVME; the result has the same
 * length. O(log lengthB); lengthB may be anything up to Number.MAX_SAFE_INTEGER.
 */
export function combineCrc(alg: CrcAlgorithm, crcA: Buffer, crcB: Buffer, lengthB: number): Buffer {
  checkLength(lengthB);
  if (alg === 'CRC64NVME') {
    if (crcA.length !== 8 || crcB.length !== 8) throw new RangeError('combineCrc: CRC64NVME digests must be 8 bytes');
    combine64(
      COMBINE_CRC64NVME,
      crcA.readUInt32BE(0),
      crcA.readUInt32BE(4),
      crcB.readUInt32BE(0),
      crcB.readUInt32BE(4),
      lengthB,
    );
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE(rHi, 0);
    out.writeUInt32BE(rLo, 4);
    return out;
  }
  if (alg !== 'CRC32' && alg !== 'CRC32C') throw new TypeError(`combineCrc: not a CRC algorithm: ${String(alg)}`);
  if (crcA.length !== 4 || crcB.length !== 4) throw new RangeError(`combineCrc: ${alg} digests must be 4 bytes`);
  const v = combine32(
    alg === 'CRC32' ? COMBINE_CRC32 : COMBINE_CRC32C,
    crcA.readUInt32BE(0),
    crcB.readUInt32BE(0),
    lengthB,
  );
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(v, 0);
  return out;
}
