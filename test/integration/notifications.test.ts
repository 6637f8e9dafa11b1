// Event notifications over real HTTP: topics created through the admin API, configurations set
// and read with the SDK (AWS's validation errors, changing nothing), and the messages a real
// webhook receiver on loopback gets for uploads by the aws CLI and the SDK, copies, multipart
// uploads, tagging, ACLs and deletes (AWS's event JSON, prefix/suffix filters, s3:TestEvent, an
// HMAC signature). A receiver that refuses for a while gets every event once it answers again.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async.ts';
import { awsClis, clientEnv, run } from '../helpers/cli-clients.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';
import { WebhookReceiver } from '../helpers/webhook.ts';

let server: TestServer;
const receiver = new WebhookReceiver();
const home = mkdtempSync(join(tmpdir(), 'strata-notify-'));
const secret = 'webhook-secret-0123456789';
const arn = 'arn:aws:sns:lga1:default:uploads';

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(server.admin.endpoint + path, {
    method,
    headers: { authorization: `Bearer ${(server as TestServer & { adminToken?: string }).adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const putConfig = (Bucket: string, TopicConfigurations: any[]) =>
  server.client().send(new PutBucketNotificationConfigurationCommand({ Bucket, NotificationConfiguration: { TopicConfigurations } }));

beforeAll(async () => {
  await receiver.start();
  server = await startTestServer({ eventBackoffMaxSeconds: 1 });
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'events' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'versioned-events' }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: 'versioned-events', VersioningConfiguration: { Status: 'Enabled' } }));
});

afterAll(async () => {
  await server?.stop();
  await receiver.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('topics through the admin API', () => {
  it('creates, lists and refuses bad topics', async () => {
    const created = await admin('POST', '/v1/topics', { name: 'uploads', organisation: 'default', 'push-endpoint': receiver.url, secret });
    expect(created.status).toBe(201);
    expect(created.json.topic).toMatchObject({ arn, 'push-endpoint': receiver.url, signed: true });
    expect(JSON.stringify(created.json)).not.toContain(secret);
    const listed = await admin('GET', '/v1/topics');
    expect(listed.json.items.map((t: any) => t.arn)).toContain(arn);
    const bad = await admin('POST', '/v1/topics', { name: 'x', organisation: 'default', 'push-endpoint': 'ftp://example' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('InvalidTopic');
  });
});

describe('PutBucketNotificationConfiguration validation', () => {
  const cases: [string, any[], string][] = [
    ['an unknown event', [{ TopicArn: arn, Events: ['s3:ObjectCreated:Nope'] }], 'InvalidArgument'],
    ['a topic that does not exist', [{ TopicArn: 'arn:aws:sns:lga1:default:missing', Events: ['s3:ObjectCreated:*'] }], 'InvalidArgument'],
    ['a topic of another region', [{ TopicArn: 'arn:aws:sns:ord1:default:uploads', Events: ['s3:ObjectCreated:*'] }], 'InvalidArgument'],
    ['overlapping configurations', [{ TopicArn: arn, Events: ['s3:ObjectCreated:*'] }, { TopicArn: arn, Events: ['s3:ObjectCreated:Put'] }], 'InvalidArgument'],
    ['a bad filter rule name', [{ TopicArn: arn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'middle' as any, Value: 'x' }] } } }], 'InvalidArgument'],
  ];
  for (const [what, rules, code] of cases) {
    it(`refuses ${what} with ${code} and changes nothing`, async () => {
      const err = await sdkError(putConfig('events', rules));
      expect(err.name).toBe(code);
      const got = await server.client().send(new GetBucketNotificationConfigurationCommand({ Bucket: 'events' }));
      expect(got.TopicConfigurations ?? []).toEqual([]);
    });
  }
  it('refuses a queue destination (Strata has none)', async () => {
    const err = await sdkError(
      server.client().send(new PutBucketNotificationConfigurationCommand({ Bucket: 'events', NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:aws:sqs:lga1:default:q', Events: ['s3:ObjectCreated:*'] }] } })),
    );
    expect(err.name).toBe('InvalidArgument');
  });
});

describe('events delivered to the webhook', () => {
  it('sets a configuration, reads it back, and sends s3:TestEvent', async () => {
    await putConfig('events', [
      { Id: 'images', TopicArn: arn, Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'img/' }, { Name: 'suffix', Value: '.png' }] } } },
      { Id: 'tags', TopicArn: arn, Events: ['s3:ObjectTagging:*', 's3:ObjectAcl:Put'] },
    ]);
    const got = await server.client().send(new GetBucketNotificationConfigurationCommand({ Bucket: 'events' }));
    expect(got.TopicConfigurations).toHaveLength(2);
    expect(got.TopicConfigurations![0]).toMatchObject({ Id: 'images', TopicArn: arn, Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] });
    expect(got.TopicConfigurations![0].Filter?.Key?.FilterRules).toEqual([{ Name: 'Prefix', Value: 'img/' }, { Name: 'Suffix', Value: '.png' }]);
    const test = await eventually(async () => {
      const t = receiver.received.find((r) => r.json.Event === 's3:TestEvent');
      if (!t) throw new Error('no test event yet');
      return t;
    }, 10_000);
    expect(test.json).toMatchObject({ Service: 'Amazon S3', Bucket: 'events' });
    expect(test.headers['x-strata-signature']).toBe('sha256=' + createHmac('sha256', secret).update(test.body).digest('hex'));
  });

  it('aws CLI uploads, SDK copies, multipart, tagging, ACL and deletes produce the AWS event records', async () => {
    const cli = awsClis()[0];
    expect(cli, 'the aws CLI must be installed').toBeDefined();
    const file = join(home, 'cat.png');
    writeFileSync(file, 'png-bytes-'.repeat(100));
    const env = clientEnv(home, server);
    await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'put-object', '--bucket', 'events', '--key', 'img/cat.png', '--body', file], { env });
    await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'put-object', '--bucket', 'events', '--key', 'img/cat.txt', '--body', file], { env }); // filtered out
    await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'put-object', '--bucket', 'events', '--key', 'doc/cat.png', '--body', file], { env }); // filtered out
    const s3 = server.client();
    await s3.send(new CopyObjectCommand({ Bucket: 'events', Key: 'img/copy of cat.png', CopySource: 'events/img/cat.png' }));
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'events', Key: 'img/big.png' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: 'events', Key: 'img/big.png', UploadId: upload.UploadId, PartNumber: 1, Body: 'part' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'events', Key: 'img/big.png', UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'events', Key: 'doc/cat.png', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    await s3.send(new PutObjectAclCommand({ Bucket: 'events', Key: 'doc/cat.png', ACL: 'public-read' }));
    await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'delete-object', '--bucket', 'events', '--key', 'img/cat.png'], { env });
    await s3.send(new DeleteObjectCommand({ Bucket: 'events', Key: 'img/never-existed.png' })); // no event: nothing removed

    const expected = [
      ['ObjectCreated:Put', 'img/cat.png'],
      ['ObjectCreated:Copy', 'img/copy+of+cat.png'],
      ['ObjectCreated:CompleteMultipartUpload', 'img/big.png'],
      ['ObjectTagging:Put', 'doc/cat.png'],
      ['ObjectAcl:Put', 'doc/cat.png'],
      ['ObjectRemoved:Delete', 'img/cat.png'],
    ];
    const records = await eventually(async () => {
      const r = receiver.records().filter((x) => x.s3.bucket.name === 'events');
      if (r.length < expected.length) throw new Error(`only ${r.length} records`);
      return r;
    }, 15_000);
    // In commit order: one topic's messages go out one after another.
    expect(records.map((r) => [r.eventName, r.s3.object.key])).toEqual(expected);
    const put = records[0];
    expect(put).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'lga1',
      userIdentity: { principalId: 'default:admin' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      s3: { s3SchemaVersion: '1.0', configurationId: 'images', bucket: { name: 'events', ownerIdentity: { principalId: 'default' }, arn: 'arn:aws:s3:::events' }, object: { key: 'img/cat.png', size: 1000 } },
    });
    expect(put.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);
    expect(put.s3.object.sequencer).toMatch(/^[0-9A-F]{16}$/);
    expect(put.responseElements['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect(records[3].s3.configurationId).toBe('tags');
    // Nothing else arrived for the filtered keys or the missing one.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.records().filter((x) => x.s3.bucket.name === 'events')).toHaveLength(expected.length);
  });

  it('versioned buckets: versionId in records, DeleteMarkerCreated for a delete without a version', async () => {
    await putConfig('versioned-events', [{ TopicArn: arn, Events: ['s3:ObjectCreated:Put', 's3:ObjectRemoved:*'] }]);
    const s3 = server.client();
    const put = await s3.send(new PutObjectCommand({ Bucket: 'versioned-events', Key: 'model.bin', Body: 'weights' }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'versioned-events', Key: 'model.bin' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'versioned-events', Key: 'model.bin', VersionId: put.VersionId }));
    const records = await eventually(async () => {
      const r = receiver.records().filter((x) => x.s3.bucket.name === 'versioned-events');
      if (r.length < 3) throw new Error(`only ${r.length} records`);
      return r;
    }, 15_000);
    expect(records.map((r) => [r.eventName, r.s3.object.versionId])).toEqual([
      ['ObjectCreated:Put', put.VersionId],
      ['ObjectRemoved:DeleteMarkerCreated', marker.VersionId],
      ['ObjectRemoved:Delete', put.VersionId],
    ]);
  });

  it('a receiver refusing for a while gets every event once it answers, counted as retried then delivered', async () => {
    receiver.refusing = true;
    const s3 = server.client();
    for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'events', Key: `img/while-down-${i}.png`, Body: 'x' }));
    // Deliveries are attempted and fail (retried counter moves) while nothing is received.
    await eventually(async () => {
      const status = await admin('GET', '/v1/events');
      const lga = status.json.regions.find((r: any) => r.region === 'lga1');
      const counter = lga.counters.find((c: any) => c.kind === 'notify' && c.name === arn);
      expect(counter.retried).toBeGreaterThan(0);
      expect(lga.queued.find((q: any) => q.key === arn).queued).toBe(5);
    }, 15_000);
    receiver.refusing = false;
    const keys = await eventually(async () => {
      const k = receiver.records().map((r) => r.s3.object.key).filter((k: string) => k.startsWith('img/while-down-'));
      if (k.length < 5) throw new Error(`only ${k.length}`);
      return k;
    }, 20_000);
    expect(keys).toEqual([0, 1, 2, 3, 4].map((i) => `img/while-down-${i}.png`));
    // The receiver has the last event as soon as it is sent; the row leaves the queue once its 200 is back.
    await eventually(async () => {
      const status = await admin('GET', '/v1/events');
      const lga = status.json.regions.find((r: any) => r.region === 'lga1');
      expect(lga.queued).toEqual([]);
      expect(lga.counters.find((c: any) => c.kind === 'notify' && c.name === arn).dropped).toBe(0);
    }, 5_000);
  });

  it('removing the configuration stops events', async () => {
    await server.client().send(new PutBucketNotificationConfigurationCommand({ Bucket: 'events', NotificationConfiguration: {} }));
    const got = await server.client().send(new GetBucketNotificationConfigurationCommand({ Bucket: 'events' }));
    expect(got.TopicConfigurations ?? []).toEqual([]);
    const before = receiver.records().length;
    await server.client().send(new PutObjectCommand({ Bucket: 'events', Key: 'img/after.png', Body: 'x' }));
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.records()).toHaveLength(before);
  });
});
