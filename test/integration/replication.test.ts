// Cross-region replication in one process serving ord1 and las1: configuration checks (versioning
// on both sides, the destination must exist), a model file written to ord1 appearing in a las1
// bucket with the same bytes, version id, metadata and tags, x-amz-replication-status PENDING
// while the destination's quota refuses it, COMPLETED after, REPLICA on the copy; delete markers
// replicated only by rules that say so; replicas are not replicated again.
import {
  CreateBucketCommand,
  DeleteBucketReplicationCommand,
  DeleteObjectCommand,
  GetBucketReplicationCommand,
  HeadObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type ReplicationRule,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async.ts';
import { rawRequest } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';
import { WebhookReceiver } from '../helpers/webhook.ts';

let server: TestServer;
const las1 = (path: string, method = 'GET', body?: string) => rawRequest(server.port, { method, path, host: `object.las1.localhost:${server.port}`, body });
const versioningXml = '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>';
const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const rules: ReplicationRule[] = [
  { ID: 'models', Priority: 2, Filter: { Prefix: 'models/' }, Status: 'Enabled', DeleteMarkerReplication: { Status: 'Enabled' }, Destination: { Bucket: 'arn:aws:s3:::models-las1' } },
  { ID: 'scratch', Priority: 1, Filter: { Prefix: 'scratch/' }, Status: 'Enabled', DeleteMarkerReplication: { Status: 'Disabled' }, Destination: { Bucket: 'arn:aws:s3:::models-las1' } },
];
const putReplication = (Bucket: string) => server.client().send(new PutBucketReplicationCommand({ Bucket, ReplicationConfiguration: { Role: 'arn:aws:iam::default:role/replication', Rules: rules } }));
const status = async (Key: string, VersionId?: string) => (await server.client().send(new HeadObjectCommand({ Bucket: 'models', Key, VersionId }))).ReplicationStatus;

beforeAll(async () => {
  server = await startTestServer({ defaultRegion: 'ord1', eventBackoffMaxSeconds: 1 });
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'models' }));
  expect((await las1('/models-las1', 'PUT')).status).toBe(200);
});

afterAll(async () => {
  await server?.stop();
});

