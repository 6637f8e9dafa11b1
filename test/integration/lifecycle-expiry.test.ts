// Lifecycle rules carried out: objects, noncurrent versions, delete markers and unfinished uploads
// actually go, through the store's own delete paths (usage drops, blobs are released, usage stays
// consistent with a recount). Passes run in-process with the worker's own function, judged by a
// clock set days ahead, so nothing here waits for a day; the background worker and a restart are
// in lifecycle-worker.test.ts.
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRegionRound } from '../../src/lifecycle/worker.ts';
import type { RegionStore } from '../../src/store/region-store.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const day = 86_400_000;
let server: TestServer;
let s3: S3Client;
let store: RegionStore;

/** One pass over every bucket, as the worker runs it, judged `days` days from now. */
const passIn = (days: number, bucket?: string) => runRegionRound(store, { dayMs: day, bucket, now: () => Date.now() + days * day });

const putRules = (Bucket: string, Rules: LifecycleRule[]) => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules } }));
const keys = async (Bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? []).map((o) => o.Key);
const history = async (Bucket: string) => {
  const res = await s3.send(new ListObjectVersionsCommand({ Bucket }));
  return {
    versions: (res.Versions ?? []).map((v) => `${v.Key}${v.IsLatest ? '*' : ''}`),
    markers: (res.DeleteMarkers ?? []).map((m) => `${m.Key}${m.IsLatest ? '*' : ''}`),
  };
};
const versioned = async (Bucket: string) => {
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
};

beforeAll(async () => {
  server = await startTestServer({ lifecycleIntervalSeconds: 0 });
  s3 = server.client();
  store = server.services.regions.get('lga1')!;
});
afterAll(async () => server?.stop());

describe('expiring current objects', () => {
  it('deletes matching objects once their days have passed, and their usage and blobs go with them', async () => {
    const b = 'lc-plain';
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    const body = 'x'.repeat(200_000); // large enough to be a blob file, not inline
    for (const key of ['logs/a', 'logs/b', 'keep/c']) await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body }));
    await putRules(b, [{ ID: 'logs', Prefix: 'logs/', Status: 'Enabled', Expiration: { Days: 2 } }]);
    const before = await store.usageOf('default');

    expect((await passIn(0, b)).expired).toBe(0);
    expect((await passIn(1, b)).expired).toBe(0);
    expect(await keys(b)).toEqual(['keep/c', 'logs/a', 'logs/b']);

    const stats = await passIn(3, b);
    expect(stats.expired).toBe(2);
    // Only keys under the rules' common prefix were read.
    expect(stats.examined).toBe(2);
    expect(await keys(b)).toEqual(['keep/c']);
    const after = await store.usageOf('default');
    expect(before.bytes - after.bytes).toBe(2 * body.length);
    expect(before.objects - after.objects).toBe(2);
    expect(await store.checkUsage()).toEqual([]);
    // The released blob files are unlinked after the commit (SQLite), or wait in dead_blobs for the
    // shared data directory's collector (PostgreSQL, where another node may still be reading them).
    if (store.meta.engine === 'sqlite') await expect.poll(async () => (await store.meta.deadBlobs(100)).length).toBe(0);
    else expect((await store.meta.deadBlobs(100)).length).toBe(2);
    expect((await store.meta.bucketStats(b)).bytes).toBe(body.length);
  });

  it('applies tag, size and And filters, and a Date', async () => {
    const b = 'lc-filters';
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    const put = (Key: string, Body: string, Tagging?: string) => s3.send(new PutObjectCommand({ Bucket: b, Key, Body, Tagging }));
    await put('t/tagged', 'x', 'class=scratch');
    await put('t/other-tag', 'x', 'class=gold');
    await put('s/small', 'x'.repeat(10));
    await put('s/big', 'x'.repeat(5000));
    await put('a/both', 'x'.repeat(100), 'a=1&b=2');
    await put('a/one-tag', 'x'.repeat(100), 'a=1');
    await put('a/too-big', 'x'.repeat(9000), 'a=1&b=2');
    await put('d/dated', 'x');
    await put('c/both', 'x', 'c=1');
    await put('c/untagged', 'x');
    await put('elsewhere/tagged', 'x', 'c=1');
    await putRules(b, [
      { ID: 'tag', Filter: { Tag: { Key: 'class', Value: 'scratch' } }, Status: 'Enabled', Expiration: { Days: 1 } },
      { ID: 'size', Filter: { ObjectSizeGreaterThan: 1000 }, Status: 'Enabled', Expiration: { Days: 1 } },
      { ID: 'and', Filter: { And: { Prefix: 'a/', Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }], ObjectSizeLessThan: 1000 } }, Status: 'Enabled', Expiration: { Days: 1 } },
      { ID: 'date', Filter: { Prefix: 'd/' }, Status: 'Enabled', Expiration: { Date: new Date('2020-01-01T00:00:00Z') } },
      { ID: 'disabled', Filter: {}, Status: 'Disabled', Expiration: { Days: 1 } },
      // Prefix and Tag straight in the Filter, as ceph/s3-tests sends them: both must hold.
      { ID: 'conjunction', Filter: { Prefix: 'c/', Tag: { Key: 'c', Value: '1' } }, Status: 'Enabled', Expiration: { Days: 1 } },
    ]);
    // The Date is past: that rule acts today; the others after their day.
    expect((await passIn(0, b)).expired).toBe(1);
    expect(await keys(b)).not.toContain('d/dated');
    await passIn(2, b);
    // a/too-big goes by the size rule (over 1000 bytes), not by the And rule.
    expect(await keys(b)).toEqual(['a/one-tag', 'c/untagged', 'elsewhere/tagged', 's/small', 't/other-tag']);
  });
});

