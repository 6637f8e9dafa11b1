// Requester-pays buckets over real HTTP with the SDK: the configuration's round trip and errors,
// and what Requester enforces: another organisation's key must send x-amz-request-payer
// (RequestPayer in the SDK) and is told x-amz-request-charged; anonymous requests are refused even
// on a public object; the owner is unaffected; BucketOwner lifts it all again.
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketRequestPaymentCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutBucketRequestPaymentCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async.ts';
import { run } from '../helpers/cli-clients.ts';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { addTestKey, sendAs, type Creds } from '../helpers/principals.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

const repo = join(import.meta.dirname, '..', '..');
let server: TestServer;
let owner: S3Client;
let partner: S3Client;
let ownerWriter: Creds;
let partnerCreds: Creds;
const bucket = 'payer-b';
const payer = async () => (await owner.send(new GetBucketRequestPaymentCommand({ Bucket: bucket }))).Payer;
const setPayer = (Payer: 'Requester' | 'BucketOwner', client = owner) =>
  client.send(new PutBucketRequestPaymentCommand({ Bucket: bucket, RequestPaymentConfiguration: { Payer } }));

beforeAll(async () => {
  server = await startTestServer();
  owner = server.client();
  partnerCreds = await addTestKey(server, 'partner', 'reader', 'full');
  partner = server.client({ credentials: partnerCreds });
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

  it('counts what the other organisation paid for, reported by strata usage (not refused requests, not the owner)', async () => {
    const region = server.services.config.defaultRegion;
    // The count is written once the answer is sent: wait for the two charged requests above.
    await eventually(async () => expect((await server.services.regions.get(region)!.requesterCharges()).map((c) => c.requests)).toEqual([2]), 5000);
    const report = await run(join(repo, 'bin', 'strata'), ['usage', '--org', 'partner'], {
      env: { ...process.env, STRATA_DATA_DIR: server.dataDir, STRATA_METADATA_URL: server.services.config.metadataUrl ?? '' },
    });
    expect(report.stdout).toContain('Paid as requester');
    // GET of 'rows' (4 bytes out) and PUT of 'x' (1 byte in).
    expect(report.stdout).toMatch(new RegExp(`${region}\\s+partner\\s+${bucket}\\s+default\\s+2\\s+1\\s+4\\n`));
    const owners = await run(join(repo, 'bin', 'strata'), ['usage', '--org', 'default'], {
      env: { ...process.env, STRATA_DATA_DIR: server.dataDir, STRATA_METADATA_URL: server.services.config.metadataUrl ?? '' },
    });
    expect(owners.stdout).not.toContain('Paid as requester');
  });

  it('is enforced and counted on the accelerated host too', async () => {
    const region = server.services.config.defaultRegion;
    const viaAccel = (headers: Record<string, string>, sign: Creds | false = partnerCreds) =>
      rawRequest(server.port, { method: 'GET', path: `/${bucket}/dataset.tar`, host: `accel-object.${region}.localhost:${server.port}`, headers, sign });
    const refused = await viaAccel({});
    expect([refused.status, errorCode(refused.text)]).toEqual([403, 'AccessDenied']);
    expect((await viaAccel({}, false)).status).toBe(403);
    const served = await viaAccel({ 'x-amz-request-payer': 'requester' });
    expect([served.status, served.text, served.headers['x-amz-request-charged']]).toEqual([200, 'rows', 'requester']);
    await eventually(async () => expect((await server.services.regions.get(region)!.requesterCharges()).map((c) => [c.requests, c.bytesOut])).toEqual([[3, 8]]), 5000);
  });

  it('counts the bytes actually moved: a download cut short and a chunked upload with no declared length', async () => {
    const region = server.services.config.defaultRegion;
    const store = server.services.regions.get(region)!;
    const before = (await store.requesterCharges())[0];
    const big = randomBytes(16 * 1024 * 1024);
    await owner.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.bin', Body: big }));
    // A client that hangs up after the first bytes is counted all the same, for what was sent.
    const url = new URL(`${server.endpoint}/${bucket}/big.bin`);
    const signed = { host: url.host, path: url.pathname, method: 'GET', headers: { 'x-amz-request-payer': 'requester' }, service: 's3', region: 'us-east-1' };
    aws4.sign(signed, partnerCreds);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: server.port, path: signed.path, headers: signed.headers }, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    await eventually(async () => expect((await store.requesterCharges())[0].requests).toBe(before.requests + 1), 5000);
    const cut = (await store.requesterCharges())[0];
    expect(cut.bytesOut - before.bytesOut).toBeGreaterThan(0);
    expect(cut.bytesOut - before.bytesOut).toBeLessThan(big.length);
    // Transfer-Encoding: chunked, no Content-Length: the bytes received are counted, not a declared length.
    const chunked = await rawRequest(server.port, { method: 'PUT', path: `/${bucket}/chunked.bin`, body: Readable.from([randomBytes(70_000), randomBytes(30_000)]), headers: { 'x-amz-request-payer': 'requester' }, sign: partnerCreds });
    expect(chunked.status, chunked.text).toBe(200);
    await eventually(async () => expect((await store.requesterCharges())[0].requests).toBe(cut.requests + 1), 5000);
    expect((await store.requesterCharges())[0].bytesIn - cut.bytesIn).toBe(100_000);
  });

  it('answers CORS preflights (never signed) by the bucket rules, uncharged', async () => {
    await owner.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET'] }] } }));
    const preflight = await rawRequest(server.port, {
      method: 'OPTIONS', path: `/${bucket}/dataset.tar`, sign: false, headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    expect([preflight.status, preflight.headers['access-control-allow-origin'], preflight.headers['x-amz-request-charged']]).toEqual([200, 'https://app.example', undefined]);
    await owner.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
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
