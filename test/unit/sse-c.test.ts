import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';

import {
  CHUNK_SIZE,
  STORED_CHUNK_SIZE,
  SSE_C_COPY_SOURCE_PREFIX,
  SSE_C_PREFIX,
  SseIntegrityError,
  TAG_SIZE,
  chunkCount,
  createDecryptStream,
  deriveDataKey,
  encryptedSize,
  fullStoredRange,
  keyFingerprint,
  keyMatches,
  newObjectEncryption,
  openObjectEncryption,
  parseSseCustomerHeaders,
  parseSseRecord,
  plainSizeFromEncrypted,
  recordKeyMatches,
  rejectSseCombination,
  serializeSseRecord,
  sseErrors,
  sseResponseHeaders,
  storedRangeFor,
  verifyKey,
  type DecryptRange,
  type HeaderBag,
  type SseCustomerKey,
} from '../../src/crypto/sse-c.ts';
import { ChunkSealer } from '../../src/crypto/sse-c-seal.mjs';
import { S3Error } from '../../src/errors.ts';

const C = CHUNK_SIZE;

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function md5b64(b: Buffer): string {
  return createHash('md5').update(b).digest('base64');
}

function sseHeaders(key: Buffer, prefix = SSE_C_PREFIX, md5 = md5b64(key), algorithm = 'AES256'): HeaderBag {
  return {
    [`${prefix}algorithm`]: algorithm,
    [`${prefix}key`]: key.toString('base64'),
    [`${prefix}key-md5`]: md5,
  };
}

function customer(key = randomBytes(32)): SseCustomerKey {
  return { key, keyMd5: md5b64(key) };
}

/** Split `data` into pieces: a fixed size, or pseudo-random sizes from a seed. */
function pieces(data: Buffer, size: number | 'random' = 'random', seed = 1): Buffer[] {
  const out: Buffer[] = [];
  let s = seed;
  for (let off = 0; off < data.length; ) {
    let n: number;
    if (size === 'random') {
      s = (s * 1103515245 + 12345) >>> 0;
      n = 1 + (s % (3 * C));
    } else n = size;
    out.push(data.subarray(off, off + n));
    off += n;
  }
  return out;
}

async function run(t: Transform, input: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  t.on('data', (b: Buffer) => out.push(b));
  await pipeline(Readable.from(input, { objectMode: false }), t);
  return Buffer.concat(out);
}

/** Seal `plain`, given to the sealer in pieces, into the stored format (as the blob writers do). */
async function encrypt(dataKey: Buffer, plain: Buffer, size: number | 'random' = 'random'): Promise<Buffer> {
  const out: Buffer[] = [];
  const sealer = new ChunkSealer(dataKey);
  for (const piece of pieces(plain, size)) sealer.write(piece, (stored) => out.push(Buffer.from(stored)));
  sealer.end((stored) => out.push(Buffer.from(stored)));
  return Buffer.concat(out);
}

/** Decrypt; resolves with the output, or rejects with the error and what was emitted before it. */
async function decrypt(
  dataKey: Buffer,
  stored: Buffer,
  opts: DecryptRange,
  size: number | 'random' = 'random',
): Promise<Buffer> {
  const t = createDecryptStream(dataKey, opts);
  const out: Buffer[] = [];
  t.on('data', (b: Buffer) => out.push(b));
  try {
    await pipeline(Readable.from(pieces(stored, size), { objectMode: false }), t);
  } catch (err) {
    (err as { emitted?: Buffer }).emitted = Buffer.concat(out);
    throw err;
  }
  return Buffer.concat(out);
}

async function decryptRange(dataKey: Buffer, stored: Buffer, start: number, end: number, plainSize: number) {
  const r = storedRangeFor(start, end, plainSize);
  return decrypt(dataKey, stored.subarray(r.storedStart, r.storedEnd + 1), r);
}

function expectS3Error(fn: () => unknown, code: string, status: number, message?: string, details?: Record<string, string>) {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(S3Error);
  const e = caught as S3Error;
  expect(e.code).toBe(code);
  expect(e.status).toBe(status);
  if (message !== undefined) expect(e.message).toBe(message);
  if (details !== undefined) expect(e.details).toEqual(details);
  return e;
}

