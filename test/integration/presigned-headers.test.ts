// A presigned PUT URL for one key must not become a copy of another object, or an ACL change:
// x-amz-* headers its signer did not sign are refused (403 AccessDenied, HeadersNotSigned) and
// nothing is written. SDK presigned URLs keep working as they do.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  for (const b of ['private', 'uploads']) expect((await rawRequest(server.port, { method: 'PUT', path: `/${b}` })).status).toBe(200);
  await s3.send(new PutObjectCommand({ Bucket: 'private', Key: 'payroll.csv', Body: 'name,salary\nalice,1000000\n' }));
});
afterAll(async () => {
  await server.stop();
});

async function send(url: string, headers: Record<string, string>, body?: string) {
  const res = await request(url, { method: 'PUT', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

describe('presigned URLs refuse unsigned x-amz-* headers', () => {
  it('a PUT URL for uploads/slot.bin cannot copy private/payroll.csv into it and make it public', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'uploads', Key: 'slot.bin' }), { expiresIn: 300 });
    const res = await send(url, { 'x-amz-copy-source': 'private/payroll.csv', 'x-amz-acl': 'public-read' });
    expect([res.status, errorCode(res.text)]).toEqual([403, 'AccessDenied']);
    expect(res.text).toContain('<HeadersNotSigned>x-amz-acl, x-amz-copy-source</HeadersNotSigned>');
    // Nothing was written: the key does not exist, for its owner or anonymously.
    expect((await sdkError(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'slot.bin' })))).$metadata.httpStatusCode).toBe(404);
    const anonymous = await rawRequest(server.port, { path: '/uploads/slot.bin', sign: false });
    expect(anonymous.status).not.toBe(200);
    expect(anonymous.text).not.toContain('salary');
  });

  it('an unsigned x-amz-meta-*, x-amz-tagging or x-amz-grant-* header on a presigned PUT writes nothing', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'uploads', Key: 'tagged.bin' }), { expiresIn: 300 });
    for (const [name, value] of [['x-amz-meta-owner', 'mallory'], ['x-amz-tagging', 'public=yes'], ['x-amz-grant-read', 'uri="http://acs.amazonaws.com/groups/global/AllUsers"']]) {
      const res = await send(url, { [name]: value }, 'data');
      expect([res.status, errorCode(res.text)], name).toEqual([403, 'AccessDenied']);
    }
    expect((await sdkError(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'tagged.bin' })))).$metadata.httpStatusCode).toBe(404);
  });

  it('SDK presigned PUT URLs still work: plain, with values hoisted into the query, and with a signed x-amz-acl header', async () => {
    const plain = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'uploads', Key: 'plain.bin' }), { expiresIn: 300 });
    expect((await send(plain, {}, 'plain bytes')).status).toBe(200);
    const hoisted = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'uploads', Key: 'hoisted.bin', ACL: 'private', Tagging: 'a=b', Metadata: { note: 'x' } }), { expiresIn: 300 });
    expect((await send(hoisted, {}, 'hoisted bytes')).status).toBe(200);
    const signedAcl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'uploads', Key: 'acl.bin', ACL: 'private' }), { expiresIn: 300, unhoistableHeaders: new Set(['x-amz-acl']) });
    expect((await send(signedAcl, { 'x-amz-acl': 'private' }, 'acl bytes')).status).toBe(200);
    // the header x-amz-content-sha256 may accompany a presigned URL unsigned
    expect((await send(plain, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, 'plain again')).status).toBe(200);
    for (const [key, text] of [['plain.bin', 'plain again'], ['hoisted.bin', 'hoisted bytes'], ['acl.bin', 'acl bytes']]) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: key }));
      expect(await got.Body!.transformToString()).toBe(text);
    }
  });
});
