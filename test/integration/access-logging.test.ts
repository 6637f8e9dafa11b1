// Server access logging over real HTTP: Put/GetBucketLogging with the SDK and its checks (the
// target must exist in the same region, not be the source, not be logged, not be requester-pays,
// and let the source's owner write: the same organisation, or a bucket policy for the service
// principal logging.s3.amazonaws.com), then requests by the aws CLI, anonymous and by another
// organisation, 403s and 404s included, found as parseable AWS records in log objects in the
// target bucket, delivered after the roll time or at once with POST ?logging.
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetBucketLoggingCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketLoggingCommand,
  PutBucketPolicyCommand,
  PutBucketRequestPaymentCommand,
  PutObjectCommand,
  type BucketLoggingStatus,
} from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async.ts';
import { awsClis, clientEnv, commandError, run } from '../helpers/cli-clients.ts';
import { addTestKey, sendAs, type Creds } from '../helpers/principals.ts';
import { errorCode } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let other: Creds;
const home = mkdtempSync(join(tmpdir(), 'strata-access-log-'));

const putLogging = (Bucket: string, status: BucketLoggingStatus, client = server.client()) => client.send(new PutBucketLoggingCommand({ Bucket, BucketLoggingStatus: status }));
const enabled = (TargetBucket: string, TargetPrefix = 'logs/') => ({ LoggingEnabled: { TargetBucket, TargetPrefix } });

/** AWS's record: fields split on spaces, [time] and "quoted" fields kept whole. */
function parseRecord(line: string): string[] {
  return [...line.matchAll(/\[[^\]]*\]|"[^"]*"|\S+/g)].map((m) => m[0].replace(/^["[]|["\]]$/g, ''));
}

async function logLines(target: string): Promise<string[][]> {
  const s3 = server.client();
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: target }));
  const lines: string[][] = [];
  for (const o of listed.Contents ?? []) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: target, Key: o.Key! }))).Body!.transformToString();
    for (const line of body.split('\n').filter(Boolean)) lines.push(parseRecord(line));
  }
  return lines;
}

beforeAll(async () => {
  server = await startTestServer({ accessLogDelaySeconds: 1 });
  other = await addTestKey(server, 'other-org', 'writer', 'full');
  const s3 = server.client();
  for (const b of ['logged', 'log-target', 'logged-2', 'log-target-2', 'payer-target']) await s3.send(new CreateBucketCommand({ Bucket: b }));
});

