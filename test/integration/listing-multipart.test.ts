// Listing (v1, v2, delimiters, pagination with odd keys) and multipart uploads through the SDK
// and @aws-sdk/lib-storage, against a real server.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
const MiB = 1024 * 1024;

async function expectS3Error(promise: Promise<unknown>, code: string, status?: number): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const e = err as S3ServiceException;
    expect(e.name).toBe(code);
    if (status !== undefined) expect(e.$metadata.httpStatusCode).toBe(status);
    return;
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

describe('listing', () => {
  const bucket = 'listing-bucket';
  const keys = ['a', 'a b', 'a+b', 'a%b', 'a/', 'a/b', 'a/b/c', 'a/c', 'b/x', 'b/y/z', 'c', 'é', 'z/🙂', 'zz'];
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  });

  const utf8Sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

  it('lists every key in UTF-8 byte order across pages of every size (v2)', async () => {
    for (const pageSize of [1, 2, 3, 5, 1000]) {
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: pageSize, ContinuationToken: token }));
        seen.push(...(page.Contents ?? []).map((c) => c.Key!));
        expect(page.KeyCount).toBe((page.Contents ?? []).length);
        token = page.NextContinuationToken;
        expect(Boolean(token)).toBe(page.IsTruncated);
      } while (token);
      expect(seen).toEqual(utf8Sorted);
    }
  });

  it('groups common prefixes with a delimiter, consistently across pages (v1 and v2)', async () => {
    const all = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    expect(all.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/', 'z/']);
    expect(all.Contents?.map((c) => c.Key)).toEqual(['a', 'a b', 'a%b', 'a+b', 'c', 'zz', 'é']);
    for (const pageSize of [1, 2, 4]) {
      const items: string[] = [];
      let marker: string | undefined;
      for (;;) {
        const page = await s3.send(new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', MaxKeys: pageSize, Marker: marker }));
        items.push(...(page.Contents ?? []).map((c) => c.Key!), ...(page.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`));
        if (!page.IsTruncated) break;
        marker = page.NextMarker;
        expect(marker).toBeTruthy();
      }
      expect(items.sort()).toEqual(['a', 'a b', 'a%b', 'a+b', 'c', 'zz', 'é', 'P:a/', 'P:b/', 'P:z/'].sort());
    }
    const nested = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a/', Delimiter: '/' }));
    expect(nested.Contents?.map((c) => c.Key)).toEqual(['a/', 'a/b', 'a/c']);
    expect(nested.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/']);
  });

  it('honours start-after, max-keys=0, fetch-owner and encoding-type=url', async () => {
    const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, StartAfter: 'b/y/z' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(utf8Sorted.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from('b/y/z')) > 0));
    expect(after.StartAfter).toBe('b/y/z');
    const zero = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 0 }));
    expect(zero.Contents).toBeUndefined();
    // AWS answers max-keys=0 with an untruncated empty page, so paginating clients stop.
    expect(zero.IsTruncated).toBe(false);
    const owner = await s3.send(new ListObjectsV2Command({ Bucket: bucket, FetchOwner: true, MaxKeys: 1 }));
    expect(owner.Contents?.[0].Owner?.ID).toBe('default');
    const encoded = await s3.send(new ListObjectsV2Command({ Bucket: bucket, EncodingType: 'url', Prefix: 'a' }));
    expect(encoded.Contents?.map((c) => decodeURIComponent(c.Key!))).toContain('a b');
    expect(encoded.Contents?.map((c) => c.Key)).toContain('a%20b');
  });

  it('rejects a bad max-keys', async () => {
    await expectS3Error(s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: -1 })), 'InvalidArgument', 400);
  });
});

describe('multipart', () => {
  const bucket = 'multipart-bucket';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  it('uploads with lib-storage and serves ranges across part boundaries', async () => {
    const body = randomBytes(12 * MiB + 12345);
    const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: 'big', Body: Readable.from([body]) }, partSize: 5 * MiB, queueSize: 2 });
    const done = await upload.done();
    const partMd5s = [0, 1, 2].map((i) => createHash('md5').update(body.subarray(i * 5 * MiB, Math.min((i + 1) * 5 * MiB, body.length))).digest());
    expect(done.ETag).toBe(`"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big' }));
    expect(createHash('sha256').update(Buffer.from(await got.Body!.transformToByteArray())).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    const start = 5 * MiB - 10;
    const range = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big', Range: `bytes=${start}-${start + 5 * MiB + 19}` }));
    expect(Buffer.from(await range.Body!.transformToByteArray()).equals(body.subarray(start, start + 5 * MiB + 20))).toBe(true);
    const part2 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big', PartNumber: 2 }));
    expect(part2.PartsCount).toBe(3);
    expect(Buffer.from(await part2.Body!.transformToByteArray()).equals(body.subarray(5 * MiB, 10 * MiB))).toBe(true);
  });

  it('completes without copying part bytes: the object references the part blobs', async () => {
    const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'manifest' }));
    const a = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'manifest', UploadId: create.UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
    const b = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'manifest', UploadId: create.UploadId, PartNumber: 2, Body: randomBytes(1000) }));
    const region = server.services.regions.get('lga1')!;
    const blobsBefore = countBlobs(region.blobs.blobDir);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'manifest', UploadId: create.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: a.ETag }, { PartNumber: 2, ETag: b.ETag }] } }));
    expect(countBlobs(region.blobs.blobDir)).toBe(blobsBefore);
    const record = (await region.getObject(bucket, 'manifest'))!;
    expect(record.blob).toBeNull();
    expect(record.manifest?.length).toBe(2);
  });

  it('validates Complete: InvalidPart, InvalidPartOrder, EntityTooSmall, NoSuchUpload', async () => {
    const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'invalid' }));
    const id = create.UploadId!;
    const small1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'invalid', UploadId: id, PartNumber: 1, Body: 'tiny' }));
    const small2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'invalid', UploadId: id, PartNumber: 2, Body: 'tiny2' }));
    const complete = (parts: { PartNumber: number; ETag?: string }[]) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'invalid', UploadId: id, MultipartUpload: { Parts: parts } }));
    await expectS3Error(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]), 'InvalidPart', 400);
    await expectS3Error(complete([{ PartNumber: 3, ETag: small1.ETag }]), 'InvalidPart', 400);
    await expectS3Error(complete([{ PartNumber: 2, ETag: small2.ETag }, { PartNumber: 1, ETag: small1.ETag }]), 'InvalidPartOrder', 400);
    await expectS3Error(complete([{ PartNumber: 1, ETag: small1.ETag }, { PartNumber: 2, ETag: small2.ETag }]), 'EntityTooSmall', 400);
    // A single small part is allowed: it is the last part.
    const first = await complete([{ PartNumber: 2, ETag: small2.ETag }]);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'invalid' }));
    expect(await got.Body!.transformToString()).toBe('tiny2');
    // A Complete repeated after a lost response answers as the first did.
    const again = await complete([{ PartNumber: 2, ETag: small2.ETag }]);
    expect(again.ETag).toBe(first.ETag);
    await expectS3Error(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'invalid', UploadId: 'never-existed', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: small1.ETag }] } })),
      'NoSuchUpload',
      404,
    );
    await expectS3Error(s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'invalid', UploadId: 'nope', PartNumber: 1, Body: 'x' })), 'NoSuchUpload', 404);
    await expectS3Error(s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'invalid', UploadId: id, PartNumber: 10001, Body: 'x' })), 'InvalidArgument', 400);
  });

  it('lists parts and uploads with pagination, and aborts', async () => {
    const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'listed' }));
    const id = create.UploadId!;
    for (let n = 1; n <= 5; n++) await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'listed', UploadId: id, PartNumber: n, Body: `part ${n}` }));
    const first = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'listed', UploadId: id, MaxParts: 2 }));
    expect(first.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(first.IsTruncated).toBe(true);
    const second = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'listed', UploadId: id, MaxParts: 10, PartNumberMarker: first.NextPartNumberMarker }));
    expect(second.Parts?.map((p) => p.PartNumber)).toEqual([3, 4, 5]);
    expect(second.IsTruncated).toBe(false);
    const other = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'listed-2' }));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'listed', MaxUploads: 1 }));
    expect(uploads.Uploads?.map((u) => u.Key)).toEqual(['listed']);
    expect(uploads.IsTruncated).toBe(true);
    const rest = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'listed', KeyMarker: uploads.NextKeyMarker, UploadIdMarker: uploads.NextUploadIdMarker }));
    expect(rest.Uploads?.map((u) => u.Key)).toEqual(['listed-2']);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'listed', UploadId: id }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'listed-2', UploadId: other.UploadId }));
    await expectS3Error(s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'listed', UploadId: id })), 'NoSuchUpload', 404);
  });

  it('copies part ranges with UploadPartCopy', async () => {
    const source = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy-src', Body: source }));
    const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'copy-dst' }));
    const id = create.UploadId!;
    const p1 = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy-dst', UploadId: id, PartNumber: 1, CopySource: `${bucket}/copy-src`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }));
    const p2 = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy-dst', UploadId: id, PartNumber: 2, CopySource: `${bucket}/copy-src`, CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}` }));
    await expectS3Error(
      s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'copy-dst', UploadId: id, PartNumber: 3, CopySource: `${bucket}/copy-src`, CopySourceRange: `bytes=0-${7 * MiB}` })),
      'InvalidRange',
    );
    // Each part's ETag is the MD5 of the range it copied (computed by the blob writer thread).
    const md5Hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
    expect(p1.CopyPartResult?.ETag).toBe(`"${md5Hex(source.subarray(0, 5 * MiB))}"`);
    expect(p2.CopyPartResult?.ETag).toBe(`"${md5Hex(source.subarray(5 * MiB))}"`);
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'copy-dst', UploadId: id }));
    expect(listed.Parts?.map((p) => p.Size)).toEqual([5 * MiB, MiB]);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'copy-dst', UploadId: id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult?.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult?.ETag }] } }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy-dst' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(source)).toBe(true);
  });

  it('computes COMPOSITE and FULL_OBJECT checksums', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(1234)];
    for (const [algorithm, type] of [['CRC32', 'COMPOSITE'], ['CRC32', 'FULL_OBJECT'], ['SHA256', 'COMPOSITE'], ['CRC64NVME', 'FULL_OBJECT']] as const) {
      const key = `ck-${algorithm}-${type}`;
      const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: algorithm, ChecksumType: type }));
      const uploaded = [];
      for (let i = 0; i < parts.length; i++) {
        const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: create.UploadId, PartNumber: i + 1, Body: parts[i], ChecksumAlgorithm: algorithm }));
        uploaded.push({ PartNumber: i + 1, ETag: r.ETag, [`Checksum${algorithm}`]: r[`Checksum${algorithm}` as 'ChecksumCRC32'] });
      }
      const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: create.UploadId, MultipartUpload: { Parts: uploaded } }));
      const value = done[`Checksum${algorithm}` as 'ChecksumCRC32'];
      expect(value).toBeTruthy();
      expect(value!.endsWith('-2')).toBe(type === 'COMPOSITE');
      if (algorithm === 'CRC32' && type === 'FULL_OBJECT') {
        const whole = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}-whole`, Body: Buffer.concat(parts), ChecksumAlgorithm: 'CRC32' }));
        expect(value).toBe(whole.ChecksumCRC32);
      }
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      expect(head[`Checksum${algorithm}` as 'ChecksumCRC32']).toBe(value);
      // The SDK validates full-object checksums on download: this must not fail.
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      expect((await got.Body!.transformToByteArray()).length).toBe(5 * MiB + 1234);
    }
  });
});

function countBlobs(dir: string): number {
  let n = 0;
  for (const shard of readdirSync(dir)) n += readdirSync(join(dir, shard)).length;
  return n;
}
