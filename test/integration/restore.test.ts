// RestoreObject over real HTTP: Strata archives nothing, so an existing object answers 403
// InvalidObjectState after authorization, a missing one 404, a malformed RestoreRequest 400; the
// action is s3:RestoreObject (write level; a policy can deny it) and nothing changes.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/raw.ts';
import { addTestKey, sendAs, type Creds } from '../helpers/principals.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let s3: S3Client;
let reader: Creds;
let writer: Creds;
const bucket = 'restore-b';
const restore = (client: S3Client, Key: string, VersionId?: string) =>
  client.send(new RestoreObjectCommand({ Bucket: bucket, Key, VersionId, RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Standard' } } }));

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  reader = await addTestKey(server, 'default', 'restore-reader', 'read');
  writer = await addTestKey(server, 'default', 'restore-writer', 'readwrite');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'model.bin', Body: 'weights' }));
});
afterAll(async () => server?.stop());

describe('RestoreObject', () => {
  it('answers 403 InvalidObjectState for an object that is not archived, and leaves it as it was', async () => {
    const err = await sdkError(restore(s3, 'model.bin'));
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.name).toBe('InvalidObjectState');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'model.bin' }));
    expect(await got.Body!.transformToString()).toBe('weights');
    expect(got.StorageClass ?? 'STANDARD').toBe('STANDARD');
    expect(got.Restore).toBeUndefined();
  });

  it('answers 404 NoSuchKey for a missing key', async () => {
    const err = await sdkError(restore(s3, 'absent.bin'));
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(err.name).toBe('NoSuchKey');
  });

  it('needs the write level: a read key is refused before the object is looked at', async () => {
    const readOnly = server.client({ credentials: reader });
    const err = await sdkError(restore(readOnly, 'model.bin'));
    expect(err.name).toBe('AccessDenied');
    const writes = server.client({ credentials: writer });
    expect((await sdkError(restore(writes, 'model.bin'))).name).toBe('InvalidObjectState');
  });

  it('is evaluated as s3:RestoreObject in bucket policies', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:RestoreObject', Resource: `arn:aws:s3:::${bucket}/denied/*` }],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'denied/a', Body: 'x' }));
    const writes = server.client({ credentials: writer });
    expect((await sdkError(restore(writes, 'denied/a'))).name).toBe('AccessDenied');
    expect((await sdkError(restore(writes, 'model.bin'))).name).toBe('InvalidObjectState');
  });

  it('refuses a malformed RestoreRequest with MalformedXML, and accepts an empty body as the defaults', async () => {
    for (const body of ['<RestoreRequest><Days>zero</Days></RestoreRequest>', '<RestoreRequest><Tier>Instant</Tier></RestoreRequest>', '<Other/>', '<RestoreRequest>']) {
      const res = await sendAs(server, 'admin', 'POST', `/${bucket}/model.bin?restore`, { body });
      expect(res.status, body).toBe(400);
      expect(errorCode(res.text), body).toBe('MalformedXML');
    }
    const empty = await sendAs(server, 'admin', 'POST', `/${bucket}/model.bin?restore`, { body: '' });
    expect(empty.status).toBe(403);
    expect(errorCode(empty.text)).toBe('InvalidObjectState');
    expect(empty.text).toContain('<RequestId>');
  });

  it('follows versions: a named version, an unknown id, and a key whose current version is a delete marker', async () => {
    const vb = 'restore-versioned';
    await s3.send(new CreateBucketCommand({ Bucket: vb }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
    const put = await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'v1' }));
    await s3.send(new DeleteObjectCommand({ Bucket: vb, Key: 'k' }));
    const send = (VersionId?: string) => s3.send(new RestoreObjectCommand({ Bucket: vb, Key: 'k', VersionId, RestoreRequest: { Days: 1 } }));
    expect((await sdkError(send(put.VersionId))).name).toBe('InvalidObjectState');
    expect((await sdkError(send())).name).toBe('NoSuchKey');
    // A well-formed id that names no version (a malformed one is InvalidArgument).
    const other = put.VersionId!.slice(0, -1) + (put.VersionId!.endsWith('A') ? 'B' : 'A');
    const unknown = await sdkError(send(other));
    expect(unknown.$metadata.httpStatusCode).toBe(404);
    expect(unknown.name).toBe('NoSuchVersion');
  });
});
