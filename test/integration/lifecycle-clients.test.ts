// Lifecycle configuration with the real clients users have: `aws s3api` (every aws CLI on the
// machine, with the README's own command) and Debian's boto3, each putting, reading and deleting a
// configuration, seeing x-amz-expiration, and a refused document changing nothing. A client that
// is missing fails the test, it is never skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClis, clientEnv, commandError, expectClientsInstalled, run, s3api, startClientSuite } from '../helpers/cli-clients.ts';
import type { TestServer } from '../helpers/server.ts';

let server: TestServer;
let work: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server, work, stop } = await startClientSuite('lifecycle-clients', { lifecycleIntervalSeconds: 0 }));
});
afterAll(async () => stop?.());

it('has the clients installed (aws, python3 with boto3)', expectClientsInstalled);

describe('aws s3api', () => {
  for (const [i, cli] of awsClis().entries()) {
    it(`puts, gets and deletes a lifecycle configuration with ${cli}`, async () => {
      const env = clientEnv(work, server);
      const aws = s3api(cli, server, env);
      const Bucket = `aws-lifecycle-${i}`;
      await aws('create-bucket', '--bucket', Bucket);
      const rules = {
        Rules: [
          {
            ID: 'logs',
            Filter: { Prefix: 'logs/' },
            Status: 'Enabled',
            Expiration: { Days: 30 },
            NoncurrentVersionExpiration: { NoncurrentDays: 7 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
          },
        ],
      };
      await aws('put-bucket-lifecycle-configuration', '--bucket', Bucket, '--lifecycle-configuration', JSON.stringify(rules));
      expect(await aws('get-bucket-lifecycle-configuration', '--bucket', Bucket)).toEqual(rules);

      await aws('put-object', '--bucket', Bucket, '--key', 'logs/app.log');
      const head = await aws('head-object', '--bucket', Bucket, '--key', 'logs/app.log');
      expect(head.Expiration).toMatch(/^expiry-date="\w{3}, \d{2} \w{3} \d{4} 00:00:00 GMT", rule-id="logs"$/);

      const transition = { Rules: [{ ID: 't', Filter: {}, Status: 'Enabled', Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }] };
      const refused = await commandError(run(cli, ['--endpoint-url', server.endpoint, 's3api', 'put-bucket-lifecycle-configuration', '--bucket', Bucket, '--lifecycle-configuration', JSON.stringify(transition)], { env, timeout: 60_000 }));
      expect(refused.stderr).toContain('InvalidStorageClass');
      expect(await aws('get-bucket-lifecycle-configuration', '--bucket', Bucket)).toEqual(rules);

      await aws('delete-bucket-lifecycle', '--bucket', Bucket);
      const gone = await commandError(run(cli, ['--endpoint-url', server.endpoint, 's3api', 'get-bucket-lifecycle-configuration', '--bucket', Bucket], { env, timeout: 60_000 }));
      expect(gone.stderr).toContain('NoSuchLifecycleConfiguration');
    });
  }
});

describe('boto3', () => {
  it('puts, gets and deletes a lifecycle configuration with Debian python3-boto3', async () => {
    const script = `
import sys, json, boto3
from botocore.exceptions import ClientError
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1')
s3.create_bucket(Bucket='boto-lifecycle')
rules = [{'ID': 'tmp', 'Prefix': 'tmp/', 'Status': 'Enabled', 'Expiration': {'Days': 1}},
         {'ID': 'nc', 'Filter': {'And': {'Prefix': 'v/', 'Tags': [{'Key': 'k', 'Value': 'v'}]}}, 'Status': 'Disabled',
          'NoncurrentVersionExpiration': {'NoncurrentDays': 3, 'NewerNoncurrentVersions': 2}}]
s3.put_bucket_lifecycle_configuration(Bucket='boto-lifecycle', LifecycleConfiguration={'Rules': rules})
got = s3.get_bucket_lifecycle_configuration(Bucket='boto-lifecycle')['Rules']
put = s3.put_object(Bucket='boto-lifecycle', Key='tmp/x', Body=b'x')
try:
    s3.put_bucket_lifecycle_configuration(Bucket='boto-lifecycle', LifecycleConfiguration={'Rules': [{'ID': 'z', 'Prefix': '', 'Status': 'Enabled', 'Expiration': {'Days': 0}}]})
    refused = None
except ClientError as e:
    refused = e.response['Error']['Code']
after = s3.get_bucket_lifecycle_configuration(Bucket='boto-lifecycle')['Rules']
deleted = s3.delete_bucket_lifecycle(Bucket='boto-lifecycle')['ResponseMetadata']['HTTPStatusCode']
try:
    s3.get_bucket_lifecycle_configuration(Bucket='boto-lifecycle')
    missing = None
except ClientError as e:
    missing = e.response['Error']['Code']
print(json.dumps({'same': got == rules, 'kept': after == rules, 'expiration': put.get('Expiration'), 'refused': refused, 'deleted': deleted, 'missing': missing}))
`;
    const env = clientEnv(work, server);
    const out = await run('/usr/bin/python3', ['-c', script, server.endpoint, server.accessKey, server.secretKey], { env, timeout: 60_000 });
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({ same: true, kept: true, refused: 'InvalidArgument', deleted: 204, missing: 'NoSuchLifecycleConfiguration' });
    expect(result.expiration).toMatch(/^expiry-date=".* 00:00:00 GMT", rule-id="tmp"$/);
  });
});
