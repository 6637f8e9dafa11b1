// Buckets and objects through the real AWS SDK v3 at its default settings (so PutObject sends
// CRC32 trailing checksums in aws-chunked bodies), against a real server.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;

async function expectS3Error(promise: Promise<unknown>, code: string, status?: number): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (err) {
    const e = err as S3ServiceException;
    // A 304 has no body, so the SDK cannot name it: the status is what counts.
    if (code !== '304') expect(e.name).toBe(code);
    if (status !== undefined) expect(e.$metadata.httpStatusCode).toBe(status);
    return e;
  }
  throw new Error(`expected ${code}, but the request succeeded`);
}

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
});
afterAll(async () => {
  await server.stop();
});

describe('buckets', () => {
  it('creates, lists, heads, locates and deletes a bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'alpha-bucket' }));
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain('alpha-bucket');
    await s3.send(new HeadBucketCommand({ Bucket: 'alpha-bucket' }));
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'alpha-bucket' }));
    expect(loc.LocationConstraint).toBe('lga1');
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: 'alpha-bucket' }));
    expect(versioning.Status).toBeUndefined();
    await s3.send(new DeleteBucketCommand({ Bucket: 'alpha-bucket' }));
    await expectS3Error(s3.send(new HeadBucketCommand({ Bucket: 'alpha-bucket' })), 'NotFound', 404);
  });

  it('accepts the seed region name "default" as LocationConstraint, refuses others', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'located-bucket', CreateBucketConfiguration: { LocationConstraint: 'default' as never } }));
    await expectS3Error(
      s3.send(new CreateBucketCommand({ Bucket: 'elsewhere-bucket', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })),
      'InvalidLocationConstraint',
      400,
    );
  });

  it('rejects invalid names and duplicates with the S3 codes', async () => {
    for (const name of ['ab', 'UPPER-case', 'under_score', '-leading', 'trailing-', '192.168.1.1', 'a..b', 'x'.repeat(64)]) {
      await expectS3Error(s3.send(new CreateBucketCommand({ Bucket: name })), 'InvalidBucketName', 400);
    }
    await s3.send(new CreateBucketCommand({ Bucket: 'dup-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'dup-bucket', Key: 'kept', Body: 'x' }));
    // Re-created by its owner: 200, contents untouched (RGW; AWS us-east-1).
    expect((await s3.send(new CreateBucketCommand({ Bucket: 'dup-bucket' }))).$metadata.httpStatusCode).toBe(200);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'dup-bucket' }))).KeyCount).toBe(1);
  });

  it('refuses to delete a non-empty bucket and answers NoSuchBucket for a missing one', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'full-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'full-bucket', Key: 'k', Body: 'x' }));
    await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: 'full-bucket' })), 'BucketNotEmpty', 409);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k' })), 'NoSuchBucket', 404);
  });
});

