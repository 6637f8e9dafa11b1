// Bucket CORS over real HTTP: the configuration's round trip with the SDK and its errors
// (changing nothing), preflights on bucket and object paths (regional and accelerated hosts,
// unsigned as browsers send them), and the Access-Control-* headers of actual answers, errors
// included. One in-process server; its regions' accelerated hosts read the store directly.
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketAccelerateConfigurationCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type CORSRule,
} from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClis, clientEnv, commandError, run } from '../helpers/cli-clients.ts';
import { errorCode, rawRequest, type RawResponse } from '../helpers/raw.ts';
import { addTestKey, sendAs } from '../helpers/principals.ts';
import { sdkError, startTestServer, testAccessKey, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const bucket = 'cors-bucket';
const bare = 'cors-bare';
const site = 'https://app.example.com';
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rules: CORSRule[] = [
  {
    ID: 'app',
    AllowedOrigins: ['https://*.example.com'],
    AllowedMethods: ['GET', 'PUT'],
    AllowedHeaders: ['content-type', 'x-amz-*'],
    ExposeHeaders: ['ETag', 'x-amz-request-id'],
    MaxAgeSeconds: 600,
  },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] },
];

const putRules = (CORSRules: CORSRule[], b = bucket) => server.client().send(new PutBucketCorsCommand({ Bucket: b, CORSConfiguration: { CORSRules } }));
const getRules = async (b = bucket) => (await server.client().send(new GetBucketCorsCommand({ Bucket: b }))).CORSRules;
const accelHost = () => `accel-object.lga1.localhost:${server.port}`;

/** An unsigned OPTIONS, as a browser sends it. */
function preflight(path: string, headers: Record<string, string>, host?: string): Promise<RawResponse> {
  return rawRequest(server.port, { method: 'OPTIONS', path, headers, sign: false, host });
}

const corsOf = (res: RawResponse) =>
  Object.fromEntries(Object.entries(res.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));

beforeAll(async () => {
  server = await startTestServer({ accelTtlSeconds: 1 });
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new CreateBucketCommand({ Bucket: bare }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'page.txt', Body: 'hello cors', ACL: 'public-read' }));
  await s3.send(new PutObjectCommand({ Bucket: bare, Key: 'page.txt', Body: 'no rules', ACL: 'public-read' }));
});
afterAll(async () => server?.stop());

