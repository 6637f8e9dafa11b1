// The small bucket settings with the real clients users have: `aws s3api` (every aws CLI on the
// machine) and Debian's boto3 put and read request payment and transfer acceleration, fetch a
// torrent and ask for a restore, as the README's commands do. A missing client fails, never skips.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bdecode } from '../../src/torrent/bencode.ts';
import { awsClis, clientEnv, commandError, expectClientsInstalled, run, s3api, startClientSuite } from '../helpers/cli-clients.ts';
import type { TestServer } from '../helpers/server.ts';

let server: TestServer;
let work: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ server, work, stop } = await startClientSuite('bucket-settings-clients'));
});
afterAll(async () => stop?.());

it('has the clients installed (aws, python3 with boto3)', expectClientsInstalled);

describe('aws s3api', () => {
  for (const [i, cli] of awsClis().entries()) {
    it(`sets request payment and acceleration, gets a torrent and is refused a restore with ${cli}`, async () => {
      const env = clientEnv(work, server);
      const aws = s3api(cli, server, env);
      const Bucket = `aws-settings-${i}`;
      await aws('create-bucket', '--bucket', Bucket);
      expect(await aws('get-bucket-request-payment', '--bucket', Bucket)).toEqual({ Payer: 'BucketOwner' });
      await aws('put-bucket-request-payment', '--bucket', Bucket, '--request-payment-configuration', 'Payer=Requester');
      expect(await aws('get-bucket-request-payment', '--bucket', Bucket)).toEqual({ Payer: 'Requester' });
      await aws('put-bucket-request-payment', '--bucket', Bucket, '--request-payment-configuration', 'Payer=BucketOwner');

      expect(await aws('get-bucket-accelerate-configuration', '--bucket', Bucket)).toEqual({});
      await aws('put-bucket-accelerate-configuration', '--bucket', Bucket, '--accelerate-configuration', 'Status=Suspended');
      expect(await aws('get-bucket-accelerate-configuration', '--bucket', Bucket)).toEqual({ Status: 'Suspended' });

      await aws('put-object', '--bucket', Bucket, '--key', 'models/w.bin');
      const file = join(work, `w-${i}.torrent`);
      await aws('get-object-torrent', '--bucket', Bucket, '--key', 'models/w.bin', file);
      const meta = bdecode(readFileSync(file)) as { info: { name: Buffer; length: number } };
      expect([meta.info.name.toString(), meta.info.length]).toEqual(['w.bin', 0]);

      const restore = await commandError(run(cli, ['--endpoint-url', server.endpoint, 's3api', 'restore-object', '--bucket', Bucket, '--key', 'models/w.bin', '--restore-request', 'Days=1'], { env, timeout: 60_000 }));
      expect(restore.stderr).toContain('InvalidObjectState');
    });
  }
});

describe('boto3', () => {
  it('sets request payment and acceleration with Debian python3-boto3', async () => {
    const script = `
import sys, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1')
s3.create_bucket(Bucket='boto-settings')
s3.put_bucket_request_payment(Bucket='boto-settings', RequestPaymentConfiguration={'Payer': 'Requester'})
print(s3.get_bucket_request_payment(Bucket='boto-settings')['Payer'])
s3.put_bucket_accelerate_configuration(Bucket='boto-settings', AccelerateConfiguration={'Status': 'Enabled'})
print(s3.get_bucket_accelerate_configuration(Bucket='boto-settings')['Status'])
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script, server.endpoint, server.accessKey, server.secretKey], { timeout: 60_000 });
    expect(stdout.trim().split('\n')).toEqual(['Requester', 'Enabled']);
  });
});
