// Transfer acceleration configuration over real HTTP: the round trip with the SDK, its errors
// (changing nothing), and what it governs: the accelerated host serves a bucket never configured
// or Enabled, refuses a Suspended one (InvalidRequest) and drops what it cached of it, so that
// re-enabling starts from a miss. One in-process server (its regions' accelerated hosts read the
// store directly), a 1 s cache TTL.
import {
  CreateBucketCommand,
  GetBucketAccelerateConfigurationCommand,
  PutBucketAccelerateConfigurationCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { addTestKey, sendAs } from '../helpers/principals.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const bucket = 'accel-config';
const body = 'checkpoint-bytes-'.repeat(1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const viaAccel = (key: string, b = bucket, method = 'GET', headers: Record<string, string> = {}) =>
  rawRequest(server.port, { method, path: `/${b}/${key}`, host: `accel-object.lga1.localhost:${server.port}`, headers, sign: method === 'OPTIONS' ? false : undefined });
/** The edge cache's counters: origin requests made, entries held (metadata-only ones included). */
async function cacheStats(): Promise<{ originRequests: number; metaEntries: number }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/_strata/accel/stats`);
  expect(res.status).toBe(200);
  const { originRequests, metaEntries } = (await res.json()) as { originRequests: number; metaEntries: number };
  return { originRequests, metaEntries };
}
const getConfig = async (b = bucket) => (await server.client().send(new GetBucketAccelerateConfigurationCommand({ Bucket: b }))).Status;
const putConfig = (Status: 'Enabled' | 'Suspended', b = bucket) =>
  server.client().send(new PutBucketAccelerateConfigurationCommand({ Bucket: b, AccelerateConfiguration: { Status } }));

beforeAll(async () => {
  server = await startTestServer({ accelTtlSeconds: 1 });
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'model.bin', Body: body, ACL: 'public-read' }));
});
afterAll(async () => server?.stop());

describe('accelerate configuration', () => {
  it('serves a bucket never configured on the accelerated host, and GET says no Status', async () => {
    expect(await getConfig()).toBeUndefined();
    const first = await viaAccel('model.bin');
    expect(first.status, first.text).toBe(200);
    expect(first.text).toBe(body);
    expect((await viaAccel('model.bin')).headers['x-strata-cache']).toBe('hit');
  });

  it('refuses Suspended on the accelerated host, drops its cached bytes, and serves again once Enabled', async () => {
    await putConfig('Suspended');
    expect(await getConfig()).toBe('Suspended');
    // Regional reads are unaffected.
    const regional = await sendAs(server, 'anonymous', 'GET', `/${bucket}/model.bin`);
    expect(regional.status).toBe(200);
    await sleep(1200); // past the TTL: the edge looks at the bucket again
    const refused = await viaAccel('model.bin');
    expect(refused.status, refused.text).toBe(400);
    expect(errorCode(refused.text)).toBe('InvalidRequest');
    expect(refused.text).toContain('S3 Transfer Acceleration is not configured on this bucket');
    expect(refused.text).toContain('<RequestId>');
    await putConfig('Enabled');
    expect(await getConfig()).toBe('Enabled');
    await sleep(1200);
    const again = await viaAccel('model.bin');
    expect(again.status, again.text).toBe(200);
    expect(again.text).toBe(body);
    // What was cached before the suspension is gone: this read filled from the store again.
    expect(again.headers['x-strata-cache']).toBe('miss');
  });

  it('refuses malformed configurations, dotted bucket names and keys below full, changing nothing', async () => {
    for (const xml of ['<AccelerateConfiguration><Status>On</Status></AccelerateConfiguration>', '<AccelerateConfiguration/>', '<Other/>', 'not xml']) {
      const res = await sendAs(server, 'admin', 'PUT', `/${bucket}?accelerate`, { body: xml });
      expect(res.status, xml).toBe(400);
      expect(errorCode(res.text), xml).toBe('MalformedXML');
    }
    expect(await getConfig()).toBe('Enabled');

    await server.client().send(new CreateBucketCommand({ Bucket: 'dotted.name' }));
    const dotted = await sdkError(putConfig('Enabled', 'dotted.name'));
    expect(dotted.name).toBe('InvalidRequest');
    expect(await getConfig('dotted.name')).toBeUndefined();

    const writer = await addTestKey(server, 'default', 'accel-writer', 'readwrite');
    const refused = await sdkError(
      server.client({ credentials: writer }).send(new PutBucketAccelerateConfigurationCommand({ Bucket: bucket, AccelerateConfiguration: { Status: 'Suspended' } })),
    );
    expect(refused.name).toBe('AccessDenied');
    expect(await getConfig()).toBe('Enabled');
  });

  it('answers CORS from the bucket alone, and a Suspended bucket with an Origin asks the origin once and keeps nothing', async () => {
    const corsBucket = 'accel-config-cors';
    const site = 'https://app.example.com';
    const s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: corsBucket }));
    await s3.send(new PutObjectCommand({ Bucket: corsBucket, Key: 'page.txt', Body: 'cors page', ACL: 'public-read' }));
    await s3.send(new PutBucketCorsCommand({ Bucket: corsBucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: [site], AllowedMethods: ['GET'] }] } }));
    const preflight = (key: string) => viaAccel(key, corsBucket, 'OPTIONS', { origin: site, 'access-control-request-method': 'GET' });

    // Preflights for many keys are one bucket-only look-up: one origin request, one entry.
    const start = await cacheStats();
    for (const key of ['a', 'b/c', 'random-1', 'random-2']) {
      const res = await preflight(key);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(site);
    }
    const afterPreflights = await cacheStats();
    expect(afterPreflights.originRequests - start.originRequests).toBe(1);
    expect(afterPreflights.metaEntries - start.metaEntries).toBe(1);
    // An error raised before the object is looked at (a sub-resource) takes its CORS headers
    // from that bucket entry too: no origin request, no entry for the key.
    const refused = await viaAccel('other.txt?acl', corsBucket, 'GET', { origin: site });
    expect([refused.status, errorCode(refused.text)]).toEqual([400, 'InvalidRequest']);
    expect(refused.headers['access-control-allow-origin']).toBe(site);
    const afterRefusal = await cacheStats();
    expect([afterRefusal.originRequests, afterRefusal.metaEntries]).toEqual([afterPreflights.originRequests, afterPreflights.metaEntries]);
    const read = await viaAccel('page.txt', corsBucket, 'GET', { origin: site });
    expect(read.status, read.text).toBe(200);
    expect(read.headers['access-control-allow-origin']).toBe(site);

    await putConfig('Suspended', corsBucket);
    await sleep(1200); // past the TTL
    const before = await cacheStats();
    const suspended = await viaAccel('page.txt', corsBucket, 'GET', { origin: site });
    expect([suspended.status, errorCode(suspended.text)]).toEqual([400, 'InvalidRequest']);
    expect(suspended.text).toContain('S3 Transfer Acceleration is not configured on this bucket');
    // The refusal carries the bucket's CORS headers, from the answer that refused it.
    expect(suspended.headers['access-control-allow-origin']).toBe(site);
    const after = await cacheStats();
    // One origin request (the read's own), and both entries of the bucket (its object and the
    // bucket-only one) are gone: none was put back for the error's CORS headers.
    expect(after.originRequests - before.originRequests).toBe(1);
    expect(after.metaEntries).toBe(before.metaEntries - 2);
    // A preflight is refused too, and keeps nothing either.
    const refusedPreflight = await preflight('page.txt');
    expect([refusedPreflight.status, errorCode(refusedPreflight.text)]).toEqual([400, 'InvalidRequest']);
    expect((await cacheStats()).metaEntries).toBe(after.metaEntries);
  });
});