describe('PutBucketCors / GetBucketCors / DeleteBucketCors', () => {
  it('round-trips the rules in order, and deleting makes GET NoSuchCORSConfiguration again', async () => {
    const missing = await sdkError(getRules());
    expect(missing.name).toBe('NoSuchCORSConfiguration');
    expect(missing.$metadata.httpStatusCode).toBe(404);
    await putRules(rules);
    expect(await getRules()).toEqual([
      { ID: 'app', AllowedOrigins: ['https://*.example.com'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type', 'x-amz-*'], ExposeHeaders: ['ETag', 'x-amz-request-id'], MaxAgeSeconds: 600 },
      { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] },
    ]);
    // AWS's element order in GetBucketCors.
    const raw = await rawRequest(server.port, { path: `/${bucket}?cors` });
    expect(raw.text).toContain('<CORSRule><ID>app</ID><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>https://*.example.com</AllowedOrigin>');
    expect(raw.text).toContain('<MaxAgeSeconds>600</MaxAgeSeconds><ExposeHeader>ETag</ExposeHeader>');

    const deleted = await server.client().send(new DeleteBucketCorsCommand({ Bucket: bucket }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    expect((await sdkError(getRules())).name).toBe('NoSuchCORSConfiguration');
    // Deleting again is fine, as on AWS.
    await server.client().send(new DeleteBucketCorsCommand({ Bucket: bucket }));
    await putRules(rules);
  });

  it('refuses bad configurations with AWS errors, changing nothing', async () => {
    const rule = (inner: string) => `<CORSConfiguration><CORSRule>${inner}</CORSRule></CORSConfiguration>`;
    const minimal = '<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>';
    const malformed = [
      'not xml',
      '<CORSConfiguration/>',
      '<Other><CORSRule>' + minimal + '</CORSRule></Other>',
      rule('<AllowedMethod>GET</AllowedMethod>'),
      rule('<AllowedOrigin>*</AllowedOrigin>'),
      rule(minimal + '<AllowedHeaders>*</AllowedHeaders>'),
      rule(minimal + 'text'),
      rule(minimal + '<MaxAgeSeconds>-1</MaxAgeSeconds>'),
      rule(minimal + '<MaxAgeSeconds>1.5</MaxAgeSeconds>'),
      rule(minimal + '<MaxAgeSeconds>2147483648</MaxAgeSeconds>'),
      rule(minimal + '<ID>a</ID><ID>b</ID>'),
      rule(minimal + `<ID>${'i'.repeat(256)}</ID>`),
      `<CORSConfiguration>${`<CORSRule>${minimal}</CORSRule>`.repeat(101)}</CORSConfiguration>`,
    ];
    const invalid: [string, string][] = [
      [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>'), 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH'],
      [rule('<AllowedOrigin>https://*.example.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>'), 'AllowedOrigin "https://*.example.*" can not have more than one wildcard.'],
      [rule(minimal + '<AllowedHeader>x-*-*</AllowedHeader>'), 'AllowedHeader "x-*-*" can not have more than one wildcard.'],
      [rule(minimal + '<ExposeHeader>x-amz-*</ExposeHeader>'), 'ExposeHeader "x-amz-*" contains wildcard. We currently do not support wildcard for ExposeHeader.'],
    ];
    for (const body of malformed) {
      const res = await sendAs(server, 'admin', 'PUT', `/${bucket}?cors`, { body });
      expect([res.status, errorCode(res.text)], body.slice(0, 120)).toEqual([400, 'MalformedXML']);
    }
    for (const [body, message] of invalid) {
      const res = await sendAs(server, 'admin', 'PUT', `/${bucket}?cors`, { body });
      expect([res.status, errorCode(res.text)], body).toEqual([400, 'InvalidRequest']);
      expect(res.text).toContain(message);
    }
    const huge = await sendAs(server, 'admin', 'PUT', `/${bucket}?cors`, { body: rule(minimal + `<ID>${' '.repeat(70 * 1024)}</ID>`) });
    expect(huge.status).toBe(400);
    // 100 rules are accepted (and then replaced again below).
    const hundred = await sendAs(server, 'admin', 'PUT', `/${bare}?cors`, { body: `<CORSConfiguration>${`<CORSRule>${minimal}</CORSRule>`.repeat(100)}</CORSConfiguration>` });
    expect(hundred.status, hundred.text).toBe(200);
    expect(await getRules(bare)).toHaveLength(100);
    await server.client().send(new DeleteBucketCorsCommand({ Bucket: bare }));

    const writer = await addTestKey(server, 'default', 'cors-writer', 'readwrite');
    const refused = await sdkError(server.client({ credentials: writer }).send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['DELETE'] }] } })));
    expect(refused.name).toBe('AccessDenied');
    const refusedDelete = await sdkError(server.client({ credentials: writer }).send(new DeleteBucketCorsCommand({ Bucket: bucket })));
    expect(refusedDelete.name).toBe('AccessDenied');
    expect(await getRules()).toHaveLength(2);
    expect((await getRules())?.[0].ID).toBe('app');
  });
});