const AN = { ArgumentName: 'x-amz-server-side-encryption' };
const MSG = {
  algorithm:
    'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.',
  key: 'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.',
  md5: 'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key md5.',
  mismatch: 'The calculated MD5 hash of the key did not match the hash that was provided.',
  badKey: 'The secret key was invalid for the specified algorithm.',
  wrongKey:
    'Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.',
  incompatible:
    'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
};

// ---------------------------------------------------------------------------------------------
// headers
// ---------------------------------------------------------------------------------------------

describe('parseSseCustomerHeaders', () => {
  const key = randomBytes(32);
  const P = SSE_C_PREFIX;

  it('returns undefined without SSE-C headers (empty values count as absent)', () => {
    expect(parseSseCustomerHeaders({ host: 'x' }, P)).toBeUndefined();
    expect(parseSseCustomerHeaders({ [`${P}algorithm`]: '', [`${P}key`]: '', [`${P}key-md5`]: '' }, P)).toBeUndefined();
    // the copy-source prefix does not see the plain headers, nor the reverse
    expect(parseSseCustomerHeaders(sseHeaders(key), SSE_C_COPY_SOURCE_PREFIX)).toBeUndefined();
    expect(parseSseCustomerHeaders(sseHeaders(key, SSE_C_COPY_SOURCE_PREFIX), P)).toBeUndefined();
  });

  it('accepts a valid key, for both prefixes, and case-insensitive names', () => {
    for (const prefix of [SSE_C_PREFIX, SSE_C_COPY_SOURCE_PREFIX]) {
      const r = parseSseCustomerHeaders(sseHeaders(key, prefix), prefix)!;
      expect(r.key.equals(key)).toBe(true);
      expect(r.keyMd5).toBe(md5b64(key));
    }
    const mixed = {
      'X-Amz-Server-Side-Encryption-Customer-Algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-MD5': md5b64(key),
    };
    expect(parseSseCustomerHeaders(mixed, P)!.key.equals(key)).toBe(true);
    expect(sseResponseHeaders({ keyMd5: md5b64(key) })).toEqual({
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key-MD5': md5b64(key),
    });
  });

  it('key or MD5 without algorithm → 400 InvalidArgument (valid encryption algorithm)', () => {
    const h = sseHeaders(key);
    delete h[`${P}algorithm`];
    expectS3Error(() => parseSseCustomerHeaders(h, P), 'InvalidArgument', 400, MSG.algorithm, AN);
    expectS3Error(() => parseSseCustomerHeaders({ [`${P}key-md5`]: md5b64(key) }, P), 'InvalidArgument', 400, MSG.algorithm, AN);
    expectS3Error(() => parseSseCustomerHeaders({ [`${P}key`]: key.toString('base64') }, P), 'InvalidArgument', 400, MSG.algorithm, AN);
  });

  it('algorithm other than AES256 → 400 InvalidEncryptionAlgorithmError with ArgumentValue', () => {
    for (const alg of ['KMS', 'aes256', 'AES128', 'AES256 ']) {
      expectS3Error(
        () => parseSseCustomerHeaders(sseHeaders(key, P, md5b64(key), alg), P),
        'InvalidEncryptionAlgorithmError',
        400,
        'The Encryption request you specified is not valid. Supported value: AES256.',
        { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: alg },
      );
    }
    // same for the copy-source headers (AWS names the same argument)
    expectS3Error(
      () => parseSseCustomerHeaders(sseHeaders(key, SSE_C_COPY_SOURCE_PREFIX, md5b64(key), 'KMS'), SSE_C_COPY_SOURCE_PREFIX),
      'InvalidEncryptionAlgorithmError',
      400,
      undefined,
      { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: 'KMS' },
    );
  });

  it('algorithm without key, or a key that is not base64 → InvalidArgument (appropriate secret key)', () => {
    expectS3Error(() => parseSseCustomerHeaders({ [`${P}algorithm`]: 'AES256' }, P), 'InvalidArgument', 400, MSG.key, AN);
    expectS3Error(
      () => parseSseCustomerHeaders({ [`${P}algorithm`]: 'AES256', [`${P}key-md5`]: md5b64(key) }, P),
      'InvalidArgument',
      400,
      MSG.key,
      AN,
    );
    for (const bad of ['!!!!', 'abc', key.toString('base64url'), `${key.toString('base64')}x`]) {
      const h = { ...sseHeaders(key), [`${P}key`]: bad };
      expectS3Error(() => parseSseCustomerHeaders(h, P), 'InvalidArgument', 400, MSG.key, AN);
    }
  });

  it('MD5 missing → InvalidArgument (appropriate secret key md5)', () => {
    const h = sseHeaders(key);
    delete h[`${P}key-md5`];
    expectS3Error(() => parseSseCustomerHeaders(h, P), 'InvalidArgument', 400, MSG.md5, AN);
  });

  it('MD5 not matching (or malformed) → InvalidArgument (calculated MD5 … did not match)', () => {
    const other = randomBytes(32);
    for (const md5 of [md5b64(other), 'not-base64!', Buffer.alloc(15).toString('base64')]) {
      expectS3Error(() => parseSseCustomerHeaders(sseHeaders(key, P, md5), P), 'InvalidArgument', 400, MSG.mismatch, AN);
    }
  });

  it('MD5 is checked before the key length', () => {
    const short = randomBytes(10);
    expectS3Error(
      () => parseSseCustomerHeaders(sseHeaders(short, P, md5b64(randomBytes(10))), P),
      'InvalidArgument',
      400,
      MSG.mismatch,
    );
    for (const k of [randomBytes(10), randomBytes(31), randomBytes(33), randomBytes(44)]) {
      expectS3Error(() => parseSseCustomerHeaders(sseHeaders(k), P), 'InvalidArgument', 400, MSG.badKey, AN);
    }
  });

  it("read mode lets a wrong-length key through, to be refused as a wrong key (403) like AWS's GET", () => {
    const k44 = randomBytes(44);
    const parsed = parseSseCustomerHeaders(sseHeaders(k44), P, 'read')!;
    expect(parsed.key.length).toBe(44);
    const enc = newObjectEncryption(customer());
    expectS3Error(() => openObjectEncryption(parsed, enc.record), 'AccessDenied', 403, MSG.wrongKey);
  });

  it('a repeated header (string[]) is rejected, not silently picked', () => {
    const h = { ...sseHeaders(key), [`${P}key`]: [key.toString('base64'), key.toString('base64')] };
    expectS3Error(() => parseSseCustomerHeaders(h, P), 'InvalidArgument', 400, MSG.key);
  });

  it('rejectSseCombination: SSE-C with x-amz-server-side-encryption → InvalidArgument', () => {
    const h = { ...sseHeaders(key, P, md5b64(key), 'KMS'), 'x-amz-server-side-encryption': 'AES256' };
    expectS3Error(() => rejectSseCombination(h), 'InvalidArgument', 400, MSG.incompatible, {
      ArgumentName: 'x-amz-server-side-encryption',
      ArgumentValue: 'AES256',
    });
    expect(() => rejectSseCombination(sseHeaders(key))).not.toThrow();
    expect(() => rejectSseCombination({ 'x-amz-server-side-encryption': 'AES256' })).not.toThrow();
    // copy source SSE-C plus SSE-S3 on the destination is a legal combination
    expect(() =>
      rejectSseCombination({ ...sseHeaders(key, SSE_C_COPY_SOURCE_PREFIX), 'x-amz-server-side-encryption': 'AES256' }),
    ).not.toThrow();
  });

  it('the other SSE-C errors carry AWS codes and texts', () => {
    expect(sseErrors.wrongKey()).toMatchObject({ code: 'AccessDenied', status: 403, message: MSG.wrongKey });
    expect(sseErrors.keyRequired()).toMatchObject({ code: 'InvalidRequest', status: 400 });
    expect(sseErrors.notApplicable().message).toBe('The encryption parameters are not applicable to this object.');
    expect(sseErrors.uploadKeyMismatch().message).toBe(
      'The provided encryption parameters did not match the ones used originally.',
    );
    expect(sseErrors.uploadKeyRequired().code).toBe('InvalidRequest');
    expect(sseErrors.insecureTransport().code).toBe('InvalidRequest');
  });
});

