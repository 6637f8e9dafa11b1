import { describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Error } from '../../src/errors.ts';
import { createPayloadDecoder, MAX_LINE, type PayloadDecoder } from '../../src/auth/payload.ts';
import { authenticate, deriveSigningKey, type PayloadMode } from '../../src/auth/sigv4.ts';
import { EMPTY_SHA256, S3_DOC_SECRET, capturingClient } from './auth-helpers.ts';

type Headers = Record<string, string>;

/** Run a decoder over the given pieces; resolves with the output and the trailers. */
async function decode(mode: PayloadMode, headers: Headers, pieces: Buffer[]): Promise<{ body: Buffer; trailers: Record<string, string>; decoder: PayloadDecoder }> {
  const decoder = createPayloadDecoder(mode, headers);
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder.stream, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c);
  });
  return { body: Buffer.concat(out), trailers: await decoder.trailers, decoder };
}

async function decodeError(mode: PayloadMode, headers: Headers, pieces: Buffer[]): Promise<S3Error> {
  const decoder = createPayloadDecoder(mode, headers);
  let caught: unknown;
  try {
    await pipeline(Readable.from(pieces), decoder.stream, async (source: AsyncIterable<Buffer>) => {
      for await (const _ of source) { /* drain */ }
    });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(S3Error);
  // the trailers promise rejects with the same error
  await expect(decoder.trailers).rejects.toBe(caught);
  return caught as S3Error;
}

/** Split a buffer into pieces of the given sizes (cycled). */
function split(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0, i = 0; pos < buf.length; i++) {
    const n = sizes[i % sizes.length];
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

const splits: Array<[string, number[]]> = [
  ['whole', [1 << 30]],
  ['4 KiB pieces', [4096]],
  ['odd pieces', [1, 2, 3, 5, 7, 11, 13, 1000, 65536, 17]],
];

// --- the AWS documentation examples (sigv4-streaming, sigv4-streaming-trailers) ---------------

const docKey = deriveSigningKey(S3_DOC_SECRET, '20130524', 'us-east-1');
const docMode = (seedSignature: string, trailer: boolean): PayloadMode => ({
  kind: 'streaming-signed', trailer, seedSignature, signingKey: docKey, amzDate: '20130524T000000Z', scope: '20130524/us-east-1/s3/aws4_request',
});
const docData = Buffer.alloc(66560, 'a');
const docBody = Buffer.concat([
  Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
  docData.subarray(0, 65536),
  Buffer.from('\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'),
  docData.subarray(65536),
  Buffer.from('\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
]);
const docHeaders = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '66560' };
const seed = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';

const trailerSeed = '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e';
const trailerChunks = (final: string, trailer: string) => Buffer.concat([
  Buffer.from('10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n'),
  docData.subarray(0, 65536),
  Buffer.from('\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n'),
  docData.subarray(65536),
  Buffer.from(`\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n${final}`),
  Buffer.from(trailer),
]);
const docTrailer = 'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n';
const trailerHeaders = { ...docHeaders, 'x-amz-trailer': 'x-amz-checksum-crc32c' };

describe('aws-chunked, signed (AWS sigv4-streaming example)', () => {
  for (const [name, sizes] of splits) {
    it(`decodes the 64 KiB + 1 KiB example (${name})`, async () => {
      const { body, trailers, decoder } = await decode(docMode(seed, false), docHeaders, split(docBody, sizes));
      expect(body.equals(docData)).toBe(true);
      expect(trailers).toEqual({});
      expect(decoder.decodedLength).toBe(66560);
    });
  }

  it('decodes byte by byte', async () => {
    const { body } = await decode(docMode(seed, false), docHeaders, split(docBody, [1]));
    expect(body.equals(docData)).toBe(true);
  });

  it('a wrong seed signature fails the first chunk → SignatureDoesNotMatch', async () => {
    const e = await decodeError(docMode('0'.repeat(64), false), docHeaders, [docBody]);
    expect([e.code, e.status]).toEqual(['SignatureDoesNotMatch', 403]);
  });

  it('a wrong chunk signature → SignatureDoesNotMatch', async () => {
    const bad = Buffer.from(docBody);
    const at = bad.indexOf('400;chunk-signature=') + '400;chunk-signature='.length;
    bad[at] = bad[at] === 0x30 ? 0x31 : 0x30;
    expect((await decodeError(docMode(seed, false), docHeaders, split(bad, [4096]))).code).toBe('SignatureDoesNotMatch');
  });

  it('tampered chunk data → SignatureDoesNotMatch', async () => {
    const bad = Buffer.from(docBody);
    bad[100] = 0x62;
    expect((await decodeError(docMode(seed, false), docHeaders, [bad])).code).toBe('SignatureDoesNotMatch');
  });

  it('a missing chunk-signature in signed mode → SignatureDoesNotMatch', async () => {
    const body = Buffer.concat([Buffer.from('5\r\nhello\r\n0\r\n\r\n')]);
    expect((await decodeError(docMode(seed, false), {}, [body])).code).toBe('SignatureDoesNotMatch');
  });

  it('truncated bodies → IncompleteBody', async () => {
    for (const cut of [0, 10, 90, 40000, docBody.length - 90, docBody.length - 86]) {
      const e = await decodeError(docMode(seed, false), docHeaders, [docBody.subarray(0, cut)].filter((b) => b.length > 0));
      expect([cut, e.code, e.status]).toEqual([cut, 'IncompleteBody', 400]);
    }
  });

  it('the final CRLF is optional', async () => {
    const { body } = await decode(docMode(seed, false), docHeaders, [docBody.subarray(0, docBody.length - 2)]);
    expect(body.length).toBe(66560);
  });

  it('x-amz-decoded-content-length mismatch → IncompleteBody', async () => {
    for (const declared of ['66559', '66561', '0']) {
      const e = await decodeError(docMode(seed, false), { ...docHeaders, 'x-amz-decoded-content-length': declared }, [docBody]);
      expect(e.code).toBe('IncompleteBody');
    }
  });

  it('an unparsable x-amz-decoded-content-length is refused up front', () => {
    expect(() => createPayloadDecoder(docMode(seed, false), { 'x-amz-decoded-content-length': '12x' })).toThrow(S3Error);
  });

  it('data after the end → InvalidArgument', async () => {
    const e = await decodeError(docMode(seed, false), docHeaders, [docBody, Buffer.from('garbage')]);
    expect([e.code, e.status]).toEqual(['InvalidArgument', 400]);
  });
});

describe('aws-chunked, signed with trailer (AWS sigv4-streaming-trailers example)', () => {
  for (const [framing, final, end] of [['as documented (blank line before trailers)', '\r\n', ''], ['as SDKs send it', '', '\r\n']]) {
    for (const [name, sizes] of splits) {
      it(`verifies chunks and trailer signature, ${framing}, ${name}`, async () => {
        const { body, trailers } = await decode(docMode(trailerSeed, true), trailerHeaders, split(trailerChunks(final, docTrailer + end), sizes));
        expect(body.equals(docData)).toBe(true);
        expect(trailers).toEqual({ 'x-amz-checksum-crc32c': 'sOO8/Q==' });
      });
    }
  }

  it('a wrong trailer value or trailer signature → SignatureDoesNotMatch', async () => {
    const badValue = docTrailer.replace('sOO8/Q==', 'AAAAAA==');
    expect((await decodeError(docMode(trailerSeed, true), trailerHeaders, [trailerChunks('', badValue + '\r\n')])).code).toBe('SignatureDoesNotMatch');
    const badSig = docTrailer.replace('d81f82fc', 'd81f82fd');
    expect((await decodeError(docMode(trailerSeed, true), trailerHeaders, [trailerChunks('', badSig + '\r\n')])).code).toBe('SignatureDoesNotMatch');
  });

  it('trailers without x-amz-trailer-signature → SignatureDoesNotMatch', async () => {
    const e = await decodeError(docMode(trailerSeed, true), trailerHeaders, [trailerChunks('', 'x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n')]);
    expect(e.code).toBe('SignatureDoesNotMatch');
  });

  it('a malformed trailer line → InvalidArgument', async () => {
    const e = await decodeError(docMode(trailerSeed, true), trailerHeaders, [trailerChunks('', 'no colon here\r\n\r\n')]);
    expect(e.code).toBe('InvalidArgument');
  });

  it('trailers in a non-trailer body → InvalidArgument', async () => {
    const body = Buffer.concat([docBody.subarray(0, docBody.length - 2), Buffer.from('x-amz-checksum-crc32:AAAAAA==\r\n\r\n')]);
    expect((await decodeError(docMode(seed, false), docHeaders, [body])).code).toBe('InvalidArgument');
  });
});

// --- a signed stream built here (any sizes, signed trailer with several headers) ----------------

function signedStream(data: Buffer, chunkSize: number, opts: { trailers?: Record<string, string>; key?: Buffer; seedSig?: string } = {}) {
  const key = opts.key ?? deriveSigningKey('secret', '20250301', 'default');
  const amzDate = '20250301T120000Z';
  const scope = '20250301/default/s3/aws4_request';
  const seedSig = opts.seedSig ?? 'f'.repeat(64);
  const hmac = (s: string) => createHmac('sha256', key).update(s).digest('hex');
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  const parts: Buffer[] = [];
  let prev = seedSig;
  const sign = (chunk: Buffer) => {
    prev = hmac(['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, EMPTY_SHA256, sha(chunk)].join('\n'));
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${prev}\r\n`), chunk, Buffer.from('\r\n'));
  };
  for (let pos = 0; pos < data.length; pos += chunkSize) sign(data.subarray(pos, pos + chunkSize));
  sign(Buffer.alloc(0));
  parts.pop(); // the final chunk has no data CRLF of its own
  if (opts.trailers) {
    const names = Object.keys(opts.trailers).sort();
    const canonical = names.map((n) => `${n}:${opts.trailers![n]}\n`).join('');
    const sig = hmac(['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, prev, sha(canonical)].join('\n'));
    parts.push(Buffer.from(canonical.replace(/\n/g, '\r\n') + `x-amz-trailer-signature:${sig}\r\n\r\n`));
  } else {
    parts.push(Buffer.from('\r\n'));
  }
  const mode: PayloadMode = { kind: 'streaming-signed', trailer: opts.trailers !== undefined, seedSignature: seedSig, signingKey: key, amzDate, scope };
  return { body: Buffer.concat(parts), mode };
}

describe('aws-chunked, signed, generated', () => {
  it('small and irregular chunk sizes, several trailers', async () => {
    const data = Buffer.from(Array.from({ length: 10000 }, (_, i) => i % 251));
    const trailers = { 'x-amz-checksum-sha256': 'abc=', 'x-amz-checksum-crc32': 'DUoRhQ==' };
    for (const chunkSize of [1, 7, 4096, 9999, 10000, 20000]) {
      const { body, mode } = signedStream(data, chunkSize, { trailers });
      const r = await decode(mode, { 'x-amz-decoded-content-length': '10000' }, split(body, [333]));
      expect(r.body.equals(data)).toBe(true);
      expect(r.trailers).toEqual(trailers);
    }
  });

  it('an empty object', async () => {
    const { body, mode } = signedStream(Buffer.alloc(0), 65536);
    const r = await decode(mode, { 'x-amz-decoded-content-length': '0' }, [body]);
    expect(r.body.length).toBe(0);
  });

  it('an empty request body → IncompleteBody', async () => {
    const { mode } = signedStream(Buffer.alloc(0), 65536);
    expect((await decodeError(mode, {}, [])).code).toBe('IncompleteBody');
  });

  it('chunk reordering breaks the signature chain', async () => {
    const data = Buffer.alloc(300, 1);
    data.fill(2, 100, 200);
    const { body, mode } = signedStream(data, 100);
    const frame = body.indexOf('64;', 1); // second chunk header (0x64 = 100)
    const frameLen = frame; // first frame length = offset of the second
    const swapped = Buffer.concat([body.subarray(frame, frame + frameLen), body.subarray(0, frame), body.subarray(frame + frameLen)]);
    expect((await decodeError(mode, {}, [swapped])).code).toBe('SignatureDoesNotMatch');
  });
});

// --- unsigned trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER) --------------------------------------

describe('aws-chunked, unsigned with trailer', () => {
  const mode: PayloadMode = { kind: 'streaming-unsigned-trailer' };
  const crc = (b: Buffer) => {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(crc32(b) >>> 0);
    return v.toString('base64');
  };

  it('decodes the seaweedfs#6526 shape with a CRC32 trailer', async () => {
    expect(crc(Buffer.from('hello world'))).toBe('DUoRhQ==');
    const body = Buffer.from('b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');
    for (const [, sizes] of splits) {
      const r = await decode(mode, { 'x-amz-decoded-content-length': '11', 'x-amz-trailer': 'x-amz-checksum-crc32' }, split(body, sizes));
      expect(r.body.toString()).toBe('hello world');
      expect(r.trailers).toEqual({ 'x-amz-checksum-crc32': 'DUoRhQ==' });
    }
  });

  it('multi-chunk 8 KiB frames, trailer names lower-cased, no trailer at all is valid', async () => {
    const data = Buffer.alloc(20000, 'z');
    const frames = [data.subarray(0, 8192), data.subarray(8192, 16384), data.subarray(16384)]
      .map((c) => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]));
    const withTrailer = Buffer.concat([...frames, Buffer.from(`0\r\nX-Amz-Checksum-CRC32:${crc(data)}\r\n\r\n`)]);
    const r = await decode(mode, { 'x-amz-decoded-content-length': '20000' }, split(withTrailer, [1000]));
    expect(r.body.equals(data)).toBe(true);
    expect(r.trailers).toEqual({ 'x-amz-checksum-crc32': crc(data) });
    const noTrailer = Buffer.concat([...frames, Buffer.from('0\r\n\r\n')]);
    expect((await decode(mode, {}, [noTrailer])).trailers).toEqual({});
  });

  it('tolerates a chunk-signature extension and ignores a trailer signature', async () => {
    const body = Buffer.from(`3;chunk-signature=${'0'.repeat(64)}\r\nabc\r\n0\r\nx-amz-checksum-crc32:${crc(Buffer.from('abc'))}\r\nx-amz-trailer-signature:${'1'.repeat(64)}\r\n\r\n`);
    const r = await decode(mode, {}, [body]);
    expect(r.body.toString()).toBe('abc');
    expect(r.trailers).toEqual({ 'x-amz-checksum-crc32': crc(Buffer.from('abc')) });
  });

  it('malformed framing → InvalidArgument; truncation → IncompleteBody', async () => {
    const cases: Array<[string, string]> = [
      ['zz\r\nabc\r\n0\r\n\r\n', 'InvalidArgument'],            // bad hex size
      ['3\r\nabcd\r\n0\r\n\r\n', 'InvalidArgument'],             // data longer than declared
      ['3\r\nabc\r\n0\r\n\r\nextra', 'InvalidArgument'],         // bytes after the end
      ['3\r\nabc\r\n0\r\nx-amz-checksum-crc32\r\n\r\n', 'InvalidArgument'], // trailer without colon
      ['3\r\nab', 'IncompleteBody'],
      ['3\r\nabc\r\n', 'IncompleteBody'],
      ['3\r\nabc\r\n0', 'IncompleteBody'],
    ];
    for (const [body, code] of cases) {
      const e = await decodeError(mode, {}, [Buffer.from(body)]);
      expect([body, e.code]).toEqual([body, code]);
    }
  });

  it('bounded buffering: an over-long chunk header line fails before its end arrives', async () => {
    const decoder = createPayloadDecoder(mode, {});
    const errored = new Promise<Error>((resolve) => decoder.stream.on('error', resolve));
    decoder.stream.resume();
    decoder.stream.write(Buffer.alloc(MAX_LINE + 100, '1'));
    const e = await errored;
    expect(e).toBeInstanceOf(S3Error);
    expect((e as S3Error).code).toBe('InvalidArgument');
    await expect(decoder.trailers).rejects.toBe(e);
  });

  it('the body of a real AWS SDK PutObject (stream body) authenticates and decodes', async () => {
    const { client, captured } = capturingClient();
    const data = Buffer.alloc(200_000, 'q');
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]), ContentLength: data.length }));
    const { input, body } = captured[0];
    const auth = authenticate(input, () => ({ secretKey: 'secret' }), { now: new Date(), acceptedRegions: ['us-east-1'], serviceRegion: 'default' });
    expect(auth.kind).toBe('signed');
    if (auth.kind !== 'signed') return;
    const r = await decode(auth.payload, input.headers as Headers, split(body, [5000]));
    expect(r.body.equals(data)).toBe(true);
    expect(r.trailers).toEqual({ 'x-amz-checksum-crc32': crc(data) });
  });
});

// --- whole-body modes --------------------------------------------------------------------------

describe('sha256 and unsigned bodies', () => {
  const data = Buffer.from('Welcome to Amazon S3.');
  const hex = '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072';

  it('sha256: passes the body through and checks it at the end', async () => {
    const r = await decode({ kind: 'sha256', expectedHex: hex }, {}, split(data, [3]));
    expect(r.body.equals(data)).toBe(true);
    expect(r.trailers).toEqual({});
    expect(r.decoder.decodedLength).toBeUndefined();
    expect((await decode({ kind: 'sha256', expectedHex: EMPTY_SHA256 }, {}, [])).body.length).toBe(0);
  });

  it('sha256 mismatch → 400 XAmzContentSHA256Mismatch', async () => {
    const e = await decodeError({ kind: 'sha256', expectedHex: hex }, {}, [Buffer.from('Welcome to Amazon S3!')]);
    expect([e.code, e.status, e.details.ClientComputedContentSHA256]).toEqual(['XAmzContentSHA256Mismatch', 400, hex]);
  });

  it('unsigned: pass-through', async () => {
    const r = await decode({ kind: 'unsigned' }, {}, [data, data]);
    expect(r.body.toString()).toBe(data.toString() + data.toString());
  });

  it('destroying the stream rejects the trailers', async () => {
    const decoder = createPayloadDecoder({ kind: 'unsigned' }, {});
    decoder.stream.on('error', () => {});
    decoder.stream.destroy(new S3Error('IncompleteBody'));
    await expect(decoder.trailers).rejects.toMatchObject({ code: 'IncompleteBody' });
  });
});

// --- throughput --------------------------------------------------------------------------------

describe('throughput', () => {
  it('decodes a 64 MiB signed aws-chunked body quickly', async () => {
    const data = Buffer.alloc(64 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
    const { body, mode } = signedStream(data, 64 * 1024, { trailers: { 'x-amz-checksum-crc32': 'x' } });
    const pieces = split(body, [65536 + 1000]); // not aligned with the frames
    const start = process.hrtime.bigint();
    const decoder = createPayloadDecoder(mode, { 'x-amz-decoded-content-length': String(data.length) });
    let total = 0;
    await pipeline(Readable.from(pieces), decoder.stream, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) total += c.length;
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    expect(total).toBe(data.length);
    expect(await decoder.trailers).toEqual({ 'x-amz-checksum-crc32': 'x' });
    const mbps = 64 / seconds;
    console.log(`aws-chunked signed decode: ${mbps.toFixed(0)} MiB/s`);
    // Loose bound: the suite shares two cores with other forks; quiet runs show several hundred MiB/s.
    expect(mbps).toBeGreaterThan(60);
  });

  it('decodes a 64 MiB sha256 body quickly', async () => {
    const data = Buffer.alloc(64 * 1024 * 1024, 7);
    const hex = createHash('sha256').update(data).digest('hex');
    const start = process.hrtime.bigint();
    const r = await decode({ kind: 'sha256', expectedHex: hex }, {}, split(data, [65536]));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    expect(r.body.length).toBe(data.length);
    console.log(`sha256 verify: ${(64 / seconds).toFixed(0)} MiB/s`);
  });
});
