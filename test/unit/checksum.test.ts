import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  checksumAlgorithms,
  checksumHeaderName,
  checksumTransform,
  combineCrc,
  compositeChecksum,
  computeChecksum,
  crc32c,
  crc64nvme,
  createHasher,
  decodeChecksumValue,
  digestLength,
  fullObjectCrc,
  parseChecksumAlgorithm,
  parseChecksumType,
  xmlElementName,
  type ChecksumAlgorithm,
  type CrcAlgorithm,
} from '../../src/checksum/algorithms.ts';
import { crc32cPortable } from '../../src/checksum/crc32c.ts';
import { crc64nvmeUpdatePortable, type Crc64Value } from '../../src/checksum/crc64nvme.ts';

// Deterministic PRNG (xorshift32) so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
function randomBuffer(next: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (b: Buffer): string => b.toString('hex');
const b64 = (alg: ChecksumAlgorithm, data: Buffer): string => computeChecksum(alg, data).toString('base64');

describe('algorithm names', () => {
  it('lists the five algorithms', () => {
    expect([...checksumAlgorithms]).toEqual(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']);
  });

  it('parses case-insensitively', () => {
    expect(parseChecksumAlgorithm('crc32')).toBe('CRC32');
    expect(parseChecksumAlgorithm('Crc32C')).toBe('CRC32C');
    expect(parseChecksumAlgorithm('crc64nvme')).toBe('CRC64NVME');
    expect(parseChecksumAlgorithm('sha1')).toBe('SHA1');
    expect(parseChecksumAlgorithm('SHA256')).toBe('SHA256');
    expect(parseChecksumAlgorithm('md5')).toBeUndefined();
    expect(parseChecksumAlgorithm('')).toBeUndefined();
    expect(parseChecksumAlgorithm('CRC64')).toBeUndefined();
    expect(parseChecksumAlgorithm(' crc32')).toBeUndefined();
  });

  it('maps to header and XML element names', () => {
    expect(checksumAlgorithms.map(checksumHeaderName)).toEqual([
      'x-amz-checksum-crc32',
      'x-amz-checksum-crc32c',
      'x-amz-checksum-crc64nvme',
      'x-amz-checksum-sha1',
      'x-amz-checksum-sha256',
    ]);
    expect(checksumAlgorithms.map(xmlElementName)).toEqual([
      'ChecksumCRC32',
      'ChecksumCRC32C',
      'ChecksumCRC64NVME',
      'ChecksumSHA1',
      'ChecksumSHA256',
    ]);
    expect(checksumAlgorithms.map(digestLength)).toEqual([4, 4, 8, 20, 32]);
  });

  it('parses checksum types', () => {
    expect(parseChecksumType('composite')).toBe('COMPOSITE');
    expect(parseChecksumType('FULL_OBJECT')).toBe('FULL_OBJECT');
    expect(parseChecksumType('full-object')).toBeUndefined();
  });
});

describe('known vectors', () => {
  it('"123456789" check values', () => {
    const d = ascii('123456789');
    expect(hex(computeChecksum('CRC32', d))).toBe('cbf43926');
    expect(hex(computeChecksum('CRC32C', d))).toBe('e3069283');
    expect(hex(computeChecksum('CRC64NVME', d))).toBe('ae8b14860a799888');
    expect(crc32c(d)).toBe(0xe3069283);
    expect(hex(crc64nvme(d))).toBe('ae8b14860a799888');
  });

  it('empty input', () => {
    const e = Buffer.alloc(0);
    expect(b64('CRC32', e)).toBe('AAAAAA==');
    expect(b64('CRC32C', e)).toBe('AAAAAA==');
    expect(b64('CRC64NVME', e)).toBe('AAAAAAAAAAA=');
    expect(b64('SHA1', e)).toBe('2jmj7l5rSw0yVb/vlWAYkK/YBwk=');
    expect(b64('SHA256', e)).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  // Base64 wire values used by the AWS SDKs' flexible-checksum test suites.
  it.each([
    ['abc', 'CRC32', 'NSRBwg=='],
    ['Hello world', 'CRC32', 'i9aeUg=='],
    ['abc', 'CRC32C', 'Nks/tw=='],
    ['Hello world', 'CRC32C', 'crUfeA=='],
    ['abc', 'CRC64NVME', 'BeXKuz/B+us='],
    ['Hello world', 'CRC64NVME', 'OOJZ0D8xKts='],
    ['abc', 'SHA1', 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0='],
    ['Hello world', 'SHA1', 'e1AsOh9IyGCa4hLN+2Od7jlnP14='],
    ['abc', 'SHA256', 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='],
    ['Hello world', 'SHA256', 'ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw='],
  ] as const)('AWS SDK vector %j %s → %s', (input, alg, expected) => {
    expect(b64(alg, ascii(input))).toBe(expected);
  });

  it('CRC32C vectors (RFC 3720 B.4 and others)', () => {
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(ascii('hello world'))).toBe(0xc99465aa);
  });

  it('CRC64NVME vectors (NVMe spec 4 KiB blocks, other tools)', () => {
    expect(hex(crc64nvme(Buffer.alloc(4096, 0)))).toBe('6482d367eb22b64e');
    expect(hex(crc64nvme(Buffer.alloc(4096, 0xff)))).toBe('c0ddba7302eca3ac');
    expect(crc64nvme(ascii('Hello, World!\n')).toString('base64')).toBe('SoXXbx67KpE=');
  });

  it('CRC32 matches zlib and SHA matches node:crypto on random data', () => {
    const next = rng(7);
    const d = randomBuffer(next, 100_003);
    expect(computeChecksum('CRC32', d).readUInt32BE(0)).toBe(zlib.crc32(d));
    expect(computeChecksum('SHA1', d)).toEqual(createHash('sha1').update(d).digest());
    expect(computeChecksum('SHA256', d)).toEqual(createHash('sha256').update(d).digest());
  });
});

// Bit-at-a-time reference CRCs, independent of the table code.
function refCrc32c(d: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of d) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}
function refCrc64(d: Uint8Array): string {
  const P = 0x9a6c9329ac4bc9b5n;
  const M = 0xffffffffffffffffn;
  let c = M;
  for (const byte of d) {
    c ^= BigInt(byte);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ P : c >> 1n;
  }
  return (c ^ M).toString(16).padStart(16, '0');
}

describe('table implementations', () => {
  it('match a bit-at-a-time reference on every length 0..300 and odd offsets', () => {
    const next = rng(11);
    const backing = randomBuffer(next, 400);
    for (let off = 0; off < 8; off++) {
      for (let len = 0; len <= 300; len += off === 0 ? 1 : 7) {
        const d = backing.subarray(off, off + len);
        const want32 = refCrc32c(d);
        expect(crc32c(d)).toBe(want32);
        expect(crc32cPortable(d)).toBe(want32);
        const want64 = refCrc64(d);
        expect(hex(crc64nvme(d))).toBe(want64);
        const s: Crc64Value = { hi: 0, lo: 0 };
        crc64nvmeUpdatePortable(s, d);
        expect((s.hi >>> 0).toString(16).padStart(8, '0') + (s.lo >>> 0).toString(16).padStart(8, '0')).toBe(want64);
      }
    }
  });

  it('word and portable paths agree on large unaligned buffers', () => {
    const next = rng(12);
    const backing = randomBuffer(next, 1 << 20);
    for (const off of [0, 1, 2, 3, 5]) {
      const d = backing.subarray(off, backing.length - off);
      expect(crc32c(d)).toBe(crc32cPortable(d));
      const s: Crc64Value = { hi: 0, lo: 0 };
      crc64nvmeUpdatePortable(s, d);
      const want = Buffer.alloc(8);
      want.writeUInt32BE(s.hi >>> 0, 0);
      want.writeUInt32BE(s.lo >>> 0, 4);
      expect(crc64nvme(d)).toEqual(want);
    }
  });
});

describe('incremental hashing', () => {
  it.each(checksumAlgorithms.map((a) => [a]))('%s: random splits equal one-shot', (alg) => {
    const next = rng(alg.length * 1000 + alg.charCodeAt(3));
    for (let trial = 0; trial < 20; trial++) {
      const total = trial === 0 ? 0 : next() % (trial < 10 ? 200 : 300_000);
      const data = randomBuffer(next, total);
      const oneShot = computeChecksum(alg, data);
      const h = createHasher(alg);
      let pos = 0;
      while (pos < total) {
        // Mix of tiny and large pieces, at arbitrary (unaligned) offsets.
        const max = next() % 4 === 0 ? 5 : 70_000;
        const n = Math.min(total - pos, 1 + (next() % max));
        h.update(data.subarray(pos, pos + n));
        pos += n;
      }
      if (next() % 2) h.update(Buffer.alloc(0));
      expect(h.digest()).toEqual(oneShot);
    }
  });
});

// Independent reference for combining: reflect to normal bit order and use BigInt polynomial
// arithmetic: crc(A||B) = crcA * x^(8 * lenB) mod P  xor  crcB.
function reflect(v: bigint, w: number): bigint {
  let r = 0n;
  for (let i = 0; i < w; i++) if ((v >> BigInt(i)) & 1n) r |= 1n << BigInt(w - 1 - i);
  return r;
}
const REFLECTED_POLY: Record<CrcAlgorithm, [bigint, number]> = {
  CRC32: [0xedb88320n, 32],
  CRC32C: [0x82f63b78n, 32],
  CRC64NVME: [0x9a6c9329ac4bc9b5n, 64],
};
function refCombine(alg: CrcAlgorithm, a: Buffer, b: Buffer, lenB: number): Buffer {
  const [rp, w] = REFLECTED_POLY[alg];
  const W = BigInt(w);
  const top = 1n << W;
  const P = reflect(rp, w) | top; // full normal polynomial including x^w
  const mulmod = (x: bigint, y: bigint): bigint => {
    let r = 0n;
    while (y) {
      if (y & 1n) r ^= x;
      y >>= 1n;
      x <<= 1n;
      if (x & top) x ^= P;
    }
    return r;
  };
  let e = BigInt(lenB) * 8n;
  let base = 2n; // x
  let pow = 1n;
  while (e) {
    if (e & 1n) pow = mulmod(pow, base);
    base = mulmod(base, base);
    e >>= 1n;
  }
  const av = reflect(BigInt('0x' + a.toString('hex')), w);
  const bv = BigInt('0x' + b.toString('hex'));
  const out = reflect(mulmod(av, pow), w) ^ bv;
  return Buffer.from(out.toString(16).padStart(w / 4, '0'), 'hex');
}

const CRCS: CrcAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];

describe('combineCrc', () => {
  it.each(CRCS.map((a) => [a]))('%s: equals the direct CRC of A||B for random pairs', (alg) => {
    const next = rng(alg.length * 31 + 5);
    const backing = randomBuffer(next, 3 << 20);
    const lengths = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096, 65537];
    const cases: Array<[number, number]> = [];
    for (const la of [0, 1, 13, 1024]) for (const lb of lengths) cases.push([la, lb]);
    for (let i = 0; i < 30; i++) cases.push([next() % 100_000, next() % 300_000]);
    cases.push([5, 3 << 20 >> 1], [(3 << 20) >> 1, (3 << 20) >> 1]); // 1.5 MiB pieces
    for (const [la, lb] of cases) {
      const A = backing.subarray(0, la);
      const B = backing.subarray(la, la + lb);
      const got = combineCrc(alg, computeChecksum(alg, A), computeChecksum(alg, B), lb);
      expect(got, `${alg} la=${la} lb=${lb}`).toEqual(computeChecksum(alg, backing.subarray(0, la + lb)));
    }
  });

  it.each(CRCS.map((a) => [a]))('%s: zero-length B returns crc(A)', (alg) => {
    const a = computeChecksum(alg, ascii('some data'));
    const empty = computeChecksum(alg, Buffer.alloc(0));
    expect(combineCrc(alg, a, empty, 0)).toEqual(a);
    expect(combineCrc(alg, empty, a, 9)).toEqual(a);
  });

  it.each(CRCS.map((a) => [a]))('%s: long zero runs via doubling equal the direct CRC', (alg) => {
    // crc(Z_2n) = combine(crc(Z_n), crc(Z_n), n): checks x^(8n) mod P for n up to 8 MiB.
    let z = computeChecksum(alg, Buffer.alloc(1));
    let n = 1;
    while (n < 8 << 20) {
      z = combineCrc(alg, z, z, n);
      n *= 2;
    }
    expect(z).toEqual(computeChecksum(alg, Buffer.alloc(n)));
  });

  it.each(CRCS.map((a) => [a]))('%s: huge lengthB matches a BigInt reference', (alg) => {
    const next = rng(alg.length * 77 + 1);
    const lens = [
      5 * 2 ** 40, // 5 TiB
      5 * 2 ** 40 - 1,
      2 ** 32,
      2 ** 32 - 1,
      2 ** 31 + 12345,
      2 ** 53 - 1,
      123_456_789_012,
    ];
    for (const lb of lens) {
      const a = randomBuffer(next, digestLength(alg));
      const b = randomBuffer(next, digestLength(alg));
      expect(combineCrc(alg, a, b, lb), `lb=${lb}`).toEqual(refCombine(alg, a, b, lb));
    }
  });

  it.each(CRCS.map((a) => [a]))('%s: associative over 5 TiB-scale lengths', (alg) => {
    const next = rng(3);
    const [a, b, c] = [0, 1, 2].map(() => randomBuffer(next, digestLength(alg)));
    const nb = 5 * 2 ** 40 - 17;
    const nc = 3 * 2 ** 40 + 5;
    const left = combineCrc(alg, combineCrc(alg, a, b, nb), c, nc);
    const right = combineCrc(alg, a, combineCrc(alg, b, c, nc), nb + nc);
    expect(left).toEqual(right);
  });

  it('rejects bad arguments', () => {
    const four = Buffer.alloc(4);
    const eight = Buffer.alloc(8);
    expect(() => combineCrc('CRC32', four, four, -1)).toThrow(RangeError);
    expect(() => combineCrc('CRC32', four, four, 1.5)).toThrow(RangeError);
    expect(() => combineCrc('CRC32', four, four, 2 ** 53)).toThrow(RangeError);
    expect(() => combineCrc('CRC32', eight, four, 1)).toThrow(RangeError);
    expect(() => combineCrc('CRC64NVME', four, four, 1)).toThrow(RangeError);
    expect(() => combineCrc('SHA1' as CrcAlgorithm, four, four, 1)).toThrow(TypeError);
  });
});

describe('multipart checksums', () => {
  it.each(checksumAlgorithms.map((a) => [a]))('%s: composite is base64(hash(concat(part digests)))-N', (alg) => {
    const next = rng(5);
    const parts = [randomBuffer(next, 1000), randomBuffer(next, 2000), randomBuffer(next, 17)];
    const digests = parts.map((p) => computeChecksum(alg, p));
    const v = compositeChecksum(alg, digests);
    expect(v).toBe(`${computeChecksum(alg, Buffer.concat(digests)).toString('base64')}-3`);
    const [value, count] = v.split('-');
    expect(count).toBe('3');
    expect(decodeChecksumValue(alg, value)).toBeDefined();
  });

  it('composite with a single part still carries -1', () => {
    const d = computeChecksum('CRC32', ascii('x'));
    expect(compositeChecksum('CRC32', [d])).toMatch(/^[A-Za-z0-9+/]{6}==-1$/);
  });

  it('composite rejects digests of the wrong length', () => {
    expect(() => compositeChecksum('SHA256', [Buffer.alloc(20)])).toThrow(RangeError);
  });

  it.each(CRCS.map((a) => [a]))('%s: full-object CRC from parts equals the CRC of the whole', (alg) => {
    const next = rng(17);
    const data = randomBuffer(next, 500_000);
    const cuts = [0, 0, 1, 5, 100_000, 100_000, 333_333, 500_000].sort((x, y) => x - y);
    const parts = [];
    for (let i = 1; i < cuts.length; i++) {
      const p = data.subarray(cuts[i - 1], cuts[i]);
      parts.push({ digest: computeChecksum(alg, p), size: p.length });
    }
    expect(fullObjectCrc(alg, parts)).toEqual(computeChecksum(alg, data));
    expect(fullObjectCrc(alg, [])).toEqual(computeChecksum(alg, Buffer.alloc(0)));
  });
});

describe('decodeChecksumValue', () => {
  it('accepts canonical base64 of the right length', () => {
    expect(decodeChecksumValue('CRC32', 'i9aeUg==')).toEqual(Buffer.from('8bd69e52', 'hex'));
    expect(decodeChecksumValue('CRC32C', 'crUfeA==')?.length).toBe(4);
    expect(decodeChecksumValue('CRC64NVME', 'OOJZ0D8xKts=')?.length).toBe(8);
    expect(decodeChecksumValue('SHA1', 'e1AsOh9IyGCa4hLN+2Od7jlnP14=')?.length).toBe(20);
    expect(decodeChecksumValue('SHA256', 'ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=')?.length).toBe(32);
  });

  it('rejects the wrong digest length for the algorithm', () => {
    expect(decodeChecksumValue('CRC64NVME', 'i9aeUg==')).toBeUndefined();
    expect(decodeChecksumValue('CRC32', 'OOJZ0D8xKts=')).toBeUndefined();
    expect(decodeChecksumValue('SHA256', 'e1AsOh9IyGCa4hLN+2Od7jlnP14=')).toBeUndefined();
    expect(decodeChecksumValue('SHA1', '')).toBeUndefined();
  });

  it('rejects malformed base64', () => {
    expect(decodeChecksumValue('CRC32', 'i9aeUg=')).toBeUndefined(); // short padding
    expect(decodeChecksumValue('CRC32', 'i9aeUg')).toBeUndefined(); // unpadded
    expect(decodeChecksumValue('CRC32', 'i9ae Ug=')).toBeUndefined();
    expect(decodeChecksumValue('CRC32', 'i9ae-g==')).toBeUndefined(); // base64url alphabet
    expect(decodeChecksumValue('CRC32', 'i9aeU===')).toBeUndefined();
    expect(decodeChecksumValue('CRC32', 'i9aeUh==')).toBeUndefined(); // non-zero pad bits
    expect(decodeChecksumValue('CRC32', ' i9aeUg==')).toBeUndefined();
    expect(decodeChecksumValue('CRC32', '=i9aeUg=')).toBeUndefined();
  });
});

describe('checksumTransform', () => {
  async function run(
    data: Buffer,
    chunkSizes: () => number,
    algs: ChecksumAlgorithm[],
  ): Promise<{ out: Buffer; t: ReturnType<typeof checksumTransform> }> {
    const chunks: Buffer[] = [];
    for (let pos = 0; pos < data.length; ) {
      const n = Math.min(data.length - pos, chunkSizes());
      chunks.push(data.subarray(pos, pos + n));
      pos += n;
    }
    const t = checksumTransform(algs);
    const got: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      t,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          got.push(chunk);
          cb();
        },
      }),
    );
    return { out: Buffer.concat(got), t };
  }

  it('passes data through unchanged and reports digests and byte count', async () => {
    const next = rng(21);
    const data = randomBuffer(next, 1_234_567);
    const { out, t } = await run(data, () => 1 + (next() % 100_000), [...checksumAlgorithms]);
    expect(out.equals(data)).toBe(true);
    expect(t.bytes).toBe(data.length);
    const d = t.digests();
    expect([...d.keys()]).toEqual([...checksumAlgorithms]);
    for (const alg of checksumAlgorithms) expect(d.get(alg)).toEqual(computeChecksum(alg, data));
    // Idempotent after the end.
    expect(t.digests().get('SHA256')).toEqual(computeChecksum('SHA256', data));
  });

  it('handles an empty stream, no algorithms and duplicate algorithms', async () => {
    const { t } = await run(Buffer.alloc(0), () => 1, ['CRC32', 'CRC32', 'CRC64NVME']);
    expect(t.bytes).toBe(0);
    expect([...t.digests().keys()]).toEqual(['CRC32', 'CRC64NVME']);
    expect(t.digests().get('CRC64NVME')).toEqual(Buffer.alloc(8));

    const { t: t2 } = await run(ascii('hello'), () => 2, []);
    expect(t2.digests().size).toBe(0);
    expect(t2.bytes).toBe(5);
  });
});
