import { describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { S3Error } from '../../src/errors.ts';
import {
  authenticate, cachedSigningKey, canonicalQuery, canonicalRequest, canonicalUri, credentialScope,
  deriveSigningKey, hmacHex, parseAmzDate, signingKeyCacheSize, stringToSign, uriEncode,
  type AuthInput, type AuthResult, type SecretLookup,
} from '../../src/auth/sigv4.ts';
import { EMPTY_SHA256, S3_DOC_AKID, S3_DOC_SECRET, capturingClient, presign, signRequest } from './auth-helpers.ts';

const lookupAll = (secret: string): SecretLookup => () => ({ secretKey: secret });
const opts = (now: Date, acceptedRegions = ['default', 'us-east-1']) => ({ now, acceptedRegions, serviceRegion: 'default' });

function authError(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    return err as S3Error;
  }
  throw new Error('expected an S3Error');
}

describe('SigV4 primitives', () => {
  it('derives the documented signing key (AWS "derive a signing key" example)', () => {
    expect(deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam').toString('hex'))
      .toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it('URI-encodes with the RFC 3986 unreserved set', () => {
    expect(uriEncode('-._~AZaz09')).toBe('-._~AZaz09');
    expect(uriEncode("a b+c/d*e!'()ü")).toBe('a%20b%2Bc%2Fd%2Ae%21%27%28%29%C3%BC');
    expect(uriEncode('a/b c', false)).toBe('a/b%20c');
  });

  it('canonicalises the path S3-style: encoded once, no dot-segment or slash normalisation', () => {
    expect(canonicalUri('/test$file.text')).toBe('/test%24file.text');
    expect(canonicalUri('/test%24file.text')).toBe('/test%24file.text');
    expect(canonicalUri('/bucket/a%20b')).toBe('/bucket/a%20b');
    expect(canonicalUri('/bucket/a b')).toBe('/bucket/a%20b');
    expect(canonicalUri('/bucket/a+b')).toBe('/bucket/a%2Bb'); // '+' in a path is a plus
    expect(canonicalUri('/bucket/a%2bb')).toBe('/bucket/a%2Bb');
    expect(canonicalUri('/bucket/%7e%41')).toBe('/bucket/~A'); // over-encoded unreserved chars
    expect(canonicalUri('/bucket/a%2Fb')).toBe('/bucket/a/b');
    expect(canonicalUri('//example//')).toBe('//example//');
    expect(canonicalUri('/./a/../b')).toBe('/./a/../b');
    expect(canonicalUri('/ሴ')).toBe('/%E1%88%B4');
    expect(canonicalUri('/%E1%88%B4')).toBe('/%E1%88%B4');
    expect(canonicalUri('')).toBe('/');
  });

  it('canonicalises the query: decoded, re-encoded, sorted by name then value', () => {
    expect(canonicalQuery('prefix=J&max-keys=2')).toBe('max-keys=2&prefix=J');
    expect(canonicalQuery('lifecycle')).toBe('lifecycle=');
    expect(canonicalQuery('b=2&a=2&a=1&A=0')).toBe('A=0&a=1&a=2&b=2');
    expect(canonicalQuery('prefix=a%20b%2Bc%2F&x=%7e')).toBe('prefix=a%20b%2Bc%2F&x=~');
    expect(canonicalQuery('prefix=a+b')).toBe('prefix=a%20b'); // a raw '+' in a query is a space
    expect(canonicalQuery('prefix=a b*')).toBe('prefix=a%20b%2A');
    expect(canonicalQuery('a=1&&b=2&')).toBe('a=1&b=2');
    expect(canonicalQuery('X-Amz-Signature=abc&X-Amz-Date=1', 'X-Amz-Signature')).toBe('X-Amz-Date=1');
  });

  it('parses only real x-amz-date instants', () => {
    expect(parseAmzDate('20130524T000000Z')?.toISOString()).toBe('2013-05-24T00:00:00.000Z');
    expect(parseAmzDate('20130230T000000Z')).toBeUndefined();
    expect(parseAmzDate('2013-05-24T00:00:00Z')).toBeUndefined();
  });

  it('caches signing keys, bounded, and never serves a key derived from an old secret', () => {
    const k1 = cachedSigningKey('AKCACHE', 's1', '20200101', 'us-east-1');
    expect(cachedSigningKey('AKCACHE', 's1', '20200101', 'us-east-1')).toBe(k1);
    const k2 = cachedSigningKey('AKCACHE', 's2', '20200101', 'us-east-1');
    expect(k2.equals(deriveSigningKey('s2', '20200101', 'us-east-1'))).toBe(true);
    for (let i = 0; i < 2000; i++) cachedSigningKey(`AK${i}`, 's', '20200101', 'us-east-1');
    expect(signingKeyCacheSize()).toBeLessThanOrEqual(512);
  });
});

// The AWS SigV4 test suite (aws-c-auth tests/aws-signing-test-suite/v4, the maintained copy of
// the suite AWS published): service 'service', region us-east-1, 20150830T123600Z.
describe('AWS SigV4 test suite vectors', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const amzDate = '20150830T123600Z';
  const scope = credentialScope('20150830', 'us-east-1', 'service');
  const key = deriveSigningKey(secret, '20150830', 'us-east-1', 'service');
  const base = { host: 'example.amazonaws.com', 'x-amz-date': amzDate };
  const plain = ['host', 'x-amz-date'];
  interface Vector {
    name: string; method: string; rawUrl: string; headers: Record<string, string | string[]>;
    signed: string[]; payload?: string; canonical?: string; signature: string;
  }
  const vectors: Vector[] = [
    { name: 'get-vanilla', method: 'GET', rawUrl: '/', headers: base, signed: plain,
      canonical: `GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
      signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
    { name: 'get-vanilla-query-order-key-case', method: 'GET', rawUrl: '/?Param2=value2&Param1=value1', headers: base, signed: plain,
      canonical: `GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
      signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' },
    { name: 'get-vanilla-empty-query-key', method: 'GET', rawUrl: '/?Param1=value1', headers: base, signed: plain,
      signature: 'a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb' },
    { name: 'get-vanilla-query-unreserved', method: 'GET',
      rawUrl: '/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      headers: base, signed: plain, signature: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197' },
    { name: 'get-vanilla-utf8-query', method: 'GET', rawUrl: '/?ሴ=bar', headers: base, signed: plain,
      canonical: `GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
      signature: '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04' },
    { name: 'get-vanilla-query-order-encoded', method: 'GET', rawUrl: '/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1', headers: base, signed: plain,
      canonical: `GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
      signature: '371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac' },
    { name: 'get-utf8', method: 'GET', rawUrl: '/ሴ', headers: base, signed: plain,
      canonical: `GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
      signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' },
    { name: 'get-space (unnormalized)', method: 'GET', rawUrl: '/example space/', headers: base, signed: plain,
      canonical: `GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n${EMPTY_SHA256}`,
      signature: '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741' },
    { name: 'get-unreserved', method: 'GET', rawUrl: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', headers: base, signed: plain,
      signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f' },
    { name: 'get-slashes (unnormalized, as S3 does)', method: 'GET', rawUrl: '//example//', headers: base, signed: plain,
      signature: '87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5' },
    { name: 'get-slash-dot-slash (unnormalized)', method: 'GET', rawUrl: '/./', headers: base, signed: plain,
      signature: '68714168e6557f8f2de0ef956fc24dc2593a4bd2961f8df51898d8a134695145' },
    { name: 'get-relative-relative (unnormalized)', method: 'GET', rawUrl: '/example1/example2/../..', headers: base, signed: plain,
      signature: 'dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b' },
    { name: 'get-header-key-duplicate', method: 'GET', rawUrl: '/', headers: { ...base, 'my-header1': ['value2', 'value2', 'value1'] },
      signed: ['host', 'my-header1', 'x-amz-date'],
      canonical: `GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n${EMPTY_SHA256}`,
      signature: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea' },
    { name: 'get-header-value-order', method: 'GET', rawUrl: '/', headers: { ...base, 'my-header1': ['value4', 'value1', 'value3', 'value2'] },
      signed: ['host', 'my-header1', 'x-amz-date'], signature: '08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01' },
    { name: 'get-header-value-trim', method: 'GET', rawUrl: '/', headers: { ...base, 'my-header1': ' value1', 'my-header2': ' "a   b   c"' },
      signed: ['host', 'my-header1', 'my-header2', 'x-amz-date'],
      canonical: `GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:"a b c"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n${EMPTY_SHA256}`,
      signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736' },
    { name: 'get-header-value-multiline', method: 'GET', rawUrl: '/', headers: { ...base, 'my-header1': 'value1\n  value2\n     value3' },
      signed: ['host', 'my-header1', 'x-amz-date'], signature: 'cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd' },
    { name: 'post-vanilla-query', method: 'POST', rawUrl: '/?Param1=value1', headers: base, signed: plain,
      signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11' },
    { name: 'post-header-key-case', method: 'POST', rawUrl: '/', headers: base, signed: plain,
      signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' },
    { name: 'post-x-www-form-urlencoded', method: 'POST', rawUrl: '/',
      headers: { ...base, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '13', 'x-amz-content-sha256': '9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e' },
      signed: ['content-length', 'content-type', 'host', 'x-amz-content-sha256', 'x-amz-date'],
      payload: '9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e',
      signature: 'd3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b' },
  ];
  for (const v of vectors) {
    it(v.name, () => {
      const canonical = canonicalRequest({ method: v.method, rawUrl: v.rawUrl, headers: v.headers, signedHeaders: v.signed, payloadHash: v.payload ?? EMPTY_SHA256 });
      if (v.canonical) expect(canonical).toBe(v.canonical);
      expect(hmacHex(key, stringToSign(amzDate, scope, canonical))).toBe(v.signature);
    });
  }
});

// The worked examples of the S3 API reference (sig-v4-header-based-auth, sigv4-streaming,
// sigv4-streaming-trailers, sigv4-query-string-auth): AKIAIOSFODNN7EXAMPLE, 20130524T000000Z.
describe('S3 documentation examples through authenticate()', () => {
  const t0 = new Date('2013-05-24T00:00:00Z');
  const lookup: SecretLookup = (id) => (id === S3_DOC_AKID ? { secretKey: S3_DOC_SECRET } : undefined);
  const auth = (input: AuthInput, now = t0) => authenticate(input, lookup, opts(now, ['us-east-1']));
  const host = 'examplebucket.s3.amazonaws.com';
  const cred = `Credential=${S3_DOC_AKID}/20130524/us-east-1/s3/aws4_request`;
  const signedResult = (r: AuthResult) => {
    expect(r.kind).toBe('signed');
    return r as Extract<AuthResult, { kind: 'signed' }>;
  };

  it('GET Object with Range', () => {
    const headers = {
      host, range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    };
    const canonical = canonicalRequest({ method: 'GET', rawUrl: '/test.txt', headers, signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'], payloadHash: EMPTY_SHA256 });
    expect(stringToSign('20130524T000000Z', '20130524/us-east-1/s3/aws4_request', canonical).split('\n')[3])
      .toBe('7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972');
    const r = signedResult(auth({ method: 'GET', rawUrl: '/test.txt', headers }));
    expect(r).toEqual({ kind: 'signed', accessKeyId: S3_DOC_AKID, presigned: false, payload: { kind: 'sha256', expectedHex: EMPTY_SHA256 } });
  });

  it('PUT Object (key with $, Date and x-amz-date headers), raw and encoded path', () => {
    const payload = '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072'; // "Welcome to Amazon S3."
    const headers = {
      host, date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-date': '20130524T000000Z', 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': payload,
      authorization: `AWS4-HMAC-SHA256 ${cred}, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd`,
    };
    for (const rawUrl of ['/test$file.text', '/test%24file.text']) {
      const r = signedResult(auth({ method: 'PUT', rawUrl, headers }));
      expect(r.payload).toEqual({ kind: 'sha256', expectedHex: payload });
    }
    const canonical = canonicalRequest({ method: 'PUT', rawUrl: '/test$file.text', headers, signedHeaders: ['date', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-storage-class'], payloadHash: payload });
    expect(stringToSign('20130524T000000Z', '20130524/us-east-1/s3/aws4_request', canonical).split('\n')[3])
      .toBe('9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d');
  });

  it('GET Bucket Lifecycle (?lifecycle)', () => {
    const headers = {
      host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543`,
    };
    signedResult(auth({ method: 'GET', rawUrl: '/?lifecycle', headers }));
  });

  it('GET Bucket (List Objects), query in either order', () => {
    const headers = {
      host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7`,
    };
    signedResult(auth({ method: 'GET', rawUrl: '/?max-keys=2&prefix=J', headers }));
    signedResult(auth({ method: 'GET', rawUrl: '/?prefix=J&max-keys=2', headers }));
    const e = authError(() => auth({ method: 'GET', rawUrl: '/?max-keys=3&prefix=J', headers }));
    expect(e.code).toBe('SignatureDoesNotMatch');
    expect(e.status).toBe(403);
  });

  it('chunked upload (sigv4-streaming): seed signature and streaming mode', () => {
    const headers = {
      host: 's3.amazonaws.com', 'x-amz-date': '20130524T000000Z', 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560', 'content-length': '66824',
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
    };
    const r = signedResult(auth({ method: 'PUT', rawUrl: '/examplebucket/chunkObject.txt', headers }));
    expect(r.payload.kind).toBe('streaming-signed');
    if (r.payload.kind !== 'streaming-signed') return;
    expect(r.payload.trailer).toBe(false);
    expect(r.payload.seedSignature).toBe('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
    expect(r.payload.amzDate).toBe('20130524T000000Z');
    expect(r.payload.scope).toBe('20130524/us-east-1/s3/aws4_request');
    expect(r.payload.signingKey.equals(deriveSigningKey(S3_DOC_SECRET, '20130524', 'us-east-1'))).toBe(true);
  });

  it('chunked upload with trailer (sigv4-streaming-trailers): seed signature', () => {
    const headers = {
      host: 's3.amazonaws.com', 'x-amz-date': '20130524T000000Z', 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560', 'x-amz-trailer': 'x-amz-checksum-crc32c',
      authorization: `AWS4-HMAC-SHA256 ${cred},SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e`,
    };
    const r = signedResult(auth({ method: 'PUT', rawUrl: '/examplebucket/chunkObject.txt', headers }));
    expect(r.payload).toMatchObject({ kind: 'streaming-signed', trailer: true, seedSignature: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e' });
  });

  const presignedDoc = '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

  it('presigned GET (sigv4-query-string-auth), valid until X-Amz-Date + X-Amz-Expires', () => {
    const input = { method: 'GET', rawUrl: presignedDoc, headers: { host } };
    // exempt from the 15-minute skew rule: valid 23 hours later
    expect(auth(input, new Date('2013-05-24T23:00:00Z'))).toEqual({ kind: 'signed', accessKeyId: S3_DOC_AKID, presigned: true, payload: { kind: 'unsigned' } });
    expect(auth(input, new Date('2013-05-25T00:00:00Z')).kind).toBe('signed');
    const e = authError(() => auth(input, new Date('2013-05-25T00:00:01Z')));
    expect(e.code).toBe('AccessDenied');
    expect(e.status).toBe(403);
    expect(e.message).toBe('Request has expired');
    expect(e.details).toMatchObject({ 'X-Amz-Expires': '86400', Expires: '2013-05-25T00:00:00Z', ServerTime: '2013-05-25T00:00:01Z' });
  });

  it('presigned GET with a different host or path does not verify', () => {
    expect(authError(() => auth({ method: 'GET', rawUrl: presignedDoc, headers: { host: 'other.example.com' } })).code).toBe('SignatureDoesNotMatch');
    expect(authError(() => auth({ method: 'GET', rawUrl: presignedDoc.replace('/test.txt', '/test2.txt'), headers: { host } })).code).toBe('SignatureDoesNotMatch');
    expect(authError(() => auth({ method: 'PUT', rawUrl: presignedDoc, headers: { host } })).code).toBe('SignatureDoesNotMatch');
  });
});

describe('requests signed by the AWS SDK for JavaScript v3', () => {
  const now = () => new Date();
  const run = (input: AuthInput) => authenticate(input, lookupAll('secret'), opts(now()));

  it('PutObject with a stream body (aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER)', async () => {
    const { client, captured } = capturingClient();
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'dir/a b+c~(1).txt', Body: Readable.from([Buffer.from('hello world')]), ContentLength: 11 }));
    const { input } = captured[0];
    expect(input.headers['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(run(input)).toEqual({ kind: 'signed', accessKeyId: 'AKID', presigned: false, payload: { kind: 'streaming-unsigned-trailer' } });
  });

  it('PutObject with a string body (hex payload hash, header checksum)', async () => {
    const { client, captured } = capturingClient();
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'ü/ñ', Body: 'hello', Metadata: { note: 'a  b' } }));
    const r = run(captured[0].input);
    expect(r).toMatchObject({ kind: 'signed', payload: { kind: 'sha256', expectedHex: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' } });
  });

  it('ListObjectsV2 with awkward prefix, delimiter and token', async () => {
    const { client, captured } = capturingClient();
    await client.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'a b+c/ü*(x)', Delimiter: '/', ContinuationToken: 'tok+/=%', StartAfter: '~' })).catch(() => undefined);
    expect(run(captured[0].input).kind).toBe('signed');
  });

  it('presigned GetObject and PutObject URLs from @aws-sdk/s3-request-presigner', async () => {
    const { client } = capturingClient();
    for (const command of [new GetObjectCommand({ Bucket: 'b', Key: 'x y+z', ResponseContentDisposition: 'attachment; filename="a b.txt"' }), new PutObjectCommand({ Bucket: 'b', Key: 'k' })]) {
      const url = new URL(await getSignedUrl(client, command, { expiresIn: 300 }));
      const method = command instanceof GetObjectCommand ? 'GET' : 'PUT';
      const r = run({ method, rawUrl: url.pathname + url.search, headers: { host: url.host } });
      expect(r).toEqual({ kind: 'signed', accessKeyId: 'AKID', presigned: true, payload: { kind: 'unsigned' } });
    }
  });

  it('a region outside the accepted list is refused even when the signature is right', async () => {
    const { client, captured } = capturingClient(undefined, 'eu-west-1');
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }));
    const e = authError(() => run(captured[0].input));
    expect(e.code).toBe('AuthorizationHeaderMalformed');
    expect(e.message).toBe("The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'default'");
  });
});

describe('authenticate(): modes and error paths', () => {
  const now = new Date('2025-03-01T12:00:00Z');
  const lookup: SecretLookup = (id) => (id === 'AKID' ? { secretKey: 'secret' } : undefined);
  const run = (input: AuthInput, at = now) => authenticate(input, lookup, opts(at));

  it('no Authorization and no X-Amz-Algorithm → anonymous', () => {
    expect(run({ method: 'GET', rawUrl: '/b/k?x-id=GetObject', headers: { host: 'h' } })).toEqual({ kind: 'anonymous' });
    expect(run({ method: 'GET', rawUrl: '/b/k?X-Amz-Credential=x', headers: { host: 'h' } })).toEqual({ kind: 'anonymous' });
  });

  it('accepts the default region and us-east-1, with or without spaces after the commas', () => {
    for (const region of ['default', 'us-east-1']) {
      for (const separator of [', ', ',', ' ,  ']) {
        expect(run(signRequest({ rawUrl: '/b/k', date: now, region, separator, secretKey: 'secret' })).kind).toBe('signed');
      }
    }
  });

  it('classifies every x-amz-content-sha256 value', () => {
    const sign = (payloadHash: string) => run(signRequest({ method: 'PUT', rawUrl: '/b/k', date: now, payloadHash, secretKey: 'secret' }));
    expect(sign('UNSIGNED-PAYLOAD')).toMatchObject({ payload: { kind: 'unsigned' } });
    expect(sign('A'.repeat(64))).toMatchObject({ payload: { kind: 'sha256', expectedHex: 'a'.repeat(64) } });
    expect(sign('STREAMING-AWS4-HMAC-SHA256-PAYLOAD')).toMatchObject({ payload: { kind: 'streaming-signed', trailer: false, amzDate: '20250301T120000Z', scope: '20250301/us-east-1/s3/aws4_request' } });
    expect(sign('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER')).toMatchObject({ payload: { kind: 'streaming-signed', trailer: true } });
    expect(sign('STREAMING-UNSIGNED-PAYLOAD-TRAILER')).toMatchObject({ payload: { kind: 'streaming-unsigned-trailer' } });
    for (const sigv4a of ['STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD', 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER']) {
      const e = authError(() => sign(sigv4a));
      expect([e.code, e.status]).toEqual(['NotImplemented', 501]);
    }
    for (const bad of ['abc', 'g'.repeat(64), 'STREAMING-PAYLOAD', '']) {
      const e = authError(() => sign(bad));
      expect([e.code, e.status]).toEqual(['InvalidArgument', 400]);
    }
  });

  it('missing x-amz-content-sha256 → 400 InvalidRequest', () => {
    const e = authError(() => run(signRequest({ rawUrl: '/b/k', date: now, payloadHash: null, secretKey: 'secret' })));
    expect([e.code, e.status, e.message]).toEqual(['InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256']);
  });

  it('clock skew over 15 minutes → 403 RequestTimeTooSkewed, in both directions', () => {
    expect(run(signRequest({ rawUrl: '/b/k', date: new Date(now.getTime() - 14 * 60_000), secretKey: 'secret' })).kind).toBe('signed');
    for (const offset of [-16 * 60_000, 16 * 60_000]) {
      const e = authError(() => run(signRequest({ rawUrl: '/b/k', date: new Date(now.getTime() + offset), secretKey: 'secret' })));
      expect([e.code, e.status]).toEqual(['RequestTimeTooSkewed', 403]);
      expect(e.details.MaxAllowedSkewMilliseconds).toBe('900000');
    }
  });

  it('wrong region → 400 AuthorizationHeaderMalformed naming the service region', () => {
    const e = authError(() => run(signRequest({ rawUrl: '/b/k', date: now, region: 'us-west-2', secretKey: 'secret' })));
    expect(e.code).toBe('AuthorizationHeaderMalformed');
    expect(e.status).toBe(400);
    expect(e.message).toBe("The authorization header is malformed; the region 'us-west-2' is wrong; expecting 'default'");
    expect(e.details).toEqual({ Region: 'default' });
  });

  it('wrong service, malformed credential, missing components → AuthorizationHeaderMalformed', () => {
    expect(authError(() => run(signRequest({ rawUrl: '/b/k', date: now, service: 'iam', secretKey: 'secret' }))).code).toBe('AuthorizationHeaderMalformed');
    const base = signRequest({ rawUrl: '/b/k', date: now, secretKey: 'secret' });
    const authz = base.headers.authorization as string;
    const variants = [
      authz.replace(/Credential=[^,]*/, 'Credential=AKID/20250301/us-east-1/s3'),
      authz.replace(/Credential=[^,]*/, 'Credential=AKID/20250301/us-east-1/s3/aws5_request'),
      authz.replace(/, Signature=.*/, ''),
      authz.replace(/SignedHeaders=[^,]*/, 'SignedHeaders=x-amz-date'), // host not signed
      authz.replace(/Credential=AKID\/20250301/, 'Credential=AKID/20250302'), // scope date ≠ x-amz-date
    ];
    for (const v of variants) {
      const e = authError(() => run({ ...base, headers: { ...base.headers, authorization: v } }));
      expect(e.code).toBe('AuthorizationHeaderMalformed');
    }
  });

  it('unknown access key → 403 InvalidAccessKeyId', () => {
    const e = authError(() => run(signRequest({ rawUrl: '/b/k', date: now, accessKeyId: 'NOPE', secretKey: 'secret' })));
    expect([e.code, e.status, e.details.AWSAccessKeyId]).toEqual(['InvalidAccessKeyId', 403, 'NOPE']);
  });

  it('wrong secret, tampered path/query/header/method → 403 SignatureDoesNotMatch', () => {
    expect(authError(() => run(signRequest({ rawUrl: '/b/k', date: now, secretKey: 'other' }))).code).toBe('SignatureDoesNotMatch');
    const good = signRequest({ method: 'PUT', rawUrl: '/b/k?tagging', date: now, headers: { 'content-type': 'text/plain' }, secretKey: 'secret' });
    expect(run(good).kind).toBe('signed');
    const tampered: AuthInput[] = [
      { ...good, rawUrl: '/b/k2?tagging' },
      { ...good, rawUrl: '/b/k?acl' },
      { ...good, method: 'DELETE' },
      { ...good, headers: { ...good.headers, 'content-type': 'text/html' } },
      { ...good, headers: { ...good.headers, authorization: (good.headers.authorization as string).replace(/Signature=(.)/, (_, c: string) => `Signature=${c === '0' ? '1' : '0'}`) } },
      { ...good, headers: { ...good.headers, authorization: (good.headers.authorization as string) + '00' } },
    ];
    for (const t of tampered) {
      const e = authError(() => run(t));
      expect([e.code, e.status]).toEqual(['SignatureDoesNotMatch', 403]);
    }
    const e = authError(() => run(tampered[0]));
    expect(e.details.StringToSign.startsWith('AWS4-HMAC-SHA256\n20250301T120000Z\n')).toBe(true);
  });

  it('a signature in upper-case hex verifies (compared case-insensitively, constant time)', () => {
    const good = signRequest({ rawUrl: '/b/k', date: now, secretKey: 'secret' });
    const upper = (good.headers.authorization as string).replace(/Signature=([0-9a-f]+)/, (_, s: string) => `Signature=${s.toUpperCase()}`);
    expect(run({ ...good, headers: { ...good.headers, authorization: upper } }).kind).toBe('signed');
  });

  it('an x-amz-* header that is not signed → 403 AccessDenied', () => {
    const e = authError(() => run(signRequest({ rawUrl: '/b/k', method: 'PUT', date: now, secretKey: 'secret', unsignedHeaders: { 'x-amz-acl': 'public-read' } })));
    expect([e.code, e.details.HeadersNotSigned]).toEqual(['AccessDenied', 'x-amz-acl']);
    // other unsigned headers are fine
    expect(run(signRequest({ rawUrl: '/b/k', date: now, secretKey: 'secret', unsignedHeaders: { 'user-agent': 'x', 'content-type': 'y' } })).kind).toBe('signed');
  });

  it('missing or invalid x-amz-date/Date → 403 AccessDenied; Date alone is accepted', () => {
    const good = signRequest({ rawUrl: '/b/k', date: now, secretKey: 'secret' });
    const { 'x-amz-date': _drop, ...noDate } = good.headers;
    const e = authError(() => run({ ...good, headers: noDate }));
    expect([e.code, e.message]).toEqual(['AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header']);
    expect(authError(() => run({ ...good, headers: { ...good.headers, 'x-amz-date': '2025-03-01T12:00:00Z' } })).code).toBe('AccessDenied');
    // Signed with only a Date header: the timestamp in the string to sign is the Date's instant.
    const signedHeaders = ['date', 'host', 'x-amz-content-sha256'];
    const headers: Record<string, string> = { host: 'h', date: 'Sat, 01 Mar 2025 12:00:00 GMT', 'x-amz-content-sha256': EMPTY_SHA256 };
    const key = deriveSigningKey('secret', '20250301', 'default');
    const sig = hmacHex(key, stringToSign('20250301T120000Z', '20250301/default/s3/aws4_request', canonicalRequest({ method: 'GET', rawUrl: '/b', headers, signedHeaders, payloadHash: EMPTY_SHA256 })));
    headers.authorization = `AWS4-HMAC-SHA256 Credential=AKID/20250301/default/s3/aws4_request, SignedHeaders=${signedHeaders.join(';')}, Signature=${sig}`;
    expect(run({ method: 'GET', rawUrl: '/b', headers }).kind).toBe('signed');
  });

  it('other authorization schemes', () => {
    const base = { method: 'GET', rawUrl: '/b/k' };
    expect(authError(() => run({ ...base, headers: { host: 'h', authorization: 'AWS AKID:c2lnbmF0dXJl' } })).code).toBe('InvalidRequest');
    expect(authError(() => run({ ...base, headers: { host: 'h', authorization: 'AWS4-ECDSA-P256-SHA256 Credential=x' } })).code).toBe('NotImplemented');
    expect(authError(() => run({ ...base, headers: { host: 'h', authorization: 'Bearer abc' } })).code).toBe('InvalidArgument');
    expect(authError(() => run({ method: 'GET', rawUrl: '/b/k?AWSAccessKeyId=AKID&Signature=x&Expires=1', headers: { host: 'h' } })).code).toBe('InvalidRequest');
    const signed = signRequest({ rawUrl: '/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256', date: now, secretKey: 'secret' });
    expect(authError(() => run(signed)).code).toBe('InvalidArgument');
  });

  describe('presigned', () => {
    const url = (o: Partial<Parameters<typeof presign>[0]> = {}) => presign({ path: '/b/k', date: now, expires: 3600, secretKey: 'secret', ...o });

    it('verifies, unsigned payload unless x-amz-content-sha256 is sent', () => {
      expect(run(url())).toEqual({ kind: 'signed', accessKeyId: 'AKID', presigned: true, payload: { kind: 'unsigned' } });
      // odd characters in key and parameters survive the round trip
      expect(run(url({ path: '/b/a%20b%2Bc/%C3%BC', query: { 'response-content-disposition': 'attachment; filename="x+y z.txt"' } })).kind).toBe('signed');
    });

    it('is exempt from the skew rule but not from expiry', () => {
      expect(run(url({ date: new Date(now.getTime() - 3000_000) })).kind).toBe('signed');
      const e = authError(() => run(url({ date: new Date(now.getTime() - 3601_000) })));
      expect([e.code, e.status, e.message]).toEqual(['AccessDenied', 403, 'Request has expired']);
    });

    it('X-Amz-Date in the future beyond the skew → AccessDenied', () => {
      expect(run(url({ date: new Date(now.getTime() + 10 * 60_000) })).kind).toBe('signed');
      const e = authError(() => run(url({ date: new Date(now.getTime() + 20 * 60_000) })));
      expect([e.code, e.status]).toEqual(['AccessDenied', 403]);
    });

    it('X-Amz-Expires of 0, negative or above 7 days → AccessDenied (RGW, s3-tests); not a number → AuthorizationQueryParametersError', () => {
      expect(run(url({ expires: 604800 })).kind).toBe('signed');
      for (const expires of [604801, -1, 0]) {
        const e = authError(() => run(url({ expires })));
        expect([e.code, e.status]).toEqual(['AccessDenied', 403]);
      }
      const e = authError(() => run(url({ expires: 604801 })));
      expect(e.message).toBe('X-Amz-Expires must be less than a week (in seconds) that is 604800');
      const good = url();
      expect(authError(() => run({ ...good, rawUrl: good.rawUrl.replace('X-Amz-Expires=3600', 'X-Amz-Expires=soon') })).code).toBe('AuthorizationQueryParametersError');
    });

    it('wrong region → AuthorizationQueryParametersError naming the service region', () => {
      const e = authError(() => run(url({ region: 'eu-central-1' })));
      expect(e.code).toBe('AuthorizationQueryParametersError');
      expect(e.message).toContain("the region 'eu-central-1' is wrong; expecting 'default'");
      expect(e.details).toEqual({ Region: 'default' });
    });

    it('missing parameters, bad algorithm, bad signature, unknown key', () => {
      const good = url();
      const drop = (p: string) => ({ ...good, rawUrl: good.rawUrl.replace(new RegExp(`&?${p}=[^&]*`), '') });
      for (const p of ['X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
        expect(authError(() => run(drop(p))).code).toBe('AuthorizationQueryParametersError');
      }
      expect(authError(() => run({ ...good, rawUrl: good.rawUrl.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1') })).code).toBe('AuthorizationQueryParametersError');
      expect(authError(() => run({ ...good, rawUrl: good.rawUrl + '&extra=1' })).code).toBe('SignatureDoesNotMatch');
      expect(authError(() => run(url({ secretKey: 'wrong' }))).code).toBe('SignatureDoesNotMatch');
      expect(authError(() => run(url({ accessKeyId: 'NOPE' }))).code).toBe('InvalidAccessKeyId');
    });
  });
});
