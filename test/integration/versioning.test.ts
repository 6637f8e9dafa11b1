// Versioning with the AWS SDK v3: enable, versions kept on overwrite, delete markers, reading and
// deleting by version id, ListObjectVersions, suspend (null version), listings hide markers.
import {
  DeleteObjectCommand, GetBucketVersioningCommand, GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand,
  ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';
import { rawRequest } from '../helpers/raw.ts';

let server: TestServer;
let s3: S3Client;
const B = 'versioned';
const text = async (key: string, VersionId?: string) => (await s3.send(new GetObjectCommand({ Bucket: B, Key: key, VersionId }))).Body!.transformToString();

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  expect((await rawRequest(server.port, { method: 'PUT', path: `/${B}` })).status).toBe(200);
});
afterAll(async () => {
  await server.stop();
});

describe('versioning', () => {
  it('a never-versioned bucket answers an empty configuration; objects written then are the null version', async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status).toBeUndefined();
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'v0' }));
    expect(put.VersionId).toBeUndefined();
    await s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status).toBe('Enabled');
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k' }))).VersionId).toBe('null');
  });

  it('overwrites keep every version; delete makes a marker; versions read and delete by id', async () => {
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'v1' }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'v2' }))).VersionId!;
    expect(v1).toMatch(/^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/);
    expect(v2).not.toBe(v1);
    expect(await text('k')).toBe('v2');
    expect(await text('k', v1)).toBe('v1');
    expect(await text('k', 'null')).toBe('v0');
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
    expect(del.DeleteMarker).toBe(true);
    const head = await sdkError(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k' })));
    expect(head.$metadata.httpStatusCode).toBe(404);
    const byId = await rawRequest(server.port, { path: `/${B}/k?versionId=${del.VersionId}` });
    expect([byId.status, byId.headers['x-amz-delete-marker'], byId.headers.allow]).toEqual([405, 'true', 'DELETE']);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: B }))).KeyCount).toBe(0);

    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
    expect(listed.DeleteMarkers!.map((m) => [m.VersionId, m.IsLatest])).toEqual([[del.VersionId, true]]);
    expect(listed.Versions!.map((v) => [v.VersionId, v.IsLatest, v.Size])).toEqual([[v2, false, 2], [v1, false, 2], ['null', false, 2]]);

    // Removing the marker brings v2 back; removing v2 for good makes v1 current.
    const undo = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k', VersionId: del.VersionId }));
    expect([undo.DeleteMarker, undo.VersionId]).toEqual([true, del.VersionId]);
    expect(await text('k')).toBe('v2');
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k', VersionId: v2 }));
    expect(await text('k')).toBe('v1');
    expect((await sdkError(s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: v2 })))).name).toBe('NoSuchVersion');
    expect((await sdkError(s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: 'bogus' })))).$metadata.httpStatusCode).toBe(400);
  });

  it('pages of ListObjectVersions resume at key-marker and version-id-marker', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.unshift((await s3.send(new PutObjectCommand({ Bucket: B, Key: 'paged', Body: `p${i}` }))).VersionId!);
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'paged', MaxKeys: 2, KeyMarker, VersionIdMarker }));
      seen.push(...(r.Versions ?? []).map((v) => v.VersionId!));
      if (!r.IsTruncated) break;
      KeyMarker = r.NextKeyMarker;
      VersionIdMarker = r.NextVersionIdMarker;
    }
    expect(seen).toEqual(ids);
  });

  it('while suspended, writes and deletes replace only the null version', async () => {
    await s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Suspended' } }));
    const before = (await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'paged' }))).Versions!.length;
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'paged', Body: 'n1' }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'paged', Body: 'n2' }));
    const after = (await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'paged' }))).Versions!;
    expect(after.length).toBe(before + 1);
    expect([after[0].VersionId, after[0].IsLatest]).toEqual(['null', true]);
    expect(await text('paged')).toBe('n2');
    const del = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'paged' }));
    expect([del.DeleteMarker, del.VersionId]).toEqual([true, 'null']);
    expect((await s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'paged' }))).Versions!.length).toBe(before);
  });

  it('DeleteBucket refuses a bucket that still holds versions or markers', async () => {
    expect((await rawRequest(server.port, { method: 'DELETE', path: `/${B}` })).status).toBe(409);
  });
});
