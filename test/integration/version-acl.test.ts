// A request that names a version is decided by that version's ACL and tags, not the current
// version's (AWS): a public current version must not open an older private one, and a private
// current version must not close an older public one.
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
const bucket = 'version-acl';

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
});
afterAll(() => server.stop());

const anonymous = (path: string) => rawRequest(server.port, { path, sign: false });

describe('version ACLs', () => {
  it('keeps an older private version private under a public current one', async () => {
    const old = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'private v1' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'public v2', ACL: 'public-read' }));
    const current = await anonymous(`/${bucket}/a`);
    expect([current.status, current.text]).toEqual([200, 'public v2']);
    const named = await anonymous(`/${bucket}/a?versionId=${old.VersionId}`);
    expect(named.status).toBe(403);
    expect(named.text).not.toContain('private v1');
  });

  it('keeps an older public version readable under a private current one', async () => {
    const old = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: 'public v1', ACL: 'public-read' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: 'private v2' }));
    expect((await anonymous(`/${bucket}/b`)).status).toBe(403);
    const named = await anonymous(`/${bucket}/b?versionId=${old.VersionId}`);
    expect([named.status, named.text]).toEqual([200, 'public v1']);
  });

  it('reads s3:ExistingObjectTag from the named version', async () => {
    const tagged = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'c', Body: 'tagged v1' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'c', VersionId: tagged.VersionId, Tagging: { TagSet: [{ Key: 'share', Value: 'yes' }] } }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'c', Body: 'untagged v2' }));
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: `arn:aws:s3:::${bucket}/c`, Condition: { StringEquals: { 's3:ExistingObjectTag/share': 'yes' } } }],
    };
    const put = await rawRequest(server.port, { method: 'PUT', path: `/${bucket}?policy`, body: JSON.stringify(policy) });
    expect(put.status).toBe(204);
    expect((await anonymous(`/${bucket}/c`)).status).toBe(403);
    const named = await anonymous(`/${bucket}/c?versionId=${tagged.VersionId}`);
    expect([named.status, named.text]).toEqual([200, 'tagged v1']);
  });
});
