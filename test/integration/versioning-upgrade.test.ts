// Upgrade in place: a data root written by the release before versioning (the fixture in
// test/fixtures/pre-versioning, see its README) is opened by today's server. Every object must
// come back byte-exact as its key's null version, the unfinished upload must still complete,
// no blob may be lost to the start-up sweep, and usage and quotas must still add up.
import {
  CompleteMultipartUploadCommand, GetBucketVersioningCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectVersionsCommand, ListObjectsV2Command, ListPartsCommand, PutBucketVersioningCommand,
  PutObjectCommand, S3Client, UploadPartCommand, DeleteObjectCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegionStore } from '../../src/store/region-store.ts';
import {
  fixtureAccessKey, fixtureBucket, fixtureBytes, fixtureEmptyBucket, fixtureInlineMaxBytes, fixtureObject, fixtureObjects,
  fixturePendingUpload, fixtureReplaced, fixtureSecretKey,
} from '../fixtures/pre-versioning/contents.ts';
import { rawRequest } from '../helpers/raw.ts';
import { restoreDatabase } from '../fixtures/sql-dump.ts';
import { sdkError, startTestServer, testAccessKey, testSecretKey, type TestServer } from '../helpers/server.ts';
import type { SqliteRegionMetadata } from '../../src/store/meta/sqlite.ts';

// The data root as text: region databases as SQL dumps beside their blob files (see the fixture's README).
const fixture = resolve(__dirname, '..', 'fixtures', 'pre-versioning', 'root');
const B = fixtureBucket;
const startedAt = Date.now();
let root: string;
let server: TestServer;
let s3: S3Client;
let store: RegionStore;

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
/** A tag set as `k=v&k=v`, sorted by key (S3 returns tag sets sorted). */
const tagString = (tags: { Key?: string; Value?: string }[] | undefined) => (tags ?? []).map((t) => `${t.Key}=${t.Value}`).join('&');
const sortedTagging = (tagging: string | undefined) => (tagging ? tagging.split('&').sort().join('&') : '');
const bytesOf = async (key: string, VersionId?: string) =>
  Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: key, VersionId }))).Body!.transformToByteArray());

/** The blob files of region lga1 (what the start-up sweep could wrongly delete). */
function blobFiles(): string[] {
  const dir = join(root, 'regions', 'lga1', 'blobs');
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile()).map((f) => f.split('/').pop()!).sort();
}

async function start(): Promise<void> {
  server = await startTestServer({ dataDir: root, inlineMaxBytes: fixtureInlineMaxBytes });
  s3 = server.client();
  store = server.services.regions.get('lga1')!;
}

/** Bytes and objects the fixture's organisation had: its objects plus the unfinished upload's parts. */
const fixtureUsage = {
  bytes: fixtureObjects.reduce((n, o) => n + o.body.length, 0) + [...fixturePendingUpload.parts.values()].reduce((n, p) => n + p.length, 0),
  objects: fixtureObjects.length,
};

