// Behaviours ceph/s3-tests' core preset asserts, where Strata follows Ceph RGW (the reasons are
// next to the code): HeadBucket's x-rgw-* statistics, partNumber beyond an object's parts,
// presigned lifetimes outside 1 s … 7 days, an empty Content-Type.
import { CompleteMultipartUploadCommand, CreateBucketCommand, GetBucketAclCommand, PutBucketAclCommand, DeleteObjectsCommand, GetObjectAttributesCommand, ListObjectVersionsCommand, CreateMultipartUploadCommand, GetObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
const bucket = 'core-fixes';

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(() => server.stop());

describe('ceph/s3-tests core behaviours', () => {
  it('HeadBucket ?read-stats=true gives x-rgw-object-count and x-rgw-bytes-used (every version counts)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'stats' }));
    const head = () => rawRequest(server.port, { method: 'HEAD', path: '/stats?read-stats=true' });
    expect((await head()).headers).toMatchObject({ 'x-rgw-object-count': '0', 'x-rgw-bytes-used': '0' });
    for (const key of ['foo', 'bar', 'baz']) await s3.send(new PutObjectCommand({ Bucket: 'stats', Key: key, Body: key }));
    expect((await head()).headers).toMatchObject({ 'x-rgw-object-count': '3', 'x-rgw-bytes-used': '9' });
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'stats', VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectCommand({ Bucket: 'stats', Key: 'foo', Body: 'foo2' }));
    expect((await head()).headers).toMatchObject({ 'x-rgw-object-count': '4', 'x-rgw-bytes-used': '13' });
    // Without the parameter, nothing is counted.
    const plain = await rawRequest(server.port, { method: 'HEAD', path: '/stats' });
    expect(plain.status).toBe(200);
    expect(plain.headers['x-rgw-object-count']).toBeUndefined();
  });

  it('pages ListObjectVersions past markers that were deleted meanwhile (list a page, delete it, list on)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'nuke' }));
    const keys = Array.from({ length: 7 }, (_, i) => `k${i}`);
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'nuke', Key: key, Body: key }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'nuke', VersioningConfiguration: { Status: 'Enabled' } }));
    for (const key of keys) for (let v = 0; v < 2; v++) await s3.send(new PutObjectCommand({ Bucket: 'nuke', Key: key, Body: `${key}-${v}` }));
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    let deleted = 0;
    for (let page = 0; page < 50; page++) {
      const listing = await s3.send(new ListObjectVersionsCommand({ Bucket: 'nuke', MaxKeys: 4, KeyMarker, VersionIdMarker }));
      const objects = [...(listing.Versions ?? []), ...(listing.DeleteMarkers ?? [])].map((o) => ({ Key: o.Key!, VersionId: o.VersionId! }));
      if (objects.length) await s3.send(new DeleteObjectsCommand({ Bucket: 'nuke', Delete: { Objects: objects, Quiet: true } }));
      deleted += objects.length;
      if (!listing.IsTruncated) break;
      ({ NextKeyMarker: KeyMarker, NextVersionIdMarker: VersionIdMarker } = listing);
    }
    expect(deleted).toBe(21);
    const rest = await s3.send(new ListObjectVersionsCommand({ Bucket: 'nuke' }));
    expect([...(rest.Versions ?? []), ...(rest.DeleteMarkers ?? [])]).toEqual([]);
  });

  it('re-creates an owned bucket with 200 unless the create asks for another ACL (409 BucketAlreadyExists)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'recreated' }));
    expect((await s3.send(new CreateBucketCommand({ Bucket: 'recreated' }))).$metadata.httpStatusCode).toBe(200);
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'recreated', ACL: 'public-read' }))).rejects.toMatchObject({ name: 'BucketAlreadyExists', $metadata: { httpStatusCode: 409 } });
    await s3.send(new CreateBucketCommand({ Bucket: 'recreated-public', ACL: 'public-read' }));
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'recreated-public' }))).rejects.toMatchObject({ name: 'BucketAlreadyExists' });
    expect((await s3.send(new CreateBucketCommand({ Bucket: 'recreated-public', ACL: 'public-read' }))).$metadata.httpStatusCode).toBe(200);
  });

  it('lets a writer the bucket ACL admits (here anyone) give its new object an ACL as it writes', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'open-for-writes', ACL: 'public-read-write' }));
    const put = await rawRequest(server.port, { method: 'PUT', path: '/open-for-writes/anon.txt', sign: false, headers: { 'x-amz-acl': 'public-read' }, body: 'anonymous' });
    expect(put.status).toBe(200);
    const read = await rawRequest(server.port, { path: '/open-for-writes/anon.txt', sign: false });
    expect([read.status, read.text]).toEqual([200, 'anonymous']);
  });

  it('writes with If-None-Match: <etag> unless the current version has that ETag (RGW; AWS knows only *)', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'guarded', Body: 'bar' }));
    const refused = await rawRequest(server.port, { method: 'PUT', path: `/${bucket}/guarded`, headers: { 'if-none-match': first.ETag! }, body: 'zar' });
    expect([refused.status, errorCode(refused.text)]).toEqual([412, 'PreconditionFailed']);
    expect((await rawRequest(server.port, { path: `/${bucket}/guarded` })).text).toBe('bar');
    const accepted = await rawRequest(server.port, { method: 'PUT', path: `/${bucket}/guarded`, headers: { 'if-none-match': '"ABCORZ"' }, body: 'zar' });
    expect(accepted.status).toBe(200);
    expect((await rawRequest(server.port, { path: `/${bucket}/guarded` })).text).toBe('zar');
  });

  it('completes an upload that lists a part number twice with the upload of it that finished last', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'resent' }));
    const first = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'resent', UploadId, PartNumber: 1, Body: 'BBBBBBBB' }));
    const last = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'resent', UploadId, PartNumber: 1, Body: 'AAAAAAAA' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'resent', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.ETag }, { PartNumber: 1, ETag: last.ETag }] } }));
    expect((await rawRequest(server.port, { path: `/${bucket}/resent` })).text).toBe('AAAAAAAA');
  });

  it('says x-amz-delete-marker: false on the 404 of a key that is simply absent; GetObjectAttributes names the version', async () => {
    const absent = await rawRequest(server.port, { method: 'HEAD', path: `/${bucket}/never-written` });
    expect([absent.status, absent.headers['x-amz-delete-marker']]).toEqual([404, 'false']);
    await s3.send(new CreateBucketCommand({ Bucket: 'attrs-versioned' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'attrs-versioned', VersioningConfiguration: { Status: 'Enabled' } }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'attrs-versioned', Key: 'obj', Body: 'foo' }));
    const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: 'attrs-versioned', Key: 'obj', ObjectAttributes: ['ETag', 'ObjectSize'] }));
    expect([attrs.VersionId, attrs.ObjectSize]).toEqual([put.VersionId, 3]);
  });

  it('lists group grants before grants to organisations, as Ceph RGW does', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'acl-order' }));
    const owner = (await s3.send(new GetBucketAclCommand({ Bucket: 'acl-order' }))).Owner!;
    const ownerGrant = { Grantee: { Type: 'CanonicalUser' as const, ID: owner.ID }, Permission: 'FULL_CONTROL' as const };
    const groupGrant = { Grantee: { Type: 'Group' as const, URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' as const };
    await s3.send(new PutBucketAclCommand({ Bucket: 'acl-order', AccessControlPolicy: { Owner: owner, Grants: [ownerGrant, groupGrant] } }));
    const got = await s3.send(new GetBucketAclCommand({ Bucket: 'acl-order' }));
    expect(got.Grants!.map((g) => [g.Grantee!.Type, g.Grantee!.URI ?? g.Grantee!.ID, g.Permission])).toEqual([
      ['Group', groupGrant.Grantee.URI, 'READ'],
      ['CanonicalUser', owner.ID, 'FULL_CONTROL'],
    ]);
  });

  it('answers 400 InvalidPart for a partNumber the object does not have', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'single', Body: 'one part' }));
    const single = await rawRequest(server.port, { path: `/${bucket}/single?partNumber=2` });
    expect([single.status, errorCode(single.text)]).toEqual([400, 'InvalidPart']);
    expect((await rawRequest(server.port, { path: `/${bucket}/single?partNumber=1` })).text).toBe('one part');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi' }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi', UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi', UploadId, PartNumber: 2, Body: 'tail' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multi', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
    expect((await rawRequest(server.port, { path: `/${bucket}/multi?partNumber=2` })).text).toBe('tail');
    const beyond = await rawRequest(server.port, { path: `/${bucket}/multi?partNumber=3` });
    expect([beyond.status, errorCode(beyond.text)]).toEqual([400, 'InvalidPart']);
    const head = await rawRequest(server.port, { method: 'HEAD', path: `/${bucket}/multi?partNumber=3` });
    expect(head.status).toBe(400);
    // An SSE-C object: a missing part is InvalidPart even without the key (RGW checks the part
    // first); a part it has still needs the key.
    const k = Buffer.alloc(32, 7);
    const sse = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(k).digest('base64') };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sealed', Body: 'secret', ...sse }));
    const sealedBeyond = await rawRequest(server.port, { path: `/${bucket}/sealed?partNumber=2` });
    expect([sealedBeyond.status, errorCode(sealedBeyond.text)]).toEqual([400, 'InvalidPart']);
    const sealedNoKey = await rawRequest(server.port, { path: `/${bucket}/sealed?partNumber=1` });
    expect([sealedNoKey.status, errorCode(sealedNoKey.text)]).toEqual([400, 'InvalidRequest']);
    const sealed = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'sealed', PartNumber: 1, ...sse }));
    expect(await sealed.Body!.transformToString()).toBe('secret');
  });

  it('refuses presigned URLs whose lifetime is 0 or over a week with 403 AccessDenied', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'signed', Body: 'x' }));
    const ok = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'signed' }), { expiresIn: 60 });
    expect((await fetch(ok)).status).toBe(200);
    for (const lifetime of ['0', '604801', '-7']) {
      const url = ok.replace(/X-Amz-Expires=\d+/, `X-Amz-Expires=${lifetime}`);
      const res = await fetch(url);
      expect([lifetime, res.status, errorCode(await res.text())]).toEqual([lifetime, 403, 'AccessDenied']);
    }
  });

  it('accepts any Content-Type, an empty one and one that is no media type included', async () => {
    for (const [key, type] of [['typeless', ''], ['odd', 'foo'], ['half', 'text/']]) {
      // A presigned PUT: the Content-Type header goes as given, unsigned, byte for byte.
      const url = new URL(await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 60 }));
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, method: 'PUT', path: url.pathname + url.search, headers: { 'content-type': type, 'content-length': '7' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end('no type');
      });
      expect([key, status]).toEqual([key, 200]);
      const got = await rawRequest(server.port, { path: `/${bucket}/${key}` });
      expect(got.text).toBe('no type');
    }
  });
});