describe('versioned buckets', () => {
  it('hides an expired current version behind a delete marker, keeping the version noncurrent', async () => {
    const b = 'lc-versioned';
    await versioned(b);
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'v1' }));
    await putRules(b, [{ ID: 'cur', Prefix: '', Status: 'Enabled', Expiration: { Days: 1 } }]);
    const before = await store.usageOf('default');
    expect((await passIn(2, b)).expired).toBe(1);
    expect(await keys(b)).toEqual([]);
    expect(await history(b)).toEqual({ versions: ['doc'], markers: ['doc*'] });
    // Noncurrent versions still count: nothing was freed.
    expect((await store.usageOf('default')).bytes).toBe(before.bytes);
    // A later pass leaves the marker alone: a version is still below it.
    await passIn(4, b);
    expect(await history(b)).toEqual({ versions: ['doc'], markers: ['doc*'] });
  });

  it('removes noncurrent versions after NoncurrentDays, keeping NewerNoncurrentVersions, and frees their usage', async () => {
    const b = 'lc-noncurrent';
    await versioned(b);
    for (let i = 0; i < 6; i++) await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: `version ${i}` }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'other', Body: 'only' }));
    await putRules(b, [{ ID: 'nc', Filter: { Prefix: '' }, Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 2 } }]);
    const before = await store.usageOf('default');
    expect((await passIn(0, b)).versionsRemoved).toBe(0);
    const stats = await passIn(2, b);
    // Five noncurrent versions: the two newest stay.
    expect(stats.versionsRemoved).toBe(3);
    expect((await history(b)).versions).toEqual(['k*', 'k', 'k', 'other*']);
    const after = await store.usageOf('default');
    expect(before.objects - after.objects).toBe(3);
    expect(before.bytes - after.bytes).toBe(3 * 'version 0'.length);
    expect(await store.checkUsage()).toEqual([]);
  });

  it('removes a delete marker left as the only version (ExpiredObjectDeleteMarker), in the pass that removed what was below it', async () => {
    const b = 'lc-markers';
    await versioned(b);
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'gone', Body: 'old' }));
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'gone' }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'lives', Body: 'here' }));
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'bare' })); // a marker with nothing below it
    await putRules(b, [
      { ID: 'dm', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { ExpiredObjectDeleteMarker: true }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
    ]);
    // Today: only the bare marker is expired; gone's version is noncurrent for less than a day.
    await passIn(0, b);
    expect(await history(b)).toEqual({ versions: ['gone', 'lives*'], markers: ['gone*'] });
    await passIn(2, b);
    expect(await history(b)).toEqual({ versions: ['lives*'], markers: [] });
  });

  it('removes a lone delete marker under an Expiration with Days once the marker is that old', async () => {
    const b = 'lc-marker-days';
    await versioned(b);
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'm' }));
    await putRules(b, [{ ID: 'days', Prefix: '', Status: 'Enabled', Expiration: { Days: 3 } }]);
    await passIn(1, b);
    expect((await history(b)).markers).toEqual(['m*']);
    await passIn(4, b);
    expect((await history(b)).markers).toEqual([]);
  });
});

describe('unfinished multipart uploads', () => {
  it('aborts uploads older than DaysAfterInitiation under the rule prefix, and their parts stop counting', async () => {
    const b = 'lc-uploads';
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    const started = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'incoming/big' }));
    await s3.send(new UploadPartCommand({ Bucket: b, Key: 'incoming/big', UploadId: started.UploadId, PartNumber: 1, Body: 'p'.repeat(300_000) }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'other/big' }));
    await putRules(b, [{ ID: 'mpu', Prefix: 'incoming/', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }]);
    const before = await store.usageOf('default');
    expect((await passIn(0, b)).uploadsAborted).toBe(0);
    expect((await passIn(2, b)).uploadsAborted).toBe(1);
    const left = (await s3.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads ?? [];
    expect(left.map((u) => u.Key)).toEqual(['other/big']);
    expect(before.bytes - (await store.usageOf('default')).bytes).toBe(300_000);
    expect(await store.checkUsage()).toEqual([]);
  });
});

describe('a pass in pages', () => {
  it('saves its position after each page and goes on from there, not from the start', async () => {
    const b = 'lc-resume';
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    for (let i = 0; i < 10; i++) await s3.send(new PutObjectCommand({ Bucket: b, Key: `a/${i}`, Body: 'kept' }));
    for (let i = 0; i < 10; i++) await s3.send(new PutObjectCommand({ Bucket: b, Key: `z/${i}`, Body: 'expires' }));
    await putRules(b, [{ ID: 'z', Filter: { ObjectSizeGreaterThan: 5 }, Status: 'Enabled', Expiration: { Days: 1 } }]);
    const later = () => Date.now() + 2 * day;
    // Stopped after its first page (the a/ keys, too small for the rule): nothing expired yet, the position kept.
    const first = await runRegionRound(store, { dayMs: day, bucket: b, now: later, pageSize: 10, afterPage: () => false });
    expect(first).toMatchObject({ stopped: true, examined: 10, expired: 0 });
    expect((await store.getBucket(b))!.config!.lifecycleProgress).toMatchObject({ phase: 'versions', keyMarker: 'a/9' });
    // The next round reads only what was left.
    const second = await runRegionRound(store, { dayMs: day, bucket: b, now: later, pageSize: 10 });
    expect(second).toMatchObject({ stopped: false, examined: 10, expired: 10 });
    expect((await keys(b)).length).toBe(10);
    expect((await store.getBucket(b))!.config!.lifecycleProgress).toBeUndefined();
  });
});
