// Regions (independent stores reached through their own host names) and per-region quotas,
// over real HTTP. Quotas are set tiny to prove every path: single PUT (declared and
// undeclared length), multipart, copy, overwrite, delete, and concurrent uploads racing for
// the last bytes.
import { CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand, S3Client, UploadPartCommand, CopyObjectCommand, DeleteObjectCommand, AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const repo = resolve(__dirname, '..', '..');
let server: TestServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
});
afterAll(async () => {
  await server.stop();
});

function regionHost(region: string, bucket?: string): string {
  return `${bucket ? bucket + '.' : ''}object.${region}.localhost:${server.port}`;
}

describe('regions', () => {
  it('keeps each region an independent store with per-region bucket names', async () => {
    for (const region of ['lga1', 'ord1', 'las1']) {
      const create = await rawRequest(server.port, { method: 'PUT', path: '/shared-name', host: regionHost(region) });
      expect(create.status, region).toBe(200);
      const put = await rawRequest(server.port, { method: 'PUT', path: '/where.txt', host: regionHost(region, 'shared-name'), body: `stored in ${region}` });
      expect(put.status).toBe(200);
    }
    for (const region of ['lga1', 'ord1', 'las1']) {
      const got = await rawRequest(server.port, { path: '/shared-name/where.txt', host: regionHost(region) });
      expect(got.text).toBe(`stored in ${region}`);
      const loc = await rawRequest(server.port, { path: '/shared-name?location', host: regionHost(region) });
      expect(loc.text).toContain(`>${region}</LocationConstraint>`);
    }
    // An object stored in one region is not visible in another.
    await rawRequest(server.port, { method: 'PUT', path: '/only-ord1', host: regionHost('ord1') });
    const missing = await rawRequest(server.port, { path: '/only-ord1', host: regionHost('las1') });
    expect(missing.status).toBe(404);
    expect(errorCode(missing.text)).toBe('NoSuchBucket');
    // Each region has its own database and blobs on disk.
    expect(readdirSync(join(server.dataDir, 'regions')).sort()).toEqual(['las1', 'lga1', 'ord1']);
  });

  it('lets different organisations own the same bucket name in different regions', async () => {
    await server.services.identity.addKey({ org: 'other-org', user: 'u', namespace: 'other-org', level: 'full', accessKey: 'OTHERORGKEY000000001', secretKey: 'other-org-secret-0000000000000000000000', secretName: 'other-org-u' });
    const sign = { accessKeyId: 'OTHERORGKEY000000001', secretAccessKey: 'other-org-secret-0000000000000000000000' };
    const mine = await rawRequest(server.port, { method: 'PUT', path: '/contested', host: regionHost('lga1') });
    expect(mine.status).toBe(200);
    const theirsSameRegion = await rawRequest(server.port, { method: 'PUT', path: '/contested', host: regionHost('lga1'), sign });
    expect(errorCode(theirsSameRegion.text)).toBe('BucketAlreadyExists');
    const theirsElsewhere = await rawRequest(server.port, { method: 'PUT', path: '/contested', host: regionHost('las1'), sign });
    expect(theirsElsewhere.status).toBe(200);
  });

  it('sends hosts that name no region to the default region, and checks the signing region', async () => {
    const viaIp = await rawRequest(server.port, { path: '/shared-name/where.txt' });
    expect(viaIp.text).toBe('stored in lga1');
    const wrongRegion = await rawRequest(server.port, { path: '/shared-name/where.txt', sign: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey, region: 'eu-west-1' } });
    expect(wrongRegion.status).toBe(400);
    expect(errorCode(wrongRegion.text)).toBe('AuthorizationHeaderMalformed');
    expect(wrongRegion.text).toContain("'default'");
    const seedRegion = await rawRequest(server.port, { path: '/shared-name/where.txt', sign: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey, region: 'default' } });
    expect(seedRegion.status).toBe(200);
  });
});