describe('with the aws CLI and Debian boto3', () => {
  it('round-trips put, get and delete, and shows AWS errors', async () => {
    const clis = awsClis();
    expect(clis.length, 'the aws CLI is missing').toBeGreaterThan(0);
    const home = mkdtempSync(join(tmpdir(), 'strata-cors-cli-'));
    try {
      const env = clientEnv(home, server);
      await server.client().send(new CreateBucketCommand({ Bucket: 'cors-cli' }));
      const file = join(home, 'cors.json');
      writeFileSync(file, JSON.stringify({ CORSRules: [{ AllowedOrigins: ['https://app.example.com'], AllowedMethods: ['GET', 'PUT'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 60 }] }));
      const aws = (...args: string[]) => run(clis[0], ['--endpoint-url', server.endpoint, 's3api', ...args, '--bucket', 'cors-cli'], { env, timeout: 60_000 });
      await aws('put-bucket-cors', '--cors-configuration', `file://${file}`);
      const got = JSON.parse((await aws('get-bucket-cors')).stdout) as { CORSRules: CORSRule[] };
      expect(got.CORSRules).toEqual([{ AllowedOrigins: ['https://app.example.com'], AllowedMethods: ['GET', 'PUT'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 60 }]);
      await aws('delete-bucket-cors');
      expect((await commandError(aws('get-bucket-cors'))).stderr).toContain('NoSuchCORSConfiguration');

      const script = [
        'import sys, boto3, botocore',
        "s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1')",
        "s3.put_bucket_cors(Bucket='cors-cli', CORSConfiguration={'CORSRules': [{'ID': 'py', 'AllowedOrigins': ['*'], 'AllowedMethods': ['HEAD']}]})",
        "print(s3.get_bucket_cors(Bucket='cors-cli')['CORSRules'])",
        'try:',
        "    s3.put_bucket_cors(Bucket='cors-cli', CORSConfiguration={'CORSRules': [{'AllowedOrigins': ['*'], 'AllowedMethods': ['TRACE']}]})",
        'except botocore.exceptions.ClientError as e:',
        "    print(e.response['Error']['Code'], e.response['Error']['Message'])",
        "print(s3.delete_bucket_cors(Bucket='cors-cli')['ResponseMetadata']['HTTPStatusCode'])",
      ].join('\n');
      const out = await run('/usr/bin/python3', ['-c', script, server.endpoint, server.accessKey, server.secretKey], { env, timeout: 60_000 });
      expect(out.stdout.split('\n')).toEqual([
        "[{'ID': 'py', 'AllowedMethods': ['HEAD'], 'AllowedOrigins': ['*']}]",
        'InvalidRequest Found unsupported HTTP method in CORS config. Unsupported method is TRACE',
        '204',
        '',
      ]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('preflight (OPTIONS)', () => {
  it('answers the first matching rule with its Access-Control-* headers, on object and bucket paths', async () => {
    const res = await preflight(`/${bucket}/page.txt`, { origin: site, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'Content-Type, X-Amz-Date' });
    expect(res.status, res.text).toBe(200);
    expect(corsOf(res)).toEqual({
      'access-control-allow-origin': site,
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'content-type, x-amz-date',
      'access-control-expose-headers': 'ETag, x-amz-request-id',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
      vary: VARY,
    });
    // HEAD only in the second rule ('*'): no credentials, '*' as the origin.
    const any = await preflight(`/${bucket}`, { origin: 'https://elsewhere.org', 'access-control-request-method': 'HEAD' });
    expect(any.status).toBe(200);
    expect(corsOf(any)).toEqual({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, HEAD', vary: VARY });
    // Virtual-hosted style reaches the same rules.
    const virtual = await preflight('/page.txt', { origin: site, 'access-control-request-method': 'GET' }, `${bucket}.localhost:${server.port}`);
    expect(virtual.status, virtual.text).toBe(200);
    expect(virtual.headers['access-control-allow-origin']).toBe(site);
  });

  it('refuses with 403 AccessForbidden when no rule matches or CORS is not configured, 400 when the preflight is incomplete', async () => {
    const header = await preflight(`/${bucket}/page.txt`, { origin: site, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' });
    expect([header.status, errorCode(header.text)]).toEqual([403, 'AccessForbidden']);
    expect(header.text).toContain('CORSResponse: This CORS request is not allowed.');
    expect(header.text).toContain('<Method>PUT</Method><ResourceType>OBJECT</ResourceType>');
    expect(header.headers['access-control-allow-origin']).toBeUndefined();
    const method = await preflight(`/${bucket}`, { origin: 'https://elsewhere.org', 'access-control-request-method': 'PUT' });
    expect([method.status, errorCode(method.text)]).toEqual([403, 'AccessForbidden']);
    expect(method.text).toContain('<ResourceType>BUCKET</ResourceType>');
    // Origins match case-sensitively.
    const upper = await preflight(`/${bucket}/page.txt`, { origin: 'HTTPS://app.example.com', 'access-control-request-method': 'PUT' });
    expect(upper.status).toBe(403);

    const none = await preflight(`/${bare}/page.txt`, { origin: site, 'access-control-request-method': 'GET' });
    expect([none.status, errorCode(none.text)]).toEqual([403, 'AccessForbidden']);
    expect(none.text).toContain('CORSResponse: CORS is not enabled for this bucket.');

    const noOrigin = await preflight(`/${bucket}/page.txt`, { 'access-control-request-method': 'GET' });
    expect([noOrigin.status, errorCode(noOrigin.text)]).toEqual([400, 'BadRequest']);
    const noMethod = await preflight(`/${bucket}/page.txt`, { origin: site });
    expect([noMethod.status, errorCode(noMethod.text)]).toEqual([400, 'BadRequest']);
    const badMethod = await preflight(`/${bucket}/page.txt`, { origin: site, 'access-control-request-method': 'PATCH' });
    expect([badMethod.status, errorCode(badMethod.text)]).toEqual([400, 'BadRequest']);
    expect(badMethod.text).toContain('Invalid Access-Control-Request-Method: PATCH');
    const noBucket = await preflight('/no-such-cors-bucket/x', { origin: site, 'access-control-request-method': 'GET' });
    expect([noBucket.status, errorCode(noBucket.text)]).toEqual([404, 'NoSuchBucket']);
  });
});

describe('actual answers', () => {
  it('carry the matching rule’s headers, on successes and on errors', async () => {
    const ok = await rawRequest(server.port, { path: `/${bucket}/page.txt`, headers: { origin: site } });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('hello cors');
    expect(corsOf(ok)).toEqual({
      'access-control-allow-origin': site,
      'access-control-allow-methods': 'GET, PUT',
      'access-control-expose-headers': 'ETag, x-amz-request-id',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
      vary: VARY,
    });
    // An error the operation raises (NoSuchKey), and one raised before the bucket was looked at
    // (a bad signature): both readable by the page.
    const missing = await rawRequest(server.port, { path: `/${bucket}/absent`, headers: { origin: site } });
    expect([missing.status, errorCode(missing.text)]).toEqual([404, 'NoSuchKey']);
    expect(missing.headers['access-control-allow-origin']).toBe(site);
    const forged = await rawRequest(server.port, { path: `/${bucket}/page.txt`, headers: { origin: site }, sign: { accessKeyId: testAccessKey, secretAccessKey: 'wrong-secret' } });
    expect([forged.status, errorCode(forged.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(forged.headers['access-control-allow-origin']).toBe(site);
    expect(forged.headers['access-control-expose-headers']).toBe('ETag, x-amz-request-id');
    const head = await rawRequest(server.port, { method: 'HEAD', path: `/${bucket}/page.txt`, headers: { origin: 'https://elsewhere.org' }, sign: false });
    expect(head.status).toBe(200);
    expect(corsOf(head)).toEqual({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, HEAD', vary: VARY });
  });

  it('carry no Access-Control-* header for an origin no rule allows, nor for a bucket without rules', async () => {
    // DELETE is in no rule: the answer is the operation's, without CORS headers but with Vary.
    const denied = await rawRequest(server.port, { method: 'DELETE', path: `/${bucket}/page.txt`, headers: { origin: site }, sign: false });
    expect(denied.status).toBe(403);
    expect(corsOf(denied)).toEqual({ vary: VARY });
    const noOrigin = await rawRequest(server.port, { path: `/${bucket}/page.txt` });
    expect(corsOf(noOrigin)).toEqual({ vary: VARY });
    const bareGet = await rawRequest(server.port, { path: `/${bare}/page.txt`, headers: { origin: site } });
    expect(bareGet.status).toBe(200);
    expect(corsOf(bareGet)).toEqual({});
    const bareMissing = await rawRequest(server.port, { path: `/${bare}/absent`, headers: { origin: site } });
    expect(corsOf(bareMissing)).toEqual({});
  });
});

describe('accelerated hosts', () => {
  it('answer preflights and actual reads from the bucket’s rules, and refuse a suspended bucket', async () => {
    const res = await preflight(`/${bucket}/page.txt`, { origin: site, 'access-control-request-method': 'GET' }, accelHost());
    expect(res.status, res.text).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(site);
    expect(res.headers['access-control-allow-methods']).toBe('GET, PUT');
    const bucketPath = await preflight(`/${bucket}`, { origin: 'https://elsewhere.org', 'access-control-request-method': 'HEAD' }, accelHost());
    expect(bucketPath.status, bucketPath.text).toBe(200);
    expect(bucketPath.headers['access-control-allow-origin']).toBe('*');
    const none = await preflight(`/${bare}/page.txt`, { origin: site, 'access-control-request-method': 'GET' }, accelHost());
    expect([none.status, errorCode(none.text)]).toEqual([403, 'AccessForbidden']);
    const incomplete = await preflight(`/${bucket}/page.txt`, { origin: site }, accelHost());
    expect([incomplete.status, errorCode(incomplete.text)]).toEqual([400, 'BadRequest']);

    const read = await rawRequest(server.port, { path: `/${bucket}/page.txt`, headers: { origin: site }, sign: false, host: accelHost() });
    expect(read.status, read.text).toBe(200);
    expect(read.text).toBe('hello cors');
    expect(read.headers['access-control-allow-origin']).toBe(site);
    expect(read.headers['access-control-expose-headers']).toBe('ETag, x-amz-request-id');
    const forged = await rawRequest(server.port, { path: `/${bucket}/page.txt`, headers: { origin: site }, sign: { accessKeyId: testAccessKey, secretAccessKey: 'wrong-secret' }, host: accelHost() });
    expect([forged.status, errorCode(forged.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(forged.headers['access-control-allow-origin']).toBe(site);

    await server.client().send(new PutBucketAccelerateConfigurationCommand({ Bucket: bucket, AccelerateConfiguration: { Status: 'Suspended' } }));
    await sleep(1200); // past the cache TTL
    const suspended = await preflight(`/${bucket}/page.txt`, { origin: site, 'access-control-request-method': 'GET' }, accelHost());
    expect([suspended.status, errorCode(suspended.text)]).toEqual([400, 'InvalidRequest']);
    await server.client().send(new PutBucketAccelerateConfigurationCommand({ Bucket: bucket, AccelerateConfiguration: { Status: 'Enabled' } }));
  });
});
