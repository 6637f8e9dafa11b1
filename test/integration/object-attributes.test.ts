// GetObjectAttributes over real HTTP, with the SDK and raw requests: every attribute, attribute
// selection, ObjectParts and its pagination, checksums of whole objects and parts, SSE-C keys,
// errors, and authorization (s3:GetObject and s3:GetObjectAttributes both required).
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type ObjectAttributes,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLevel } from '../../src/identity/identity-store.ts';
import { errorCode, type RawResponse } from '../helpers/raw.ts';
import { addTestKey, sendAs, type Creds, type SendOptions, type Who } from '../helpers/principals.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';


const MiB = 1024 * 1024;
const all: ObjectAttributes[] = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'];
const bucket = 'attrs';
let server: TestServer;
let s3: S3Client;
let alice: Creds; // partner, full
let ownerReader: Creds; // default, read
let ownerWriter: Creds; // default, write

const addKey = (org: string, user: string, level: AccessLevel): Promise<Creds> => addTestKey(server, org, user, level);

const send = (who: Who, method: string, path: string, opts: SendOptions = {}): Promise<RawResponse> => sendAs(server, who, method, path, opts);
const attrs = (who: Who, key: string, attributes: string | undefined, headers: Record<string, string> = {}) =>
  send(who, 'GET', `/${bucket}/${key}?attributes`, { headers: attributes === undefined ? headers : { 'x-amz-object-attributes': attributes, ...headers } });

async function expectStatus(p: Promise<RawResponse>, status: number, code?: string): Promise<RawResponse> {
  const res = await p;
  expect(res.status, `${res.status} ${res.text}`).toBe(status);
  if (code !== undefined) expect(errorCode(res.text)).toBe(code);
  return res;
}

async function multipart(key: string, sizes: number[], algorithm?: 'SHA256' | 'CRC32'): Promise<{ etag: string; checksum?: string; partChecksums: (string | undefined)[] }> {
  const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: algorithm }));
  const parts: { PartNumber: number; ETag: string; ChecksumSHA256?: string; ChecksumCRC32?: string }[] = [];
  const partChecksums: (string | undefined)[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: create.UploadId, PartNumber: i + 1, Body: randomBytes(sizes[i]), ChecksumAlgorithm: algorithm }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag!, ChecksumSHA256: r.ChecksumSHA256, ChecksumCRC32: r.ChecksumCRC32 });
    partChecksums.push(algorithm === 'SHA256' ? r.ChecksumSHA256 : algorithm === 'CRC32' ? r.ChecksumCRC32 : undefined);
  }
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: create.UploadId, MultipartUpload: { Parts: parts } }));
  return { etag: done.ETag!.replace(/"/g, ''), checksum: done.ChecksumSHA256 ?? done.ChecksumCRC32, partChecksums };
}

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  alice = await addKey('partner', 'alice', 'full');
  ownerReader = await addKey('default', 'reader', 'read');
  ownerWriter = await addKey('default', 'writer', 'write');
  await expectStatus(send('admin', 'PUT', `/${bucket}`), 200);
  // A plain object without any flexible checksum (raw PUT).
  await expectStatus(send('admin', 'PUT', `/${bucket}/plain.txt`, { body: 'foo' }), 200);
});
afterAll(async () => {
  await server.stop();
});