describe('quotas', () => {
  const org = 'quota-org';
  const sign = { accessKeyId: 'QUOTAORGKEY000000001', secretAccessKey: 'quota-org-secret-000000000000000000000000' };
  let q: S3Client;
  // The CLI works on the server's metadata: the data root, and the database when there is one.
  const cli = (...args: string[]) =>
    run(join(repo, 'bin', 'strata'), args, { env: { ...process.env, STRATA_DATA_DIR: server.dataDir, STRATA_METADATA_URL: server.services.config.metadataUrl ?? '' } });
  const usage = async () => (await server.services.regions.get('lga1')!.usageOf(org)).bytes;

  beforeAll(async () => {
    await server.services.identity.addKey({ org, user: 'u', namespace: org, level: 'full', accessKey: sign.accessKeyId, secretKey: sign.secretAccessKey, secretName: 'quota-org-u' });
    q = server.client({ credentials: sign });
    await q.send(new CreateBucketCommand({ Bucket: 'quota-bucket' }));
    const set = await cli('quota', 'set', org, '100000', '--region', 'lga1');
    expect(set.stdout).toContain('100000 bytes');
  });

  async function expectQuotaExceeded(p: Promise<unknown>): Promise<void> {
    await expect(p).rejects.toMatchObject({ name: 'QuotaExceeded', $metadata: { httpStatusCode: 403 } });
  }

  it('refuses a PUT whose declared length would exceed the quota, before reading the body', async () => {
    await q.send(new PutObjectCommand({ Bucket: 'quota-bucket', Key: 'a', Body: randomBytes(60_000) }));
    expect(await usage()).toBe(60_000);
    await expectQuotaExceeded(q.send(new PutObjectCommand({ Bucket: 'quota-bucket', Key: 'b', Body: randomBytes(50_000) })));
    expect(await usage()).toBe(60_000);
  });

  it('stops an upload without a declared length when it crosses the limit, leaving nothing', async () => {
    const before = readdirSync(join(server.dataDir, 'regions', 'lga1', 'tmp')).length;
    // A chunked body without Content-Length: the server only learns its size as it arrives.
    const res = await rawRequest(server.port, { method: 'PUT', path: '/quota-bucket/streamed', sign, body: Readable.from([randomBytes(30_000), randomBytes(30_000)]) });
    expect(res.status).toBe(403);
    expect(errorCode(res.text)).toBe('QuotaExceeded');
    expect(await usage()).toBe(60_000);
    expect(readdirSync(join(server.dataDir, 'regions', 'lga1', 'tmp')).length).toBe(before);
    const head = await rawRequest(server.port, { method: 'HEAD', path: '/quota-bucket/streamed', sign });
    expect(head.status).toBe(404);
  });

  it('credits overwrites and deletes', async () => {
    // 60,000 stored; overwriting 'a' with 90,000 fits because the old 60,000 are credited.
    await q.send(new PutObjectCommand({ Bucket: 'quota-bucket', Key: 'a', Body: randomBytes(90_000) }));
    expect(await usage()).toBe(90_000);
    await q.send(new DeleteObjectCommand({ Bucket: 'quota-bucket', Key: 'a' }));
    expect(await usage()).toBe(0);
  });

  it('counts unfinished multipart parts and refuses parts beyond the quota', async () => {
    const up = await q.send(new CreateMultipartUploadCommand({ Bucket: 'quota-bucket', Key: 'mp' }));
    await q.send(new UploadPartCommand({ Bucket: 'quota-bucket', Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: randomBytes(70_000) }));
    expect(await usage()).toBe(70_000);
    await expectQuotaExceeded(q.send(new UploadPartCommand({ Bucket: 'quota-bucket', Key: 'mp', UploadId: up.UploadId, PartNumber: 2, Body: randomBytes(40_000) })));
    // Re-uploading part 1 credits the old part.
    await q.send(new UploadPartCommand({ Bucket: 'quota-bucket', Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: randomBytes(95_000) }));
    expect(await usage()).toBe(95_000);
    await q.send(new AbortMultipartUploadCommand({ Bucket: 'quota-bucket', Key: 'mp', UploadId: up.UploadId }));
    expect(await usage()).toBe(0);
  });

  it('refuses a copy that would exceed the quota', async () => {
    await q.send(new PutObjectCommand({ Bucket: 'quota-bucket', Key: 'src', Body: randomBytes(60_000) }));
    await expectQuotaExceeded(q.send(new CopyObjectCommand({ Bucket: 'quota-bucket', Key: 'copy', CopySource: 'quota-bucket/src' })));
    expect(await usage()).toBe(60_000);
    await q.send(new DeleteObjectCommand({ Bucket: 'quota-bucket', Key: 'src' }));
  });

  it('lets exactly one of several concurrent uploads take the last bytes', async () => {
    expect(await usage()).toBe(0);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => q.send(new PutObjectCommand({ Bucket: 'quota-bucket', Key: `race-${i}`, Body: randomBytes(40_000) }))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(2);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { name: string }).name).toBe('QuotaExceeded');
    expect(await usage()).toBe(80_000);
  });

  it('is per region, reported by the usage command, and consistent with the metadata', async () => {
    const elsewhere = await rawRequest(server.port, { method: 'PUT', path: '/quota-bucket-ord1', host: regionHost('ord1'), sign });
    expect(elsewhere.status).toBe(200);
    const big = await rawRequest(server.port, { method: 'PUT', path: '/big', host: regionHost('ord1', 'quota-bucket-ord1'), sign, body: randomBytes(150_000) });
    expect(big.status).toBe(200);
    const report = await cli('usage', '--org', org);
    expect(report.stdout).toMatch(/lga1\s+quota-org\s+80000\s+2\s+100000/);
    expect(report.stdout).toMatch(/ord1\s+quota-org\s+150000\s+1\s+32985348833280/);
    const check = await cli('usage', 'check');
    expect(check.stdout).toContain('usage consistent');
    // A counter that drifted (edited behind Strata's back) is found by the check.
    await server.services.regions.get('las1')!.meta.transaction((tx) => tx.addUsage('ghost', 5, 1));
    await expect(cli('usage', 'check')).rejects.toMatchObject({ stdout: expect.stringContaining('ghost') });
  });

  it('survives a restart', async () => {
    expect(await usage()).toBe(80_000);
    const dataDir = server.dataDir;
    await server.close();
    server = await startTestServer({ dataDir, metadataUrl: server.services.config.metadataUrl });
    expect(await usage()).toBe(80_000);
    const err = await rawRequest(server.port, { method: 'PUT', path: '/quota-bucket/over', sign, body: randomBytes(30_000) });
    expect(err.status).toBe(403);
    expect(errorCode(err.text)).toBe('QuotaExceeded');
    const fits = await rawRequest(server.port, { method: 'PUT', path: '/quota-bucket/fits', sign, body: randomBytes(20_000) });
    expect(fits.status).toBe(200);
  });
});
