// The three event features driven by Debian's python3-boto3, as the README documents them: a
// notification configuration whose webhook receives a boto3 upload, a logging configuration read
// back, and a replication configuration whose replica boto3 reads with its replication status.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async.ts';
import { clientEnv, run } from '../helpers/cli-clients.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { WebhookReceiver } from '../helpers/webhook.ts';

let server: TestServer;
const receiver = new WebhookReceiver();
const home = mkdtempSync(join(tmpdir(), 'strata-events-boto3-'));

beforeAll(async () => {
  await receiver.start();
  server = await startTestServer({ defaultRegion: 'ord1', eventBackoffMaxSeconds: 1 });
  await server.services.regions.get('ord1')!.meta.topics.put({ org: 'default', name: 'boto', endpoint: receiver.url, secret: null, opaqueData: null, createdAt: Date.now() });
});

afterAll(async () => {
  await server?.stop();
  await receiver.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('boto3', () => {
  it('notifications, logging and replication round trips', async () => {
    const script = `
import boto3, sys, time
from botocore.config import Config
def client(host):
    return boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1',
                        config=Config(s3={'addressing_style': 'path'}))
ord1 = client(None)
ord1.create_bucket(Bucket='boto-src')
ord1.create_bucket(Bucket='boto-logs')
ord1.put_bucket_notification_configuration(Bucket='boto-src', NotificationConfiguration={'TopicConfigurations': [
    {'Id': 'b', 'TopicArn': 'arn:aws:sns:ord1:default:boto', 'Events': ['s3:ObjectCreated:*']}]})
print(ord1.get_bucket_notification_configuration(Bucket='boto-src')['TopicConfigurations'][0]['TopicArn'])
ord1.put_bucket_logging(Bucket='boto-src', BucketLoggingStatus={'LoggingEnabled': {'TargetBucket': 'boto-logs', 'TargetPrefix': 'src/'}})
print(ord1.get_bucket_logging(Bucket='boto-src')['LoggingEnabled']['TargetBucket'])
ord1.put_bucket_versioning(Bucket='boto-src', VersioningConfiguration={'Status': 'Enabled'})
ord1.put_bucket_versioning(Bucket='boto-logs', VersioningConfiguration={'Status': 'Enabled'})
ord1.put_bucket_replication(Bucket='boto-src', ReplicationConfiguration={'Role': '', 'Rules': [{'ID': 'r', 'Priority': 1, 'Filter': {'Prefix': ''},
    'Status': 'Enabled', 'DeleteMarkerReplication': {'Status': 'Disabled'}, 'Destination': {'Bucket': 'arn:aws:s3:::boto-logs'}}]})
print(ord1.get_bucket_replication(Bucket='boto-src')['ReplicationConfiguration']['Rules'][0]['Destination']['Bucket'])
v = ord1.put_object(Bucket='boto-src', Key='weights.bin', Body=b'boto3 weights')['VersionId']
for _ in range(100):
    if ord1.head_object(Bucket='boto-src', Key='weights.bin')['ReplicationStatus'] == 'COMPLETED':
        break
    time.sleep(0.2)
copy = ord1.get_object(Bucket='boto-logs', Key='weights.bin', VersionId=v)
print(ord1.head_object(Bucket='boto-src', Key='weights.bin')['ReplicationStatus'], copy['ReplicationStatus'], copy['Body'].read().decode())
`;
    const out = await run('/usr/bin/python3', ['-c', script, server.endpoint, server.accessKey, server.secretKey], { env: clientEnv(home, server), timeout: 60_000 });
    expect(out.stdout.trim().split('\n')).toEqual(['arn:aws:sns:ord1:default:boto', 'boto-logs', 'arn:aws:s3:::boto-logs', 'COMPLETED REPLICA boto3 weights']);
    const put = await eventually(async () => {
      const r = receiver.records().find((x) => x.s3.object.key === 'weights.bin');
      if (!r) throw new Error('no event yet');
      return r;
    }, 15_000);
    expect(put.eventName).toBe('ObjectCreated:Put');
    expect(put.awsRegion).toBe('ord1');
  });
});