describe('GetObjectAttributes of a single-part object', () => {
  it('returns the ETag unquoted, StorageClass, ObjectSize and Last-Modified; no ObjectParts', async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain.txt' }));
    const res = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'plain.txt', ObjectAttributes: all }));
    expect(res.ETag).toBe(head.ETag!.replace(/"/g, ''));
    expect(res.ETag).toBe(createHash('md5').update('foo').digest('hex'));
    expect(res.ObjectSize).toBe(3);
    expect(res.StorageClass).toBe('STANDARD');
    expect(res.ObjectParts).toBeUndefined();
    expect(res.Checksum).toBeUndefined();
    expect(res.VersionId).toBeUndefined();
    expect(res.DeleteMarker).toBeUndefined();
    expect(res.LastModified?.getTime()).toBe(head.LastModified?.getTime());

    const raw = await expectStatus(attrs('admin', 'plain.txt', all.join(',')), 200);
    expect(raw.headers['content-type']).toBe('application/xml');
    expect(raw.headers['last-modified']).toBe(head.LastModified!.toUTCString());
    expect(raw.text).toContain('<GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/">');
    expect(raw.text).toContain(`<ETag>${res.ETag}</ETag>`);
  });

  it('returns only the attributes asked for', async () => {
    const raw = await expectStatus(attrs('admin', 'plain.txt', 'ObjectSize'), 200);
    expect(raw.text).toMatch(/<GetObjectAttributesResponse[^>]*><ObjectSize>3<\/ObjectSize><\/GetObjectAttributesResponse>$/);
    const two = await expectStatus(attrs('admin', 'plain.txt', ' StorageClass , ETag ,'), 200);
    expect(two.text).toContain('<StorageClass>STANDARD</StorageClass>');
    expect(two.text).toContain('<ETag>');
    expect(two.text).not.toContain('<ObjectSize>');
    // A storage class given at upload is reported.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ia.txt', Body: 'x', StorageClass: 'STANDARD_IA' }));
    expect((await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'ia.txt', ObjectAttributes: ['StorageClass'] }))).StorageClass).toBe('STANDARD_IA');
  });

  it('reports the checksum stored with the object and its type', async () => {
    const body = 'A'.repeat(1024);
    const sha256 = createHash('sha256').update(body).digest('base64');
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sum.txt', Body: body, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: sha256 }));
    expect(put.ChecksumSHA256).toBe(sha256);
    const res = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'sum.txt', ObjectAttributes: all }));
    expect(res.Checksum?.ChecksumSHA256).toBe(sha256);
    expect(res.Checksum?.ChecksumType).toBe('FULL_OBJECT');
    expect(res.ObjectSize).toBe(1024);
    expect(res.ETag).toBe(put.ETag!.replace(/"/g, ''));
    expect(res.ObjectParts).toBeUndefined();
  });

  it('refuses a missing or empty header (InvalidRequest), unknown names (InvalidArgument), bad part parameters', async () => {
    let res = await expectStatus(attrs('admin', 'plain.txt', undefined), 400, 'InvalidRequest');
    expect(res.text).toContain('The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty');
    await expectStatus(attrs('admin', 'plain.txt', ''), 400, 'InvalidRequest');
    await expectStatus(attrs('admin', 'plain.txt', ' , '), 400, 'InvalidRequest');
    res = await expectStatus(attrs('admin', 'plain.txt', 'ETag,Size'), 400, 'InvalidArgument');
    expect(res.text).toContain('Invalid attribute name specified.');
    await expectStatus(attrs('admin', 'plain.txt', 'etag'), 400, 'InvalidArgument');
    await expectStatus(attrs('admin', 'plain.txt', 'ObjectParts', { 'x-amz-max-parts': 'many' }), 400, 'InvalidArgument');
    await expectStatus(attrs('admin', 'plain.txt', 'ObjectParts', { 'x-amz-part-number-marker': '-1' }), 400, 'InvalidArgument');
  });

  it('answers NoSuchKey for a missing object and NoSuchBucket for a missing bucket', async () => {
    await expectStatus(attrs('admin', 'missing.txt', 'ETag'), 404, 'NoSuchKey');
    await expectStatus(send('admin', 'GET', '/no-such-bucket-attrs/k?attributes', { headers: { 'x-amz-object-attributes': 'ETag' } }), 404, 'NoSuchBucket');
    const err = await sdkError(s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'missing.txt', ObjectAttributes: ['ETag'] })));
    expect(err.name).toBe('NoSuchKey');
    // Only the "null" version exists.
    await expectStatus(send('admin', 'GET', `/${bucket}/plain.txt?attributes&versionId=abc`, { headers: { 'x-amz-object-attributes': 'ETag' } }), 400, 'InvalidArgument');
    await expectStatus(send('admin', 'GET', `/${bucket}/plain.txt?attributes&versionId=null`, { headers: { 'x-amz-object-attributes': 'ETag' } }), 200);
  });
});