// ---------------------------------------------------------------------------------------------
// key check and record
// ---------------------------------------------------------------------------------------------

describe('key verification and SseRecord', () => {
  it('wrong key → 403 AccessDenied; right key → data key', () => {
    const c = customer();
    const enc = newObjectEncryption(c);
    expect(openObjectEncryption(c, enc.record).equals(enc.dataKey)).toBe(true);
    expect(openObjectEncryption(c.key, enc.record).equals(enc.dataKey)).toBe(true);
    expectS3Error(() => openObjectEncryption(customer(), enc.record), 'AccessDenied', 403, MSG.wrongKey);
    const salt = Buffer.from(enc.record.salt, 'base64');
    const fp = Buffer.from(enc.record.fingerprint, 'base64');
    expect(() => verifyKey(c.key, salt, fp)).not.toThrow();
    expectS3Error(() => verifyKey(randomBytes(32), salt, fp), 'AccessDenied', 403, MSG.wrongKey);
    expect(keyMatches(c.key, salt, fp)).toBe(true);
    expect(keyMatches(Buffer.alloc(16), salt, fp)).toBe(false);
    expect(recordKeyMatches(c, enc.record)).toBe(true);
    expect(recordKeyMatches(customer(), enc.record)).toBe(false);
  });

  it('fresh salt and data key per object; the record holds neither the key nor the data key', () => {
    const c = customer();
    const a = newObjectEncryption(c);
    const b = newObjectEncryption(c);
    expect(a.record.salt).not.toBe(b.record.salt);
    expect(a.dataKey.equals(b.dataKey)).toBe(false);
    const salt = Buffer.from(a.record.salt, 'base64');
    expect(salt.length).toBe(16);
    expect(keyFingerprint(c.key, salt).equals(Buffer.from(a.record.fingerprint, 'base64'))).toBe(true);
    const fp = Buffer.from(a.record.fingerprint, 'base64');
    expect(fp.equals(a.dataKey)).toBe(false);
    // The stored check value must not be HKDF's PRK (= HMAC(salt, key)), from which the data key follows.
    expect(fp.equals(createHmac('sha256', salt).update(c.key).digest())).toBe(false);
    const json = serializeSseRecord(a.record);
    for (const secret of [c.key, a.dataKey]) {
      expect(json.includes(secret.toString('base64'))).toBe(false);
      expect(json.includes(secret.toString('hex'))).toBe(false);
    }
  });

  it('record round-trips through JSON and rejects malformed input', () => {
    const { record } = newObjectEncryption(customer());
    const json = serializeSseRecord(record);
    expect(JSON.parse(json)).toEqual({ v: 1, algorithm: 'AES256', keyMd5: record.keyMd5, salt: record.salt, fingerprint: record.fingerprint });
    expect(parseSseRecord(json)).toEqual(record);
    const bad = [
      'nope',
      'null',
      JSON.stringify({ ...record, v: 2 }),
      JSON.stringify({ ...record, algorithm: 'aws:kms' }),
      JSON.stringify({ ...record, salt: 'AAAA' }),
      JSON.stringify({ ...record, fingerprint: undefined }),
      JSON.stringify({ ...record, keyMd5: '***' }),
    ];
    for (const b of bad) expect(() => parseSseRecord(b)).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// format
// ---------------------------------------------------------------------------------------------

describe('sizes', () => {
  it('encryptedSize / plainSizeFromEncrypted / chunkCount', () => {
    expect(encryptedSize(0)).toBe(TAG_SIZE);
    expect(encryptedSize(1)).toBe(1 + TAG_SIZE);
    expect(encryptedSize(C)).toBe(C + TAG_SIZE);
    expect(encryptedSize(C + 1)).toBe(C + 1 + 2 * TAG_SIZE);
    expect(chunkCount(0)).toBe(1);
    expect(chunkCount(C)).toBe(1);
    expect(chunkCount(C + 1)).toBe(2);
    // 5 TiB (S3 maximum object size) stays exact
    const big = 5 * 2 ** 40;
    expect(plainSizeFromEncrypted(encryptedSize(big))).toBe(big);
    for (const n of [0, 1, 15, 16, C - 1, C, C + 1, 2 * C, 2 * C + 5, 10 * C + 12345]) {
      expect(plainSizeFromEncrypted(encryptedSize(n))).toBe(n);
    }
    for (const bad of [0, 1, 15, STORED_CHUNK_SIZE + 1, STORED_CHUNK_SIZE + 16, -1, 1.5]) {
      expect(() => plainSizeFromEncrypted(bad)).toThrow(RangeError);
    }
  });
});

describe('encrypt/decrypt round trip', () => {
  const sizes = [0, 1, C - 1, C, C + 1, 2 * C, 3 * 1024 * 1024 + 12345];
  for (const size of sizes) {
    it(`size ${size}`, async () => {
      const { dataKey } = newObjectEncryption(customer());
      const plain = randomBytes(size);
      for (const piece of ['random', C, 1 << 20, 4093] as const) {
        const stored = await encrypt(dataKey, plain, piece);
        expect(stored.length).toBe(encryptedSize(size));
        for (const dpiece of ['random', STORED_CHUNK_SIZE, 1 << 20] as const) {
          const out = await decrypt(dataKey, stored, fullStoredRange(size), dpiece);
          expect(out.equals(plain)).toBe(true);
        }
      }
    });
  }

  it('tiny writes (7 bytes at a time)', async () => {
    const { dataKey } = newObjectEncryption(customer());
    const plain = randomBytes(C + 100);
    const stored = await encrypt(dataKey, plain, 7);
    expect((await decrypt(dataKey, stored, fullStoredRange(plain.length), 7)).equals(plain)).toBe(true);
  });

  it('matches an independent implementation of the documented format (and a pinned digest)', async () => {
    const key = Buffer.alloc(32, 0x11);
    const salt = Buffer.alloc(16, 0x22);
    const plain = Buffer.alloc(2 * C + 1000);
    for (let i = 0; i < plain.length; i++) plain[i] = (i * 7 + 3) & 0xff;
    const dataKey = deriveDataKey(key, salt);
    expect(dataKey.equals(Buffer.from(hkdfSync('sha256', key, salt, 'strata sse-c v1', 32)))).toBe(true);
    const stored = await encrypt(dataKey, plain);

    const parts: Buffer[] = [];
    const n = Math.max(1, Math.ceil(plain.length / C));
    for (let i = 0; i < n; i++) {
      const iv = Buffer.concat([Buffer.alloc(4), Buffer.alloc(8)]);
      iv.writeBigUInt64BE(BigInt(i), 4);
      const aad = Buffer.alloc(9);
      aad.writeBigUInt64BE(BigInt(i), 0);
      aad[8] = i === n - 1 ? 1 : 0;
      const c = createCipheriv('aes-256-gcm', dataKey, iv);
      c.setAAD(aad);
      parts.push(c.update(plain.subarray(i * C, (i + 1) * C)), c.final(), c.getAuthTag());
    }
    expect(stored.equals(Buffer.concat(parts))).toBe(true);
    const fp = keyFingerprint(key, salt);
    expect(fp.equals(Buffer.from(hkdfSync('sha256', key, salt, 'strata sse-c v1 key check', 32)))).toBe(true);
    // Pinned: if this changes, existing data can no longer be read. Bump the format version instead.
    expect(createHash('sha256').update(stored).digest('hex')).toBe(PINNED_DIGEST);
    expect(fp.toString('hex')).toBe(PINNED_FINGERPRINT);
  });

  it('ciphertext never contains the plaintext', async () => {
    const c = customer();
    const enc = newObjectEncryption(c);
    const marker = Buffer.from('STRATA-PLAINTEXT-MARKER-32-BYTES');
    expect(marker.length).toBe(32);
    const plain = randomBytes(4 * C);
    // at the start, across every chunk boundary, and at the end
    for (const at of [0, C - 16, 2 * C - 1, 3 * C - 31, 4 * C - 32]) marker.copy(plain, at);
    const stored = await encrypt(enc.dataKey, plain);
    expect(stored.includes(marker)).toBe(false);
    expect(stored.includes(marker.subarray(0, 16))).toBe(false);
    expect(stored.includes(c.key)).toBe(false);
    expect(stored.includes(enc.dataKey)).toBe(false);
    // an all-zero plaintext does not come out as zeros either
    const zeros = await encrypt(enc.dataKey, Buffer.alloc(C));
    expect(zeros.includes(Buffer.alloc(32))).toBe(false);
  });

  it('multipart: each part has its own record and decrypts only with its own parameters', async () => {
    const c = customer();
    const p1 = newObjectEncryption(c);
    const p2 = newObjectEncryption(c);
    const a = randomBytes(C + 10);
    const b = randomBytes(C + 10);
    const sa = await encrypt(p1.dataKey, a);
    const sb = await encrypt(p2.dataKey, b);
    const k1 = openObjectEncryption(c, parseSseRecord(serializeSseRecord(p1.record)));
    const k2 = openObjectEncryption(c, parseSseRecord(serializeSseRecord(p2.record)));
    expect((await decrypt(k1, sa, fullStoredRange(a.length))).equals(a)).toBe(true);
    expect((await decrypt(k2, sb, fullStoredRange(b.length))).equals(b)).toBe(true);
    // part 2's bytes under part 1's record: rejected
    await expect(decrypt(k1, sb, fullStoredRange(b.length))).rejects.toBeInstanceOf(SseIntegrityError);
  });
});

describe('ranges', () => {
  const sizes = [1, 100, C - 1, C, C + 1, 3 * C + 17];

  function points(size: number): number[] {
    const s = new Set<number>([0, 1, size - 2, size - 1]);
    for (let k = 1; k * C <= size + 1; k++) for (const d of [-2, -1, 0, 1]) s.add(k * C + d);
    return [...s].filter((p) => p >= 0 && p < size).sort((x, y) => x - y);
  }

  for (const size of sizes) {
    it(`every boundary range of a ${size}-byte object, reading only storedRangeFor's bytes`, async () => {
      const { dataKey } = newObjectEncryption(customer());
      const plain = randomBytes(size);
      const stored = await encrypt(dataKey, plain);
      const pts = points(size);
      let checked = 0;
      for (const start of pts) {
        for (const end of pts) {
          if (end < start) continue;
          const r = storedRangeFor(start, end, size);
          expect(r.storedStart % STORED_CHUNK_SIZE).toBe(0);
          expect(r.storedEnd).toBeLessThan(stored.length);
          expect(r.storedEnd - r.storedStart + 1).toBeLessThanOrEqual(
            (Math.floor(end / C) - Math.floor(start / C) + 1) * STORED_CHUNK_SIZE,
          );
          const out = await decrypt(dataKey, stored.subarray(r.storedStart, r.storedEnd + 1), r);
          expect(out.equals(plain.subarray(start, end + 1))).toBe(true);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it('suffix ranges (bytes=-n) and open ranges (bytes=n-)', async () => {
    const size = 3 * C + 17;
    const { dataKey } = newObjectEncryption(customer());
    const plain = randomBytes(size);
    const stored = await encrypt(dataKey, plain);
    for (const n of [1, 16, 17, 18, C, C + 17, C + 18, size - 1, size, size + 1000]) {
      const start = Math.max(0, size - n); // bytes=-n
      const out = await decryptRange(dataKey, stored, start, size - 1, size);
      expect(out.equals(plain.subarray(start))).toBe(true);
    }
    for (const start of [0, C - 1, C, 2 * C + 5, size - 1]) {
      const out = await decryptRange(dataKey, stored, start, size - 1, size); // bytes=start-
      expect(out.equals(plain.subarray(start))).toBe(true);
    }
  });

  it('random ranges of a several-MB object', async () => {
    const size = 5 * 1024 * 1024 + 333;
    const { dataKey } = newObjectEncryption(customer());
    const plain = randomBytes(size);
    const stored = await encrypt(dataKey, plain);
    for (let i = 0; i < 40; i++) {
      const a = Math.floor(Math.random() * size);
      const b = Math.floor(Math.random() * size);
      const [start, end] = a <= b ? [a, b] : [b, a];
      expect((await decryptRange(dataKey, stored, start, end, size)).equals(plain.subarray(start, end + 1))).toBe(true);
    }
  });

  it('rejects invalid ranges and stored input that does not match the range', async () => {
    expect(() => storedRangeFor(5, 4, 10)).toThrow(RangeError);
    expect(() => storedRangeFor(0, 10, 10)).toThrow(RangeError);
    expect(() => storedRangeFor(-1, 3, 10)).toThrow(RangeError);
    expect(() => storedRangeFor(0, 0, 0)).toThrow(RangeError);
    expect(fullStoredRange(0)).toMatchObject({ storedStart: 0, storedEnd: TAG_SIZE - 1, takeBytes: 0 });

    const size = 2 * C + 10;
    const { dataKey } = newObjectEncryption(customer());
    const stored = await encrypt(dataKey, randomBytes(size));
    const r = storedRangeFor(10, C + 10, size); // chunks 0-1 of 3
    const slice = stored.subarray(r.storedStart, r.storedEnd + 1);
    await expect(decrypt(dataKey, slice.subarray(0, slice.length - 1), r)).rejects.toBeInstanceOf(SseIntegrityError);
    await expect(decrypt(dataKey, stored.subarray(r.storedStart, r.storedEnd + 2), r)).rejects.toBeInstanceOf(
      SseIntegrityError,
    );
    expect(() => createDecryptStream(dataKey, { ...r, totalChunks: 1 })).toThrow(RangeError);
    expect(() => createDecryptStream(Buffer.alloc(16), r)).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// tampering
// ---------------------------------------------------------------------------------------------

describe('tampering', () => {
  const size = 3 * C + 100; // 4 chunks, the last one short
  async function setup() {
    const c = customer();
    const enc = newObjectEncryption(c);
    const plain = randomBytes(size);
    const stored = await encrypt(enc.dataKey, plain);
    return { c, enc, plain, stored };
  }

  it('a flipped bit in any chunk (ciphertext or tag) errors, releasing nothing of that chunk', async () => {
    const { enc, plain, stored } = await setup();
    const n = chunkCount(size);
    for (let i = 0; i < n; i++) {
      const chunkStart = i * STORED_CHUNK_SIZE;
      const chunkEnd = Math.min(chunkStart + STORED_CHUNK_SIZE, stored.length);
      for (const pos of [chunkStart, chunkStart + 1234 % (chunkEnd - chunkStart - TAG_SIZE), chunkEnd - TAG_SIZE - 1, chunkEnd - 1]) {
        const bad = Buffer.from(stored);
        bad[pos]! ^= 0x01;
        const err = await decrypt(enc.dataKey, bad, fullStoredRange(size)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SseIntegrityError);
        const emitted = (err as { emitted: Buffer }).emitted;
        expect(emitted.length).toBeLessThanOrEqual(i * C);
        expect(emitted.equals(plain.subarray(0, emitted.length))).toBe(true);
      }
    }
  });

  it('truncation: dropping the last chunk, or bytes of it, errors', async () => {
    const { enc, stored } = await setup();
    const full = fullStoredRange(size);
    const withoutLast = stored.subarray(0, 3 * STORED_CHUNK_SIZE);
    // the metadata still says 4 chunks
    await expect(decrypt(enc.dataKey, withoutLast, full)).rejects.toBeInstanceOf(SseIntegrityError);
    // even if the reader trusted the truncated blob's own size, chunk 2 is not authenticated as last
    const trusted = plainSizeFromEncrypted(withoutLast.length);
    await expect(decrypt(enc.dataKey, withoutLast, fullStoredRange(trusted))).rejects.toBeInstanceOf(SseIntegrityError);
    for (const cut of [1, TAG_SIZE, TAG_SIZE + 1, 50]) {
      await expect(decrypt(enc.dataKey, stored.subarray(0, stored.length - cut), full)).rejects.toBeInstanceOf(
        SseIntegrityError,
      );
    }
    // a one-chunk object cut to nothing
    const one = await encrypt(enc.dataKey, randomBytes(10));
    await expect(decrypt(enc.dataKey, Buffer.alloc(0), fullStoredRange(10))).rejects.toBeInstanceOf(SseIntegrityError);
    await expect(decrypt(enc.dataKey, one.subarray(0, 15), fullStoredRange(10))).rejects.toBeInstanceOf(SseIntegrityError);
    // and an empty object's lone tag must verify
    const empty = await encrypt(enc.dataKey, Buffer.alloc(0));
    expect(empty.length).toBe(TAG_SIZE);
    expect((await decrypt(enc.dataKey, empty, fullStoredRange(0))).length).toBe(0);
    const badEmpty = Buffer.from(empty);
    badEmpty[0]! ^= 0x80;
    await expect(decrypt(enc.dataKey, badEmpty, fullStoredRange(0))).rejects.toBeInstanceOf(SseIntegrityError);
  });

  it('swapped, duplicated or foreign chunks error', async () => {
    const { c, enc, stored } = await setup();
    const chunk = (s: Buffer, i: number) => s.subarray(i * STORED_CHUNK_SIZE, (i + 1) * STORED_CHUNK_SIZE);
    const swapped = Buffer.concat([chunk(stored, 1), chunk(stored, 0), stored.subarray(2 * STORED_CHUNK_SIZE)]);
    await expect(decrypt(enc.dataKey, swapped, fullStoredRange(size))).rejects.toBeInstanceOf(SseIntegrityError);
    const duplicated = Buffer.concat([chunk(stored, 0), chunk(stored, 0), stored.subarray(2 * STORED_CHUNK_SIZE)]);
    await expect(decrypt(enc.dataKey, duplicated, fullStoredRange(size))).rejects.toBeInstanceOf(SseIntegrityError);
    // chunk 1 of another object encrypted with the same customer key
    const other = newObjectEncryption(c);
    const otherStored = await encrypt(other.dataKey, randomBytes(size));
    const spliced = Buffer.concat([chunk(stored, 0), chunk(otherStored, 1), stored.subarray(2 * STORED_CHUNK_SIZE)]);
    await expect(decrypt(enc.dataKey, spliced, fullStoredRange(size))).rejects.toBeInstanceOf(SseIntegrityError);
    // a range read starting at a chunk that is not where the range says it is
    const r = storedRangeFor(C + 5, C + 10, size);
    await expect(decrypt(enc.dataKey, chunk(stored, 2), r)).rejects.toBeInstanceOf(SseIntegrityError);
  });

  it('a wrong key is refused before any decryption, and a wrong data key cannot decrypt', async () => {
    const { enc, stored } = await setup();
    expectS3Error(() => openObjectEncryption(customer(), enc.record), 'AccessDenied', 403, MSG.wrongKey);
    await expect(decrypt(randomBytes(32), stored, fullStoredRange(size))).rejects.toBeInstanceOf(SseIntegrityError);
  });
});

// Pinned outputs of the fixed-input test above (format v1). DO NOT UPDATE these to make a test
// pass: a different value means data already written could no longer be read.
const PINNED_DIGEST = '2ba916dcb33f9206979204858e7dd69f0c149c2d1d768267371fcc3a9b315523';
const PINNED_FINGERPRINT = 'fd777611cf5ae45190e556bd171b049fed7f08f1ed3343457bae6391e43c4073';
