// Deeply nested request documents answer their own 400 error over the wire, not 500, and change
// nothing: a bucket policy of 11,000 nested arrays, a DeleteObjects body and a tagging body of
// 11,000 nested elements.
import { GetBucketPolicyCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
const n = 11_000;

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  expect((await rawRequest(server.port, { method: 'PUT', path: '/deep' })).status).toBe(200);
  await s3.send(new PutObjectCommand({ Bucket: 'deep', Key: 'victim', Body: 'x' }));
});
afterAll(async () => {
  await server.stop();
});

describe('deeply nested documents', () => {
  it('PutBucketPolicy: 400 MalformedPolicy, no policy stored', async () => {
    const body = `{"Version":"2012-10-17","Statement":${'['.repeat(n)}${']'.repeat(n)}}`;
    const res = await rawRequest(server.port, { method: 'PUT', path: '/deep?policy', body });
    expect([res.status, errorCode(res.text)]).toEqual([400, 'MalformedPolicy']);
    expect(res.text).toContain('<RequestId>');
    expect((await sdkError(s3.send(new GetBucketPolicyCommand({ Bucket: 'deep' })))).name).toBe('NoSuchBucketPolicy');
  });

  it('DeleteObjects and PutObjectTagging: 400 with their XML error codes, nothing deleted or tagged', async () => {
    const nested = '<Object>'.repeat(n) + '</Object>'.repeat(n);
    const body = `<Delete><Object><Key>victim</Key></Object>${nested}</Delete>`;
    const md5 = createHash('md5').update(body).digest('base64');
    const del = await rawRequest(server.port, { method: 'POST', path: '/deep?delete', body, headers: { 'content-md5': md5 } });
    expect([del.status, errorCode(del.text)]).toEqual([400, 'MalformedXML']);
    // Tagging bodies are capped smaller than DeleteObjects bodies: 500 levels fit under the cap.
    const tag = await rawRequest(server.port, { method: 'PUT', path: '/deep/victim?tagging', body: `<Tagging><TagSet>${'<Tag>'.repeat(500)}${'</Tag>'.repeat(500)}</TagSet></Tagging>` });
    expect([tag.status, errorCode(tag.text)]).toEqual([400, 'MalformedXML']);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'deep', Key: 'victim' }))).ContentLength).toBe(1);
  });
});