describe('GetObjectAttributes of multipart objects', () => {
  it('lists the parts with their sizes, and pages through them', async () => {
    const sizes = [5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 1234];
    const { etag } = await multipart('mp', sizes);
    const res = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp', ObjectAttributes: all }));
    expect(res.ETag).toBe(etag);
    expect(res.ETag).toMatch(/-6$/);
    expect(res.ObjectSize).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(res.StorageClass).toBe('STANDARD');
    expect(res.Checksum).toBeUndefined();
    expect(res.ObjectParts?.TotalPartsCount).toBe(6);
    expect(res.ObjectParts?.IsTruncated).toBe(false);
    expect(res.ObjectParts?.MaxParts).toBe(1000);
    // The SDK models the markers as strings.
    expect(res.ObjectParts?.PartNumberMarker).toBe('0');
    expect(res.ObjectParts?.NextPartNumberMarker).toBe('6');
    expect(res.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual(sizes.map((s, i) => [i + 1, s]));
    expect(res.ObjectParts?.Parts?.[0].ChecksumSHA256).toBeUndefined();

    const page = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp', ObjectAttributes: all, MaxParts: 1, PartNumberMarker: '3' }));
    expect(page.ObjectParts).toMatchObject({ TotalPartsCount: 6, MaxParts: 1, PartNumberMarker: '3', NextPartNumberMarker: '4', IsTruncated: true });
    expect(page.ObjectParts?.Parts?.map((p) => p.PartNumber)).toEqual([4]);
    const rest = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp', ObjectAttributes: all, MaxParts: 10, PartNumberMarker: '4' }));
    expect(rest.ObjectParts).toMatchObject({ MaxParts: 10, PartNumberMarker: '4', NextPartNumberMarker: '6', IsTruncated: false });
    expect(rest.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[5, 5 * MiB], [6, 1234]]);
    // Past the last part: no parts, not truncated.
    const none = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp', ObjectAttributes: ['ObjectParts'], PartNumberMarker: '6' }));
    expect(none.ObjectParts?.Parts ?? []).toEqual([]);
    expect(none.ObjectParts?.IsTruncated).toBe(false);
    // The XML element is PartsCount (AWS's wire name for TotalPartsCount).
    const raw = await expectStatus(attrs('admin', 'mp', 'ObjectParts', { 'x-amz-max-parts': '2' }), 200);
    expect(raw.text).toContain('<PartsCount>6</PartsCount>');
    expect(raw.text.match(/<Part>/g)).toHaveLength(2);
    // ObjectParts not asked for: not returned.
    expect((await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp', ObjectAttributes: ['ObjectSize'] }))).ObjectParts).toBeUndefined();
    // A multipart object of one part still has ObjectParts.
    await multipart('mp-one', [5 * MiB]);
    const one = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp-one', ObjectAttributes: all }));
    expect(one.ObjectParts?.TotalPartsCount).toBe(1);
    expect(one.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MiB]]);
  });

  it('reports the composite checksum of the object and each part checksum', async () => {
    const { checksum, partChecksums } = await multipart('mp-sha', [5 * MiB, 5 * MiB, 100], 'SHA256');
    const res = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'mp-sha', ObjectAttributes: all }));
    expect(res.Checksum?.ChecksumSHA256).toBe(checksum);
    expect(res.Checksum?.ChecksumSHA256).toMatch(/-3$/);
    expect(res.Checksum?.ChecksumType).toBe('COMPOSITE');
    expect(res.ObjectParts?.Parts?.map((p) => p.ChecksumSHA256)).toEqual(partChecksums);
  });
});

