// Requester-pays buckets over real HTTP with the SDK: the configuration's round trip and errors,
// and what Requester enforces: another organisation's key must send x-amz-request-payer
// (RequestPayer in the SDK) and is told x-amz-request-charged; anonymous requests are refused even
// on a public object; the owner is unaffected; BucketOwner lifts it all again.
import {
  CreateBucketCommand,
  GetBucketRequestPaymentCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutBucketRequestPaymentCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/raw.ts';
import { addTestKey, sendAs, type Creds } from '../helpers/principals.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let owner: S3Client;
let partner: S3Client;
let ownerWriter: Creds;
const bucket = 'payer-b';
const payer = async () => (await owner.send(new GetBucketRequestPaymentCommand({ Bucket: bucket }))).Payer;
const setPayer = (Payer: 'Requester' | 'BucketOwner', client = owner) =>
  client.send(new PutBucketRequestPaymentCommand({ Bucket: bucket, RequestPaymentConfiguration: { Payer } }));

beforeAll(async () => {
  server = await startTestServer();
  owner = server.client();
  partner = server.client({ credentials: await addTestKey(server, 'partner', 'reader', 'full') });
  ownerWriter = await addTestKey(server, 'default', 'payer-writer', 'readwrite');
  await owner.send(new CreateBucketCommand({ Bucket: bucket }));
  await owner.send(new PutObjectCommand({ Bucket: bucket, Key: 'dataset.tar', Body: 'rows', ACL: 'public-read' }));
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::partner:root' }, Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${bucket}/*` }],
  };
  await owner.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
});
afterAll(async () => server?.stop());

describe('request payment', () => {
  it('says BucketOwner for a bucket never configured, and round-trips Requester', async () => {
    expect(await payer()).toBe('BucketOwner');
    await setPayer('Requester');
    expect(await payer()).toBe('Requester');
  });

  it('makes another organisation say it pays, and tells it it was charged', async () => {
    const refused = await sdkError(partner.send(new GetObjectCommand({ Bucket: bucket, Key: 'dataset.tar' })));
    expect(refused.$metadata.httpStatusCode).toBe(403);
    expect(refused.name).toBe('AccessDenied');
    const put = await sdkError(partner.send(new PutObjectCommand({ Bucket: bucket, Key: 'from-partner', Body: 'x' })));
    expect(put.name).toBe('AccessDenied');
    expect((await sdkError(owner.send(new GetObjectCommand({ Bucket: bucket, Key: 'from-partner' })))).name).toBe('NoSuchKey');

    const got = await partner.send(new GetObjectCommand({ Bucket: bucket, Key: 'dataset.tar', RequestPayer: 'requester' }));
    expect(await got.Body!.transformToString()).toBe('rows');
    expect(got.RequestCharged).toBe('requester');
    const written = await partner.send(new PutObjectCommand({ Bucket: bucket, Key: 'from-partner', Body: 'x', RequestPayer: 'requester' }));
    expect(written.RequestCharged).toBe('requester');
  });

  it('leaves the owner unaffected and refuses anonymous requests, even to a public object', async () => {
    const own = await owner.send(new GetObjectCommand({ Bucket: bucket, Key: 'dataset.tar' }));
    expect(await own.Body!.transformToString()).toBe('rows');
    expect(own.RequestCharged).toBeUndefined();
    const anonymous = await sendAs(server, 'anonymous', 'GET', `/${bucket}/dataset.tar`);
    expect(anonymous.status).toBe(403);
    expect(errorCode(anonymous.text)).toBe('AccessDenied');
  });

  it('refuses malformed configurations and keys below full, changing nothing; BucketOwner lifts the rule', async () => {
    for (const xml of ['<RequestPaymentConfiguration><Payer>Nobody</Payer></RequestPaymentConfiguration>', '<RequestPaymentConfiguration/>', '<Other/>']) {
      const res = await sendAs(server, 'admin', 'PUT', `/${bucket}?requestPayment`, { body: xml });
      expect(res.status, xml).toBe(400);
      expect(errorCode(res.text), xml).toBe('MalformedXML');
    }
    const denied = await sdkError(setPayer('BucketOwner', server.client({ credentials: ownerWriter })));
    expect(denied.name).toBe('AccessDenied');
    expect(await payer()).toBe('Requester');

    await setPayer('BucketOwner');
    const got = await partner.send(new GetObjectCommand({ Bucket: bucket, Key: 'dataset.tar' }));
    expect(await got.Body!.transformToString()).toBe('rows');
    expect(got.RequestCharged).toBeUndefined();
    expect((await sendAs(server, 'anonymous', 'GET', `/${bucket}/dataset.tar`)).status).toBe(200);
  });
});