beforeAll(async () => {
  // The fixture was made with the same key the test helper starts servers with.
  expect([fixtureAccessKey, fixtureSecretKey]).toEqual([testAccessKey, testSecretKey]);
  root = mkdtempSync(join(tmpdir(), 'strata-upgrade-'));
  cpSync(fixture, root, { recursive: true });
  for (const region of readdirSync(join(root, 'regions'))) {
    const dump = join(root, 'regions', region, 'meta.sql');
    restoreDatabase(readFileSync(dump, 'utf8'), join(root, 'regions', region, 'meta.db'));
    rmSync(dump);
  }
  await start();
});
afterAll(async () => {
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('a data root from before versioning', () => {
  it('starts without losing a blob: files and inline blobs are all still referenced', async () => {
    // Bodies and parts above the inline limit were files, the rest rows of inline_blobs.
    const sizes = [...fixtureObjects.flatMap((o) => o.parts ?? [o.body.length]), ...[...fixturePendingUpload.parts.values()].map((p) => p.length)];
    const inFiles = sizes.filter((n) => n > fixtureInlineMaxBytes).length;
    expect(blobFiles().length).toBe(inFiles);
    expect(readdirSync(join(fixture, 'regions', 'lga1', 'blobs'), { recursive: true }).map(String).filter((f) => f.includes('/')).map((f) => f.split('/').pop()).sort()).toEqual(blobFiles());
    const inline = (store.meta as SqliteRegionMetadata).db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM inline_blobs').get()!.n;
    expect(inline).toBe(sizes.length - inFiles);
    // The migration ran: every current object is the null version, nothing is noncurrent yet.
    expect((store.meta as SqliteRegionMetadata).db.prepare('SELECT COUNT(*) AS n FROM objects WHERE version_id IS NOT NULL').get()).toEqual({ n: 0 });
    expect((store.meta as SqliteRegionMetadata).db.prepare('SELECT COUNT(*) AS n FROM object_versions').get()).toEqual({ n: 0 });
    // Files the old release wrote are owner-only after the start (git checks them out 0644).
    expect(statSync(join(root, 'regions', 'lga1', 'meta.db')).mode & 0o777).toBe(0o600);
  });

  it('reads every object back byte-exact, with its metadata, tags and ETag', async () => {
    for (const o of fixtureObjects) {
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: o.key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(o.body), o.key).toBe(true);
      // Never versioned: no version id is sent (as AWS), and the stored ETag and date are kept.
      expect(got.VersionId).toBeUndefined();
      const etag = o.parts ? `${md5(Buffer.concat(o.parts.map((_, i) => Buffer.from(md5(o.body.subarray(0, o.parts![i])), 'hex'))))}-${o.parts.length}` : md5(o.body);
      expect(got.ETag).toBe(`"${etag}"`);
      expect(got.LastModified!.getTime()).toBeLessThan(startedAt);
      if (o.contentType) expect(got.ContentType).toBe(o.contentType);
      if (o.cacheControl) expect(got.CacheControl).toBe(o.cacheControl);
      expect(got.Metadata).toEqual(o.metadata ?? {});
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: o.key }));
      expect(tagString(tags.TagSet)).toBe(sortedTagging(o.tagging));
      // ?versionId=null names the same version.
      expect((await bytesOf(o.key, 'null')).equals(o.body)).toBe(true);
    }
    const { Contents } = await s3.send(new ListObjectsV2Command({ Bucket: B }));
    expect(Contents!.map((c) => [c.Key, c.Size])).toEqual(fixtureObjects.map((o) => [o.key, o.body.length]));
    expect((await sdkError(s3.send(new HeadObjectCommand({ Bucket: B, Key: fixtureReplaced.deletedKey })))).$metadata.httpStatusCode).toBe(404);
  });

  it('lists each object as its key\'s null version, latest, and nothing else', async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status).toBeUndefined();
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
    expect(listed.DeleteMarkers ?? []).toEqual([]);
    expect(listed.Versions!.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size])).toEqual(fixtureObjects.map((o) => [o.key, 'null', true, o.body.length]));
    const empty = await s3.send(new ListObjectVersionsCommand({ Bucket: fixtureEmptyBucket }));
    expect([empty.Versions ?? [], empty.DeleteMarkers ?? []]).toEqual([[], []]);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: fixtureEmptyBucket }))).Status).toBeUndefined();
  });

  it('keeps usage as the old release counted it', async () => {
    expect(await store.usageOf('default')).toEqual(fixtureUsage);
    expect(await store.checkUsage()).toEqual([]);
  });

  it('completes the upload left in progress, with a part written before the upgrade', async () => {
    const Key = fixturePendingUpload.key;
    const uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: B }))).Uploads!;
    expect(uploads.map((u) => u.Key)).toEqual([Key]);
    const UploadId = uploads[0].UploadId!;
    const parts = (await s3.send(new ListPartsCommand({ Bucket: B, Key, UploadId }))).Parts!;
    expect(parts.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([...fixturePendingUpload.parts].map(([n, b]) => [n, b.length, `"${md5(b)}"`]));
    // Part 1 is written again at the minimum size (the old one was too small to be a first
    // part); part 2 stays the one the old release stored.
    const filesBefore = blobFiles();
    const part1 = fixtureBytes('new part 1', 5 * 1024 * 1024);
    const up = await s3.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber: 1, Body: part1 }));
    const part2 = fixturePendingUpload.parts.get(2)!;
    const done = await s3.send(new CompleteMultipartUploadCommand({
      Bucket: B, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up.ETag }, { PartNumber: 2, ETag: `"${md5(part2)}"` }] },
    }));
    expect(done.ETag).toBe(`"${md5(Buffer.concat([Buffer.from(md5(part1), 'hex'), Buffer.from(md5(part2), 'hex')]))}-2"`);
    expect(done.VersionId).toBeUndefined();
    expect((await bytesOf(Key)).equals(Buffer.concat([part1, part2]))).toBe(true);
    // The replaced old part 1's file is gone; the new part's file is there.
    await expect.poll(() => blobFiles().filter((f) => !filesBefore.includes(f)).length).toBe(1);
    await expect.poll(() => filesBefore.filter((f) => !blobFiles().includes(f)).length).toBe(1);
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: B }))).Uploads ?? []).toEqual([]);
    expect(await store.usageOf('default')).toEqual({ bytes: fixtureUsage.bytes - fixturePendingUpload.parts.get(1)!.length + part1.length, objects: fixtureUsage.objects + 1 });
    expect(await store.checkUsage()).toEqual([]);
  });

  it('once versioning is enabled, an overwrite keeps the null version as noncurrent', async () => {
    await s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
    const old = fixtureObject('plain.txt');
    const head = await rawRequest(server.port, { method: 'HEAD', path: `/${B}/plain.txt` });
    expect([head.status, head.headers['x-amz-version-id']]).toEqual([200, 'null']);
    const usage = await store.usageOf('default');
    const next = Buffer.from('written after the upgrade\n');
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'plain.txt', Body: next }));
    expect(put.VersionId).toMatch(/^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'plain.txt' }));
    expect(listed.Versions!.map((v) => [v.VersionId, v.IsLatest, v.Size])).toEqual([[put.VersionId, true, next.length], ['null', false, old.body.length]]);
    expect((await bytesOf('plain.txt')).equals(next)).toBe(true);
    const nullRead = await rawRequest(server.port, { path: `/${B}/plain.txt?versionId=null` });
    expect([nullRead.status, nullRead.headers['x-amz-version-id'], nullRead.body.equals(old.body)]).toEqual([200, 'null', true]);
    // Both versions are counted.
    expect(await store.usageOf('default')).toEqual({ bytes: usage.bytes + next.length, objects: usage.objects + 1 });

    // A delete hides the multipart object behind a marker; its null version still reads, tags too.
    const multi = fixtureObject('multi.bin');
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: multi.key }));
    expect(del.DeleteMarker).toBe(true);
    expect((await sdkError(s3.send(new GetObjectCommand({ Bucket: B, Key: multi.key })))).$metadata.httpStatusCode).toBe(404);
    expect((await bytesOf(multi.key, 'null')).equals(multi.body)).toBe(true);
    const tagged = fixtureObject('tagged.json');
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: tagged.key, VersionId: 'null' }));
    expect(tagString(tags.TagSet)).toBe(sortedTagging(tagged.tagging));

    // Removing the old null version for good releases its bytes.
    const before = await store.usageOf('default');
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'plain.txt', VersionId: 'null' }));
    expect(await store.usageOf('default')).toEqual({ bytes: before.bytes - old.body.length, objects: before.objects - 1 });
    expect((await sdkError(s3.send(new GetObjectCommand({ Bucket: B, Key: 'plain.txt', VersionId: 'null' })))).name).toBe('NoSuchVersion');
    expect(await store.checkUsage()).toEqual([]);
  });

  it('names the null version in the tagging answer (x-amz-version-id), as AWS does', async () => {
    const key = fixtureObject('tagged.json').key;
    const byId = await rawRequest(server.port, { path: `/${B}/${key}?tagging&versionId=null` });
    expect(byId.status).toBe(200);
    expect(byId.headers['x-amz-version-id']).toBe('null');
    const current = await rawRequest(server.port, { path: `/${B}/${key}?tagging` });
    expect(current.headers['x-amz-version-id']).toBe('null');
  });

  it('enforces quotas on the upgraded counters, every version counted', async () => {
    const { bytes } = await store.usageOf('default');
    await store.setQuota('default', bytes + 100);
    try {
      // 150 bytes over a 29-byte object: unversioned, it would have freed them; now it frees nothing.
      const refused = await sdkError(s3.send(new PutObjectCommand({ Bucket: B, Key: 'overwritten.txt', Body: Buffer.alloc(150, 1) })));
      expect([refused.$metadata.httpStatusCode, refused.name]).toEqual([403, 'QuotaExceeded']);
      expect((await bytesOf('overwritten.txt')).equals(fixtureObject('overwritten.txt').body)).toBe(true);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'overwritten.txt', Body: Buffer.alloc(90, 2) }));
      expect((await store.usageOf('default')).bytes).toBe(bytes + 90);
    } finally {
      await store.setQuota('default', null);
    }
  });

  it('opens the upgraded root again unchanged (the migration runs once)', async () => {
    const before = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
    const usage = await store.usageOf('default');
    const files = blobFiles();
    await server.stop();
    await start();
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
    const shape = (r: typeof before) => [r.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.ETag]), r.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest])];
    expect(shape(after)).toEqual(shape(before));
    expect(await store.usageOf('default')).toEqual(usage);
    expect(blobFiles()).toEqual(files);
    expect((await bytesOf('docs/nested/readme.bin', 'null')).equals(fixtureObject('docs/nested/readme.bin').body)).toBe(true);
    expect(await store.checkUsage()).toEqual([]);
  });
});
