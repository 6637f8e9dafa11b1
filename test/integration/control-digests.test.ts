// Digests of control documents are verified like PutObject's: a wrong Content-MD5 or
// x-amz-checksum-* on a policy, ACL, tagging, public-access-block, Delete or Complete document is
// 400 BadDigest (a malformed one InvalidDigest / InvalidRequest), and nothing is stored. With
// UNSIGNED-PAYLOAD over plain HTTP the digest is all that binds the body to the request.
// DeleteObjects also verifies a trailing checksum and refuses a trailer on a plain body.
import { createHash } from 'node:crypto';
import {
  CreateMultipartUploadCommand, GetBucketPolicyCommand, GetBucketTaggingCommand, GetObjectTaggingCommand,
  GetPublicAccessBlockCommand, HeadObjectCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeChecksum, encodeChecksumValue } from '../../src/checksum/algorithms.ts';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
const B = 'digests';

const md5 = (body: string) => createHash('md5').update(body).digest('base64');
const crc32 = (body: string) => encodeChecksumValue(computeChecksum('CRC32', Buffer.from(body)));
const wrongMd5 = md5('something else');
const wrongCrc32 = crc32('something else');
const unsigned = { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' };

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  expect((await rawRequest(server.port, { method: 'PUT', path: `/${B}` })).status).toBe(200);
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'victim', Body: 'keep me' }));
});
afterAll(async () => {
  await server.stop();
});

const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }] });
const tagging = '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>';
const acl = `<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`;
const pab = '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>';
const del = '<Delete><Object><Key>victim</Key></Object></Delete>';

/** Each document, and how to see that nothing of it was stored. */
const documents: { name: string; method: string; path: string; body: string; unchanged: () => Promise<void> }[] = [
  { name: 'PutBucketPolicy', method: 'PUT', path: `/${B}?policy`, body: policy, unchanged: async () => expect((await sdkError(s3.send(new GetBucketPolicyCommand({ Bucket: B })))).name).toBe('NoSuchBucketPolicy') },
  { name: 'PutBucketTagging', method: 'PUT', path: `/${B}?tagging`, body: tagging, unchanged: async () => expect((await sdkError(s3.send(new GetBucketTaggingCommand({ Bucket: B })))).name).toBe('NoSuchTagSet') },
  { name: 'PutObjectTagging', method: 'PUT', path: `/${B}/victim?tagging`, body: tagging, unchanged: async () => expect((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'victim' }))).TagSet).toEqual([]) },
  { name: 'PutObjectAcl', method: 'PUT', path: `/${B}/victim?acl`, body: acl, unchanged: async () => expect((await rawRequest(server.port, { path: `/${B}/victim`, sign: false })).status).toBe(403) },
  { name: 'PutBucketAcl', method: 'PUT', path: `/${B}?acl`, body: acl, unchanged: async () => expect((await rawRequest(server.port, { path: `/${B}`, sign: false })).status).toBe(403) },
  { name: 'PutPublicAccessBlock', method: 'PUT', path: `/${B}?publicAccessBlock`, body: pab, unchanged: async () => expect((await sdkError(s3.send(new GetPublicAccessBlockCommand({ Bucket: B })))).name).toBe('NoSuchPublicAccessBlockConfiguration') },
  { name: 'DeleteObjects', method: 'POST', path: `/${B}?delete`, body: del, unchanged: async () => expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'victim' }))).ContentLength).toBe(7) },
];

describe('control documents with a wrong digest change nothing', () => {
  for (const d of documents) {
    it(`${d.name}: wrong Content-MD5 → BadDigest, malformed → InvalidDigest, wrong x-amz-checksum-crc32 → BadDigest`, async () => {
      for (const [headers, code] of [
        [{ 'content-md5': wrongMd5 }, 'BadDigest'],
        [{ 'content-md5': 'not-base64-md5' }, 'InvalidDigest'],
        [{ 'x-amz-checksum-crc32': wrongCrc32 }, 'BadDigest'],
        [{ 'x-amz-checksum-crc32': '!!' }, 'InvalidRequest'],
      ] as const) {
        const res = await rawRequest(server.port, { method: d.method, path: d.path, body: d.body, headers: { ...unsigned, ...headers } });
        expect([res.status, errorCode(res.text)], JSON.stringify(headers)).toEqual([400, code]);
        expect(res.text).toContain('<RequestId>');
        await d.unchanged();
      }
    });
  }

  it('the right digests are accepted (and then the document takes effect)', async () => {
    const res = await rawRequest(server.port, { method: 'PUT', path: `/${B}?tagging`, body: tagging, headers: { ...unsigned, 'content-md5': md5(tagging), 'x-amz-checksum-crc32': crc32(tagging) } });
    expect(res.status).toBe(204);
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: B }))).TagSet).toEqual([{ Key: 'k', Value: 'v' }]);
  });

  it('CompleteMultipartUpload: a wrong Content-MD5 is BadDigest and the upload stays open', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mpu' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'mpu', UploadId, PartNumber: 1, Body: 'part one' }));
    const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag></Part></CompleteMultipartUpload>`;
    const bad = await rawRequest(server.port, { method: 'POST', path: `/${B}/mpu?uploadId=${UploadId}`, body, headers: { ...unsigned, 'content-md5': wrongMd5 } });
    expect([bad.status, errorCode(bad.text)]).toEqual([400, 'BadDigest']);
    expect((await sdkError(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'mpu' })))).$metadata.httpStatusCode).toBe(404);
    const good = await rawRequest(server.port, { method: 'POST', path: `/${B}/mpu?uploadId=${UploadId}`, body, headers: { ...unsigned, 'content-md5': md5(body) } });
    expect(good.status).toBe(200);
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'mpu' }))).ContentLength).toBe(8);
  });
});

describe('DeleteObjects and x-amz-trailer', () => {
  const victimStays = async () => expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'victim' }))).ContentLength).toBe(7);
  const chunked = (body: string, trailer: string) => `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\nx-amz-checksum-crc32:${trailer}\r\n\r\n`;
  const trailerHeaders = (body: string) => ({
    'X-Amz-Content-Sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(Buffer.byteLength(body)),
    'x-amz-trailer': 'x-amz-checksum-crc32',
  });

  it('a plain body that only names a trailer deletes nothing (the reproduction)', async () => {
    const res = await rawRequest(server.port, { method: 'POST', path: `/${B}?delete`, body: del, headers: { ...unsigned, 'x-amz-trailer': 'x-amz-checksum-crc32' } });
    expect([res.status, errorCode(res.text)]).toEqual([400, 'InvalidRequest']);
    await victimStays();
  });

  it('an aws-chunked body with a wrong trailing checksum is BadDigest and deletes nothing', async () => {
    const res = await rawRequest(server.port, { method: 'POST', path: `/${B}?delete`, body: chunked(del, wrongCrc32), headers: trailerHeaders(del) });
    expect([res.status, errorCode(res.text)]).toEqual([400, 'BadDigest']);
    await victimStays();
  });

  it('no digest at all is InvalidRequest (Content-MD5 required); the right trailer deletes', async () => {
    const none = await rawRequest(server.port, { method: 'POST', path: `/${B}?delete`, body: del, headers: unsigned });
    expect([none.status, errorCode(none.text)]).toEqual([400, 'InvalidRequest']);
    await victimStays();
    const ok = await rawRequest(server.port, { method: 'POST', path: `/${B}?delete`, body: chunked(del, crc32(del)), headers: trailerHeaders(del) });
    expect(ok.status, ok.text).toBe(200);
    expect((await sdkError(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'victim' })))).$metadata.httpStatusCode).toBe(404);
  });
});