describe('PutBucketReplication checks', () => {
  it('needs versioning on the source, an existing destination with versioning (InvalidRequest)', async () => {
    expect((await sdkError(putReplication('models'))).name).toBe('InvalidRequest');
    await server.client().send(new PutBucketVersioningCommand({ Bucket: 'models', VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await sdkError(putReplication('models'))).name).toBe('InvalidRequest'); // destination unversioned
    expect((await las1('/models-las1?versioning', 'PUT', versioningXml)).status).toBe(200);
    const missing = server.client().send(new PutBucketReplicationCommand({ Bucket: 'models', ReplicationConfiguration: { Role: '', Rules: [{ ...rules[0], Destination: { Bucket: 'arn:aws:s3:::nowhere' } }] } }));
    expect((await sdkError(missing)).name).toBe('InvalidRequest');
    expect((await sdkError(server.client().send(new GetBucketReplicationCommand({ Bucket: 'models' })))).name).toBe('ReplicationConfigurationNotFoundError');
  });

  it('stores the rules and answers them back', async () => {
    await putReplication('models');
    const got = await server.client().send(new GetBucketReplicationCommand({ Bucket: 'models' }));
    expect(got.ReplicationConfiguration!.Rules!.map((r) => [r.ID, r.Priority, r.Filter?.Prefix, r.Status, r.DeleteMarkerReplication?.Status, r.Destination?.Bucket])).toEqual([
      ['models', 2, 'models/', 'Enabled', 'Enabled', 'arn:aws:s3:::models-las1'],
      ['scratch', 1, 'scratch/', 'Enabled', 'Disabled', 'arn:aws:s3:::models-las1'],
    ]);
  });
});

describe('replicas in las1', () => {
  const model = randomBytes(300_000);

  it('a model file is PENDING while the destination quota refuses it, then COMPLETED, with the same bytes, version id and metadata', async () => {
    const las1Store = server.services.regions.get('las1')!;
    await las1Store.setQuota('default', 1000);
    const put = await server.client().send(new PutObjectCommand({ Bucket: 'models', Key: 'models/llm.bin', Body: model, Metadata: { epoch: '7' }, Tagging: 'stage=prod' }));
    expect(await status('models/llm.bin')).toBe('PENDING');
    // Attempts fail on the destination's quota and are retried; the version stays PENDING.
    await eventually(async () => {
      const counters = await server.services.regions.get('ord1')!.meta.outbox.counters();
      expect(counters.find((c) => c.kind === 'replicate')?.retried).toBeGreaterThan(0);
    }, 15_000);
    expect(await status('models/llm.bin')).toBe('PENDING');
    await las1Store.setQuota('default', null);
    await eventually(async () => expect(await status('models/llm.bin')).toBe('COMPLETED'), 20_000);

    const replica = await las1(`/models-las1/models/llm.bin?versionId=${put.VersionId}`);
    expect(replica.status).toBe(200);
    expect(sha(replica.body)).toBe(sha(model));
    expect(replica.headers['x-amz-version-id']).toBe(put.VersionId);
    expect(replica.headers['x-amz-replication-status']).toBe('REPLICA');
    expect(replica.headers['x-amz-meta-epoch']).toBe('7');
    expect(replica.headers['x-amz-tagging-count']).toBe('1');
    expect(replica.headers.etag).toBe(put.ETag);
    const current = await las1('/models-las1/models/llm.bin');
    expect(current.headers['x-amz-version-id']).toBe(put.VersionId);
  });

  it('a delete marker is replicated by a rule with DeleteMarkerReplication Enabled, not by one without', async () => {
    const s3 = server.client();
    const scratch = await s3.send(new PutObjectCommand({ Bucket: 'models', Key: 'scratch/tmp.bin', Body: 'scratch' }));
    await eventually(async () => expect((await las1('/models-las1/scratch/tmp.bin')).status).toBe(200), 20_000);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'models', Key: 'models/llm.bin' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'models', Key: 'scratch/tmp.bin' }));
    await eventually(async () => {
      const hidden = await las1('/models-las1/models/llm.bin');
      expect(hidden.status).toBe(404);
      expect(hidden.headers['x-amz-delete-marker']).toBe('true');
      expect(hidden.headers['x-amz-version-id']).toBe(marker.VersionId);
    }, 20_000);
    // Wait until ord1 has nothing left to send, then the scratch copy must still be there.
    await eventually(async () => expect(await server.services.regions.get('ord1')!.meta.outbox.queued()).toEqual([]), 20_000);
    const kept = await las1('/models-las1/scratch/tmp.bin');
    expect(kept.status).toBe(200);
    expect(kept.headers['x-amz-version-id']).toBe(scratch.VersionId);
  });

  it('an SSE-C version is not replicated: FAILED, told as s3:Replication:OperationFailedReplication', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    try {
      await server.services.regions.get('ord1')!.meta.topics.put({ org: 'default', name: 'replication', endpoint: receiver.url, secret: null, opaqueData: null, createdAt: Date.now() });
      const s3 = server.client();
      await s3.send(new PutBucketNotificationConfigurationCommand({
        Bucket: 'models',
        NotificationConfiguration: { TopicConfigurations: [{ TopicArn: 'arn:aws:sns:ord1:default:replication', Events: ['s3:Replication:*'] }] },
      }));
      const key = randomBytes(32);
      const sse = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(key).digest('base64') };
      const put = await s3.send(new PutObjectCommand({ Bucket: 'models', Key: 'models/secret.bin', Body: 'sealed', ...sse }));
      await eventually(async () => expect((await s3.send(new HeadObjectCommand({ Bucket: 'models', Key: 'models/secret.bin', ...sse }))).ReplicationStatus).toBe('FAILED'), 20_000);
      expect((await las1(`/models-las1/models/secret.bin?versionId=${put.VersionId}`)).status).toBe(404);
      const event = await eventually(async () => {
        const r = receiver.records().find((x) => x.s3.object.key === 'models/secret.bin');
        if (!r) throw new Error('no event yet');
        return r;
      }, 15_000);
      expect(event.eventName).toBe('Replication:OperationFailedReplication');
      expect(event.s3.object.versionId).toBe(put.VersionId);
      await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: 'models', NotificationConfiguration: {} }));
    } finally {
      await receiver.stop();
    }
  });

  it('replicas are not replicated again, and DeleteBucketReplication stops replication', async () => {
    // las1 replicates back into ord1: the replicas it received must not travel back.
    expect((await las1('/models-las1?replication', 'PUT', `<ReplicationConfiguration><Role></Role><Rule><ID>back</ID><Priority>1</Priority><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>arn:aws:s3:::models</Bucket></Destination></Rule></ReplicationConfiguration>`)).status).toBe(200);
    const s3 = server.client();
    const put = await s3.send(new PutObjectCommand({ Bucket: 'models', Key: 'models/second.bin', Body: 'v2' }));
    await eventually(async () => expect((await las1(`/models-las1/models/second.bin?versionId=${put.VersionId}`)).status).toBe(200), 20_000);
    await eventually(async () => expect(await server.services.regions.get('las1')!.meta.outbox.queued()).toEqual([]), 20_000);
    const versions = await rawRequest(server.port, { path: '/models?versions&prefix=models/second.bin' });
    expect(versions.text.match(/<Version>/g)).toHaveLength(1);
    await s3.send(new DeleteBucketReplicationCommand({ Bucket: 'models' }));
    expect((await sdkError(s3.send(new GetBucketReplicationCommand({ Bucket: 'models' })))).name).toBe('ReplicationConfigurationNotFoundError');
    await s3.send(new PutObjectCommand({ Bucket: 'models', Key: 'models/third.bin', Body: 'v3' }));
    expect(await status('models/third.bin')).toBeUndefined();
  });
});
