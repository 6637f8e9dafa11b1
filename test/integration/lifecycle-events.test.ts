// Lifecycle and notifications together: what the lifecycle worker deletes is announced as
// s3:LifecycleExpiration:Delete (an unversioned object) and s3:LifecycleExpiration:DeleteMarkerCreated
// (a versioned bucket's current version), with the service as the requester, never as
// s3:ObjectRemoved:*, through the same durable outbox as request-made changes.
import {
  CreateBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRegionRound } from '../../src/lifecycle/worker.ts';
import { eventually } from '../helpers/async.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { WebhookReceiver } from '../helpers/webhook.ts';

const day = 86_400_000;
let server: TestServer;
let s3: S3Client;
const receiver = new WebhookReceiver();

beforeAll(async () => {
  await receiver.start();
  server = await startTestServer({ eventBackoffMaxSeconds: 1, lifecycleIntervalSeconds: 0 });
  s3 = server.client();
  const res = await fetch(`${server.admin.endpoint}/v1/topics`, {
    method: 'POST',
    headers: { authorization: `Bearer ${(server as TestServer & { adminToken?: string }).adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'expiry', organisation: 'default', 'push-endpoint': receiver.url }),
  });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await server?.stop();
  await receiver.stop();
});

describe('lifecycle expiration events', () => {
  it('announces what the worker deletes as s3:LifecycleExpiration:*, requested by the service', async () => {
    const region = server.services.config.defaultRegion;
    const topic = `arn:aws:sns:${region}:default:expiry`;
    for (const [Bucket, versioned] of [['lc-events', false], ['lc-events-v', true]] as const) {
      await s3.send(new CreateBucketCommand({ Bucket }));
      if (versioned) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      await s3.send(new PutObjectCommand({ Bucket, Key: 'old/a.bin', Body: 'bytes' }));
      await s3.send(new PutBucketNotificationConfigurationCommand({
        Bucket,
        NotificationConfiguration: { TopicConfigurations: [{ TopicArn: topic, Events: ['s3:LifecycleExpiration:*', 's3:ObjectRemoved:*'] }] },
      }));
      await s3.send(new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: { Rules: [{ ID: 'old', Status: 'Enabled', Filter: { Prefix: 'old/' }, Expiration: { Days: 1 } }] },
      }));
    }
    await runRegionRound(server.services.regions.get(region)!, { dayMs: day, now: () => Date.now() + 3 * day });
    const expiry = () => receiver.records().filter((r) => String(r.eventName).startsWith('LifecycleExpiration'));
    await eventually(async () => expect(expiry()).toHaveLength(2), 10_000);
    const byBucket = Object.fromEntries(expiry().map((r) => [r.s3.bucket.name, r]));
    expect(byBucket['lc-events'].eventName).toBe('LifecycleExpiration:Delete');
    expect(byBucket['lc-events-v'].eventName).toBe('LifecycleExpiration:DeleteMarkerCreated');
    for (const r of expiry()) {
      expect(r.s3.object.key).toBe('old/a.bin');
      expect(r.userIdentity.principalId).toBe('AmazonS3');
    }
    expect(receiver.records().filter((r) => String(r.eventName).startsWith('ObjectRemoved'))).toHaveLength(0);
  });
});