describe('GetObjectAttributes of SSE-C objects', () => {
  const key = randomBytes(32);
  const sse = (k: Buffer) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(k).digest('base64') });
  const sseHeaders = (k: Buffer) => ({
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': k.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(k).digest('base64'),
  });

  it('needs the key, like GetObject', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'secret', Body: 'A'.repeat(1000), ...sse(key) }));
    await expectStatus(attrs('admin', 'secret', 'ETag,ObjectSize'), 400, 'InvalidRequest');
    await expectStatus(attrs('admin', 'secret', 'ETag,ObjectSize', sseHeaders(randomBytes(32))), 403, 'AccessDenied');
    const res = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'secret', ObjectAttributes: all, ...sse(key) }));
    expect(res.ObjectSize).toBe(1000);
    expect(res.ETag).toBe(put.ETag!.replace(/"/g, ''));
    expect(res.StorageClass).toBe('STANDARD');
    expect(res.ObjectParts).toBeUndefined();
    // A key for an object that is not encrypted is refused, as on GetObject.
    await expectStatus(attrs('admin', 'plain.txt', 'ETag', sseHeaders(key)), 400, 'InvalidRequest');
  });
});

describe('GetObjectAttributes authorization', () => {
  const policy = (actions: string[]) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::partner:root' }, Action: actions, Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }],
    });
  const setPolicy = async (actions: string[]) => expectStatus(send('admin', 'PUT', `/${bucket}?policy`, { body: policy(actions) }), 204);

  it('owner keys need the read level', async () => {
    await expectStatus(attrs(ownerReader, 'plain.txt', 'ETag'), 200);
    await expectStatus(attrs(ownerWriter, 'plain.txt', 'ETag'), 403, 'AccessDenied');
  });

  it('other organisations need both s3:GetObject and s3:GetObjectAttributes', async () => {
    try {
      await expectStatus(attrs(alice, 'plain.txt', 'ETag'), 403, 'AccessDenied');
      await setPolicy(['s3:GetObject']);
      await expectStatus(send(alice, 'GET', `/${bucket}/plain.txt`), 200);
      await expectStatus(attrs(alice, 'plain.txt', 'ETag'), 403, 'AccessDenied');
      await setPolicy(['s3:GetObjectAttributes']);
      await expectStatus(attrs(alice, 'plain.txt', 'ETag'), 403, 'AccessDenied');
      await setPolicy(['s3:GetObject', 's3:GetObjectAttributes']);
      await expectStatus(attrs(alice, 'plain.txt', 'ETag'), 200);
      // Allowed to read but not to list, a caller learns nothing about a missing key (issue 11).
      await expectStatus(attrs(alice, 'missing.txt', 'ETag'), 403, 'AccessDenied');
      // Refused a missing key, a caller who may list the bucket learns it is missing (as on GetObject).
      await setPolicy(['s3:GetObjectAttributes']);
      await expectStatus(attrs(alice, 'missing.txt', 'ETag'), 403, 'AccessDenied');
      await setPolicy(['s3:ListBucket']);
      await expectStatus(attrs(alice, 'missing.txt', 'ETag'), 404, 'NoSuchKey');
      await expectStatus(attrs(alice, 'plain.txt', 'ETag'), 403, 'AccessDenied');
    } finally {
      await expectStatus(send('admin', 'DELETE', `/${bucket}?policy`), 204);
    }
  });

  it('a public-read object ACL (READ) lets anonymous callers read the attributes', async () => {
    await expectStatus(send('admin', 'PUT', `/${bucket}/public.txt`, { body: 'pub', headers: { 'x-amz-acl': 'public-read' } }), 200);
    const res = await expectStatus(attrs('anonymous', 'public.txt', 'ObjectSize'), 200);
    expect(res.text).toContain('<ObjectSize>3</ObjectSize>');
    await expectStatus(attrs('anonymous', 'plain.txt', 'ObjectSize'), 403, 'AccessDenied');
  });
});