describe('objects', () => {
  const bucket = 'objects-bucket';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  it('round-trips bytes, metadata and system headers', async () => {
    const body = randomBytes(300_000);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'dir/file one+two%.bin',
        Body: body,
        ContentType: 'application/x-test',
        ContentDisposition: 'attachment; filename="x.bin"',
        CacheControl: 'max-age=60',
        ContentLanguage: 'en',
        Metadata: { colour: 'blue', 'multi-word': 'a b c' },
        Tagging: 'project=strata&tier=gold',
      }),
    );
    const md5 = createHash('md5').update(body).digest('hex');
    expect(put.ETag).toBe(`"${md5}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/file one+two%.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.ContentDisposition).toBe('attachment; filename="x.bin"');
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.ContentLanguage).toBe('en');
    expect(got.Metadata).toEqual({ colour: 'blue', 'multi-word': 'a b c' });
    expect(got.TagCount).toBe(2);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/file one+two%.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(`"${md5}"`);
  });

  it('streams a body of unknown length (aws-chunked, no Content-Length)', async () => {
    const parts = [randomBytes(100_000), randomBytes(50_000)];
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: Readable.from(parts), ContentLength: 150_000 }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'streamed' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
  });

  it('verifies flexible checksums and returns them with checksum mode', async () => {
    const body = Buffer.from('checksummed content');
    for (const algorithm of ['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const) {
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `ck-${algorithm}`, Body: body, ChecksumAlgorithm: algorithm }));
      const field = `Checksum${algorithm}` as const;
      expect(put[field]).toBeTruthy();
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `ck-${algorithm}`, ChecksumMode: 'ENABLED' }));
      expect(head[field]).toBe(put[field]);
    }
    const sha = createHash('sha256').update(body).digest('base64');
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ck-given', Body: body, ChecksumSHA256: sha }));
    expect(put.ChecksumSHA256).toBe(sha);
    const wrong = createHash('sha256').update('other').digest('base64');
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ck-bad', Body: body, ChecksumSHA256: wrong })), 'BadDigest', 400);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ck-bad' })), 'NotFound', 404);
  });

  it('checks Content-MD5', async () => {
    const body = Buffer.from('md5 checked');
    const good = createHash('md5').update(body).digest('base64');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'md5-good', Body: body, ContentMD5: good }));
    const bad = createHash('md5').update('nope').digest('base64');
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'md5-bad', Body: body, ContentMD5: bad })), 'BadDigest', 400);
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'md5-bad', Body: body, ContentMD5: 'not-base64!' })), 'InvalidDigest', 400);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'md5-bad' })), 'NotFound', 404);
  });

  it('serves ranges, suffix ranges and 416', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ranged', Body: body }));
    const r1 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=2-5' }));
    expect(await r1.Body!.transformToString()).toBe('2345');
    expect(r1.ContentRange).toBe('bytes 2-5/20');
    expect(r1.$metadata.httpStatusCode).toBe(206);
    const r2 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=-3' }));
    expect(await r2.Body!.transformToString()).toBe('hij');
    const r3 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=15-' }));
    expect(await r3.Body!.transformToString()).toBe('fghij');
    const r4 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=10-1000' }));
    expect(await r4.Body!.transformToString()).toBe('abcdefghij');
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ranged', Range: 'bytes=20-30' })), 'InvalidRange', 416);
  });

  it('applies conditional GET headers with 304/412 precedence', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'conditional' }));
    const etag = put.ETag!;
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: etag }));
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: '"nope"' })), 'PreconditionFailed', 412);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfNoneMatch: etag })), '304', 304);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfModifiedSince: future })), '304', 304);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfUnmodifiedSince: past })), 'PreconditionFailed', 412);
    // If-Match true wins over a false If-Unmodified-Since; If-None-Match false + If-Modified-Since true → 200.
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: etag, IfUnmodifiedSince: past }));
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfNoneMatch: '"other"', IfModifiedSince: past }));
    // 412 beats 304.
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: '"nope"', IfNoneMatch: etag })), 'PreconditionFailed', 412);
  });

  it('supports conditional writes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond-write', Body: 'first', IfNoneMatch: '*' }));
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond-write', Body: 'second', IfNoneMatch: '*' })), 'PreconditionFailed', 412);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cond-write' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond-write', Body: 'third', IfMatch: head.ETag }));
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond-write', Body: 'fourth', IfMatch: head.ETag })), 'PreconditionFailed', 412);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond-write' }));
    expect(await got.Body!.transformToString()).toBe('third');
  });

  it('lets exactly one of many concurrent If-None-Match: * PUTs of a key win (their commits share transactions)', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => `racer-${i}`);
    const settled = await Promise.allSettled(bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'race', Body, IfNoneMatch: '*' }))));
    const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ body: bodies[i], etag: s.value.ETag }] : []));
    expect(winners).toHaveLength(1);
    for (const s of settled) if (s.status === 'rejected') expect(s.reason.$metadata?.httpStatusCode).toBe(412);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'race' }));
    expect(await got.Body!.transformToString()).toBe(winners[0].body);
    expect(got.ETag).toBe(winners[0].etag);
  });

  it('applies response-* overrides', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'override', Body: 'x', ContentType: 'text/plain' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'override', ResponseContentType: 'application/json', ResponseContentDisposition: 'inline' }));
    expect(got.ContentType).toBe('application/json');
    expect(got.ContentDisposition).toBe('inline');
  });

  it('answers NoSuchKey and deletes idempotently', async () => {
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' })), 'NoSuchKey', 404);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'to-delete', Body: 'x' }));
    const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'to-delete' }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'to-delete' }));
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'to-delete' })), 'NoSuchKey', 404);
  });

  it('deletes many objects, verbosely and quietly (the SDK sends a CRC32 instead of Content-MD5)', async () => {
    for (const k of ['m1', 'm2', 'm3']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }));
    const verbose = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'm1' }, { Key: 'm2' }, { Key: 'never-existed' }] } }));
    expect(verbose.Deleted?.map((d) => d.Key).sort()).toEqual(['m1', 'm2', 'never-existed']);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'm3' }], Quiet: true } }));
    expect(quiet.Deleted ?? []).toEqual([]);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'm3' })), 'NotFound', 404);
  });

  it('copies with COPY and REPLACE directives, onto itself, and with source conditions', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'copy me', ContentType: 'text/plain', Metadata: { a: '1' } }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst', CopySource: `${bucket}/src` }));
    expect(copy.CopyObjectResult?.ETag).toBe(`"${createHash('md5').update('copy me').digest('hex')}"`);
    const dst = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst' }));
    expect(dst.Metadata).toEqual({ a: '1' });
    expect(dst.ContentType).toBe('text/plain');
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst2', CopySource: `${bucket}/src`, MetadataDirective: 'REPLACE', Metadata: { b: '2' }, ContentType: 'text/x' }));
    const dst2 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst2' }));
    expect(dst2.Metadata).toEqual({ b: '2' });
    expect(dst2.ContentType).toBe('text/x');
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'src', CopySource: `${bucket}/src` })), 'InvalidRequest', 400);
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'src', CopySource: `${bucket}/src`, MetadataDirective: 'REPLACE', Metadata: { c: '3' } }));
    const self = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'src' }));
    expect(self.Metadata).toEqual({ c: '3' });
    expect(await self.Body!.transformToString()).toBe('copy me');
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst3', CopySource: `${bucket}/src`, CopySourceIfMatch: '"nope"' })), 'PreconditionFailed', 412);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst3', CopySource: `${bucket}/absent` })), 'NoSuchKey', 404);
    const keyWithSpaces = 'with space/and+plus';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keyWithSpaces, Body: 'odd' }));
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'odd-copy', CopySource: encodeURIComponent(`${bucket}/${keyWithSpaces}`) }));
    const odd = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'odd-copy' }));
    expect(await odd.Body!.transformToString()).toBe('odd');
  });

  it('gets, puts and deletes object tags', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'tagged', Body: 'x', Tagging: 'a=1' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }))).TagSet).toEqual([{ Key: 'a', Value: '1' }]);
    await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tagged', Tagging: { TagSet: [{ Key: 'b', Value: '2' }, { Key: 'c', Value: '' }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }))).TagSet).toEqual([{ Key: 'b', Value: '2' }, { Key: 'c', Value: '' }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }))).TagSet).toEqual([]);
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await expectS3Error(s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tagged', Tagging: { TagSet: tooMany } })), 'InvalidTag', 400);
  });

  it('enforces key and metadata limits', async () => {
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k'.repeat(1025), Body: 'x' })), 'KeyTooLongError', 400);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k'.repeat(1024), Body: 'x' }));
    await expectS3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big-meta', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })), 'MetadataTooLarge', 400);
  });

  it('lists current objects as version null', async () => {
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'ranged' }));
    expect(versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([['ranged', 'null', true]]);
  });

  it('serves presigned GET and PUT URLs and refuses expired ones', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'presigned' }), { expiresIn: 60 });
    const put = await request(putUrl, { method: 'PUT', body: 'via presigned url' });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned' }), { expiresIn: 60 });
    const get = await request(getUrl);
    expect(get.statusCode).toBe(200);
    expect(await get.body.text()).toBe('via presigned url');
    const expiredUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned' }), { expiresIn: 1, signingDate: new Date(Date.now() - 10_000) });
    const expired = await request(expiredUrl);
    expect(expired.statusCode).toBe(403);
    const text = await expired.body.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('<RequestId>');
  });

  it('refuses anonymous requests', async () => {
    const res = await request(`${server.endpoint}/${bucket}/ranged`);
    expect(res.statusCode).toBe(403);
    expect(await res.body.text()).toContain('<Code>AccessDenied</Code>');
    expect(res.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
  });

  it('addresses buckets virtual-hosted style', async () => {
    // bucket.localhost names the bucket in the Host header; the connection goes to 127.0.0.1.
    const put = await rawRequest(server.port, { method: 'PUT', path: '/virtual', host: `${bucket}.localhost:${server.port}`, body: 'vhost' });
    expect(put.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'virtual' }));
    expect(await got.Body!.transformToString()).toBe('vhost');
    const regional = await rawRequest(server.port, { path: '/virtual', host: `${bucket}.object.lga1.localhost:${server.port}` });
    expect(regional.text).toBe('vhost');
  });
});