afterAll(async () => {
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('PutBucketLogging checks', () => {
  it('refuses a missing target (InvalidTargetBucketForLogging), the source itself, a requester-pays target (InvalidArgument), and changes nothing', async () => {
    expect((await sdkError(putLogging('logged', enabled('no-such-target')))).name).toBe('InvalidTargetBucketForLogging');
    expect((await sdkError(putLogging('logged', enabled('logged')))).name).toBe('InvalidArgument');
    await server.client().send(new PutBucketRequestPaymentCommand({ Bucket: 'payer-target', RequestPaymentConfiguration: { Payer: 'Requester' } }));
    expect((await sdkError(putLogging('logged', enabled('payer-target')))).name).toBe('InvalidArgument');
    const got = await server.client().send(new GetBucketLoggingCommand({ Bucket: 'logged' }));
    expect(got.LoggingEnabled).toBeUndefined();
  });

  it('refuses a bad key format (MalformedXML)', async () => {
    const bad = { LoggingEnabled: { TargetBucket: 'log-target', TargetPrefix: 'p/', TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'kaboom' as never } } } };
    expect((await sdkError(putLogging('logged', bad))).name).toBe('MalformedXML');
  });

  it("another organisation's target needs a policy for logging.s3.amazonaws.com (AccessDenied without)", async () => {
    const otherClient = server.client({ credentials: other });
    await otherClient.send(new CreateBucketCommand({ Bucket: 'other-source' }));
    expect((await sdkError(putLogging('other-source', enabled('log-target-2'), otherClient))).name).toBe('AccessDenied');
    const policy = {
      Version: '2012-10-17',
      Statement: [{
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::log-target-2/logs/*',
        Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::other-source' }, StringEquals: { 'aws:SourceAccount': 'other-org' } },
      }],
    };
    await server.client().send(new PutBucketPolicyCommand({ Bucket: 'log-target-2', Policy: JSON.stringify(policy) }));
    await putLogging('other-source', enabled('log-target-2'), otherClient);
    // The policy names one source account: another one is still refused.
    policy.Statement[0].Condition.StringEquals['aws:SourceAccount'] = 'someone-else';
    await server.client().send(new PutBucketPolicyCommand({ Bucket: 'log-target-2', Policy: JSON.stringify(policy) }));
    await putLogging('other-source', { }, otherClient);
    expect((await sdkError(putLogging('other-source', enabled('log-target-2'), otherClient))).name).toBe('AccessDenied');
  });

  it('reads back what was set, with the defaults, and a target that is itself logged is refused', async () => {
    await putLogging('logged', enabled('log-target'));
    const got = await server.client().send(new GetBucketLoggingCommand({ Bucket: 'logged' }));
    expect(got.LoggingEnabled).toMatchObject({ TargetBucket: 'log-target', TargetPrefix: 'logs/', TargetObjectKeyFormat: { SimplePrefix: {} } });
    expect((await sdkError(putLogging('logged-2', enabled('logged')))).name).toBe('InvalidArgument');
  });
});

describe('records in the target bucket', () => {
  it('aws CLI requests, failures included, become AWS access-log records', async () => {
    const cli = awsClis()[0];
    expect(cli, 'the aws CLI must be installed').toBeDefined();
    const env = clientEnv(home, server);
    const file = join(home, 'model.bin');
    writeFileSync(file, 'weights'.repeat(100));
    await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'put-object', '--bucket', 'logged', '--key', 'dir/model.bin', '--body', file], { env });
    await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'get-object', '--bucket', 'logged', '--key', 'dir/model.bin', join(home, 'out.bin')], { env });
    await commandError(run(cli, ['--endpoint-url', server.endpoint, 's3api', 'get-object', '--bucket', 'logged', '--key', 'missing', join(home, 'out2.bin')], { env }));
    await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'list-objects-v2', '--bucket', 'logged'], { env });
    const denied = await sendAs(server, 'anonymous', 'GET', '/logged/dir/model.bin');
    expect(denied.status).toBe(403);
    const otherDenied = await sendAs(server, other, 'PUT', '/logged/intruder', { body: 'x' });
    expect(errorCode(otherDenied.body.toString())).toBe('AccessDenied');

    // Until the last request's record has arrived (records of earlier tests are there too).
    const records = await eventually(async () => {
      const lines = await logLines('log-target');
      if (!lines.some((l) => l[7] === 'intruder' && l[9] === '403')) throw new Error(`${lines.length} records so far`);
      return lines;
    }, 20_000);
    for (const r of records) expect(r).toHaveLength(26);
    const find = (op: string, key: string, status: string) => records.find((r) => r[6] === op && r[7] === key && r[9] === status);
    const put = find('REST.PUT.OBJECT', 'dir/model.bin', '200')!;
    expect(put).toBeDefined();
    expect(put[0]).toBe('default'); // bucket owner
    expect(put[1]).toBe('logged');
    expect(put[2]).toMatch(/^\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(put[3]).toBe('127.0.0.1');
    expect(put[4]).toBe('default:admin');
    expect(put[5]).toMatch(/^[0-9A-F]{16}$/);
    expect(put[8]).toBe('PUT /logged/dir/model.bin HTTP/1.1');
    expect(put[12]).toBe('700'); // object size
    expect(put[16]).toMatch(/aws-cli/);
    expect(put[19]).toBe('SigV4');
    expect(put[21]).toBe('AuthHeader');
    expect(put[22]).toBe(`127.0.0.1:${server.port}`);
    const get = find('REST.GET.OBJECT', 'dir/model.bin', '200')!;
    expect(get[11]).toBe('700'); // bytes sent
    expect(find('REST.GET.OBJECT', 'missing', '404')![10]).toBe('NoSuchKey');
    expect(records.find((r) => r[6] === 'REST.GET.BUCKET' && r[9] === '200')).toBeDefined();
    const anonymous = find('REST.GET.OBJECT', 'dir/model.bin', '403')!;
    expect(anonymous[4]).toBe('-');
    expect(anonymous[10]).toBe('AccessDenied');
    expect(anonymous[21]).toBe('-');
    expect(find('REST.PUT.OBJECT', 'intruder', '403')![4]).toBe('other-org:writer');
  });

  it('POST ?logging writes the pending records at once and names the log object; partitioned keys', async () => {
    await putLogging('logged-2', { LoggingEnabled: { TargetBucket: 'log-target', TargetPrefix: 'p/', TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'DeliveryTime' } } } });
    await sendAs(server, 'admin', 'PUT', '/logged-2/one', { body: 'x' });
    await new Promise((r) => setTimeout(r, 200)); // the record reaches the outbox (100 ms batches)
    const flushed = await sendAs(server, 'admin', 'POST', '/logged-2?logging');
    expect(flushed.status).toBe(200);
    const name = /<FlushedLoggingObject>([^<]+)<\/FlushedLoggingObject>/.exec(flushed.body.toString())![1];
    expect(name).toMatch(/^p\/default\/lga1\/logged-2\/\d{4}\/\d{2}\/\d{2}\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$/);
    const body = await (await server.client().send(new GetObjectCommand({ Bucket: 'log-target', Key: name }))).Body!.transformToString();
    expect(body).toContain('REST.PUT.OBJECT one');
  });

  it('buckets logging to one target and prefix share log objects; Last-Modified moves only when the configuration changes', async () => {
    const s3 = server.client();
    for (const b of ['shared-a', 'shared-b', 'shared-logs']) await s3.send(new CreateBucketCommand({ Bucket: b }));
    await putLogging('shared-a', enabled('shared-logs', 'all/'));
    const first = await sendAs(server, 'admin', 'GET', '/shared-a?logging');
    const modified = first.headers['last-modified'];
    expect(modified).toBeDefined();
    await new Promise((r) => setTimeout(r, 1100));
    await putLogging('shared-a', enabled('shared-logs', 'all/'));
    expect((await sendAs(server, 'admin', 'GET', '/shared-a?logging')).headers['last-modified']).toBe(modified);
    await putLogging('shared-b', enabled('shared-logs', 'all/'));
    await sendAs(server, 'admin', 'PUT', '/shared-a/ka', { body: 'x' });
    await sendAs(server, 'admin', 'PUT', '/shared-b/kb', { body: 'x' });
    await new Promise((r) => setTimeout(r, 200));
    const flushed = await sendAs(server, 'admin', 'POST', '/shared-a?logging');
    const name = /<FlushedLoggingObject>([^<]*)<\/FlushedLoggingObject>/.exec(flushed.body.toString())![1];
    // One log object holds both buckets' records (each names its bucket); the roll time (1 s
    // here) may have written an earlier one with the configuration requests.
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'shared-logs', Key: name }))).Body!.transformToString();
    const puts = body.split('\n').filter(Boolean).map(parseRecord).filter((r) => r[6] === 'REST.PUT.OBJECT');
    expect(puts.map((r) => `${r[1]}/${r[7]}`)).toEqual(['shared-a/ka', 'shared-b/kb']);
  });

  it('DeleteObjects is one record per key removed (Ceph RGW)', async () => {
    const s3 = server.client();
    for (const k of ['d1', 'd2']) await s3.send(new PutObjectCommand({ Bucket: 'logged-2', Key: k, Body: 'x' }));
    await s3.send(new DeleteObjectsCommand({ Bucket: 'logged-2', Delete: { Objects: [{ Key: 'd1' }, { Key: 'd2' }] } }));
    await new Promise((r) => setTimeout(r, 200));
    const flushed = await sendAs(server, 'admin', 'POST', '/logged-2?logging');
    const name = /<FlushedLoggingObject>([^<]*)<\/FlushedLoggingObject>/.exec(flushed.body.toString())![1];
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'log-target', Key: name }))).Body!.transformToString();
    const deletes = body.split('\n').filter(Boolean).map(parseRecord).filter((r) => r[6] === 'REST.POST.DELETE_MULTI_OBJECT');
    expect(deletes.map((r) => r[7])).toEqual(['d1', 'd2']);
    expect(new Set(deletes.map((r) => r[5])).size).toBe(1); // one request id
  });

  it('disabling with an empty BucketLoggingStatus', async () => {
    await putLogging('logged-2', {});
    expect((await server.client().send(new GetBucketLoggingCommand({ Bucket: 'logged-2' }))).LoggingEnabled).toBeUndefined();
  });
});
