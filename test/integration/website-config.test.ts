// Website configuration over real HTTP: Put/Get/DeleteBucketWebsite round trips with the SDK,
// the aws CLI and boto3; every malformed configuration gets AWS's error and changes nothing; the
// access levels; and x-amz-website-redirect-location as PutObject, CopyObject and multipart
// uploads store it (what the website endpoint does with all of it: website-endpoint.test.ts).
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketWebsiteCommand,
  GetBucketWebsiteCommand,
  HeadObjectCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  UploadPartCommand,
  type WebsiteConfiguration,
} from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClis, clientEnv, run, which } from '../helpers/cli-clients.ts';
import { addTestKey, sendAs } from '../helpers/principals.ts';
import { errorCode } from '../helpers/raw.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let home: string;
const bucket = 'site-config';

const fullConfig: WebsiteConfiguration = {
  IndexDocument: { Suffix: 'index.html' },
  ErrorDocument: { Key: 'errors/404.html' },
  RoutingRules: [
    { Condition: { KeyPrefixEquals: 'docs/' }, Redirect: { ReplaceKeyPrefixWith: 'documents/' } },
    { Condition: { HttpErrorCodeReturnedEquals: '404', KeyPrefixEquals: 'img/' }, Redirect: { HostName: 'cdn.example.com', Protocol: 'https', HttpRedirectCode: '302' } },
    { Redirect: { ReplaceKeyWith: 'moved.html' } },
  ],
};

const getConfig = (b = bucket) => server.client().send(new GetBucketWebsiteCommand({ Bucket: b }));
const putXml = (xml: string, b = bucket) => sendAs(server, 'admin', 'PUT', `/${b}?website`, { body: xml });
const wrap = (inner: string) => `<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</WebsiteConfiguration>`;
const index = '<IndexDocument><Suffix>index.html</Suffix></IndexDocument>';
const rules = (...r: string[]) => `${index}<RoutingRules>${r.map((x) => `<RoutingRule>${x}</RoutingRule>`).join('')}</RoutingRules>`;

beforeAll(async () => {
  server = await startTestServer();
  home = mkdtempSync(join(tmpdir(), 'strata-website-cli-'));
  await server.client().send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => {
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('PutBucketWebsite / GetBucketWebsite / DeleteBucketWebsite', () => {
  it('round-trips a full configuration with the SDK, and deletes it', async () => {
    const none = await sdkError(getConfig());
    expect(none.name).toBe('NoSuchWebsiteConfiguration');
    expect(none.$metadata.httpStatusCode).toBe(404);

    await server.client().send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: fullConfig }));
    const got = await getConfig();
    expect(got.IndexDocument).toEqual(fullConfig.IndexDocument);
    expect(got.ErrorDocument).toEqual(fullConfig.ErrorDocument);
    expect(got.RoutingRules).toEqual(fullConfig.RoutingRules);
    expect(got.RedirectAllRequestsTo).toBeUndefined();

    const deleted = await server.client().send(new DeleteBucketWebsiteCommand({ Bucket: bucket }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    expect((await sdkError(getConfig())).name).toBe('NoSuchWebsiteConfiguration');
    // Deleting what is not there is still 204, as AWS answers.
    expect((await sendAs(server, 'admin', 'DELETE', `/${bucket}?website`)).status).toBe(204);
  });

  it('round-trips RedirectAllRequestsTo', async () => {
    await server.client().send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: { RedirectAllRequestsTo: { HostName: 'www.example.com', Protocol: 'https' } } }));
    const got = await getConfig();
    expect(got.RedirectAllRequestsTo).toEqual({ HostName: 'www.example.com', Protocol: 'https' });
    expect(got.IndexDocument).toBeUndefined();
  });

  it('refuses each malformed configuration with AWS error code, changing nothing', async () => {
    await server.client().send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: fullConfig }));
    const cases: [string, string, string?][] = [
      ['not xml', 'MalformedXML'],
      ['<Other/>', 'MalformedXML'],
      [wrap(''), 'InvalidArgument', 'A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty'],
      [wrap('<ErrorDocument><Key>e.html</Key></ErrorDocument>'), 'InvalidArgument', 'IndexDocument Suffix must be provided'],
      [wrap('<IndexDocument><Suffix></Suffix></IndexDocument>'), 'InvalidArgument', 'The IndexDocument Suffix is not well formed'],
      [wrap('<IndexDocument><Suffix>a/index.html</Suffix></IndexDocument>'), 'InvalidArgument', 'The IndexDocument Suffix is not well formed'],
      [wrap('<IndexDocument></IndexDocument>'), 'MalformedXML'],
      [wrap(`${index}${index}`), 'MalformedXML'],
      [wrap(`${index}<ErrorDocument><Key></Key></ErrorDocument>`), 'InvalidArgument', 'The ErrorDocument Key is not well formed'],
      [wrap(`${index}<ErrorDocument></ErrorDocument>`), 'MalformedXML'],
      [wrap(`${index}<Unknown>1</Unknown>`), 'MalformedXML'],
      [wrap(`<RedirectAllRequestsTo><HostName>x.com</HostName></RedirectAllRequestsTo>${index}`), 'InvalidRequest', 'RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.'],
      [wrap('<RedirectAllRequestsTo><HostName></HostName></RedirectAllRequestsTo>'), 'InvalidRequest', 'A host name must be provided'],
      [wrap('<RedirectAllRequestsTo><Protocol>http</Protocol></RedirectAllRequestsTo>'), 'InvalidRequest', 'A host name must be provided'],
      [wrap('<RedirectAllRequestsTo><HostName>x.com</HostName><Protocol>ftp</Protocol></RedirectAllRequestsTo>'), 'InvalidRequest', 'Invalid protocol'],
      [wrap('<RedirectAllRequestsTo><HostName>x.com/evil\r\nSet-Cookie: a</HostName></RedirectAllRequestsTo>'), 'InvalidRequest', 'not a valid host name'],
      [wrap(`${index}<RoutingRules></RoutingRules>`), 'MalformedXML'],
      [wrap(rules('<Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition>')), 'MalformedXML'],
      [wrap(rules('<Redirect></Redirect>')), 'MalformedXML'],
      [wrap(rules('<Condition></Condition><Redirect><HostName>x.com</HostName></Redirect>')), 'InvalidRequest', 'Condition cannot be empty'],
      [wrap(rules('<Redirect><ReplaceKeyWith>a</ReplaceKeyWith><ReplaceKeyPrefixWith>b</ReplaceKeyPrefixWith></Redirect>')), 'InvalidRequest', 'You can only define ReplaceKeyPrefix or ReplaceKey but not both.'],
      [wrap(rules('<Redirect><HttpRedirectCode>300</HttpRedirectCode></Redirect>')), 'InvalidRequest', 'The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300.'],
      [wrap(rules('<Redirect><HttpRedirectCode>404</HttpRedirectCode></Redirect>')), 'InvalidRequest', 'Valid codes are 3XX except 300'],
      [wrap(rules('<Redirect><HttpRedirectCode>abc</HttpRedirectCode></Redirect>')), 'MalformedXML'],
      [wrap(rules('<Condition><HttpErrorCodeReturnedEquals>302</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>x.com</HostName></Redirect>')), 'InvalidRequest', 'Valid codes are 4XX or 5XX.'],
      [wrap(rules('<Condition><HttpErrorCodeReturnedEquals>x</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>x.com</HostName></Redirect>')), 'MalformedXML'],
      [wrap(rules('<Redirect><Protocol>gopher</Protocol></Redirect>')), 'InvalidRequest', 'Invalid protocol'],
      [wrap(rules(...Array.from({ length: 51 }, () => '<Redirect><HostName>x.com</HostName></Redirect>'))), 'InvalidRequest', 'must not exceed'],
    ];
    for (const [xml, code, message] of cases) {
      const res = await putXml(xml);
      expect(res.status, xml).toBe(400);
      expect(errorCode(res.text), xml).toBe(code);
      expect(res.text).toContain('<RequestId>');
      if (message) expect(res.text, xml).toContain(message);
    }
    const got = await getConfig();
    expect(got.RoutingRules).toEqual(fullConfig.RoutingRules);
    expect(got.ErrorDocument).toEqual(fullConfig.ErrorDocument);
  });

  it('accepts 50 rules, an empty ReplaceKeyPrefixWith and pretty-printed XML', async () => {
    const fifty = rules(...Array.from({ length: 50 }, (_, i) => `<Condition><KeyPrefixEquals>p${i}/</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith></ReplaceKeyPrefixWith></Redirect>`));
    expect((await putXml(wrap(fifty))).status).toBe(200);
    const got = await getConfig();
    expect(got.RoutingRules).toHaveLength(50);
    expect(got.RoutingRules![49]).toEqual({ Condition: { KeyPrefixEquals: 'p49/' }, Redirect: { ReplaceKeyPrefixWith: '' } });
    const pretty = `<?xml version="1.0" encoding="UTF-8"?>
<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IndexDocument>
    <Suffix>home.html</Suffix>
  </IndexDocument>
</WebsiteConfiguration>`;
    const res = await putXml(pretty);
    expect(res.status, res.text).toBe(200);
    expect((await getConfig()).IndexDocument).toEqual({ Suffix: 'home.html' });
  });

  it('needs the full level to write or delete, read to read; other organisations are refused', async () => {
    await server.client().send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: fullConfig }));
    const writer = await addTestKey(server, 'default', 'website-writer', 'readwrite');
    const reader = await addTestKey(server, 'default', 'website-reader', 'read');
    const stranger = await addTestKey(server, 'other-org', 'website-stranger', 'full');
    const as = (credentials: { accessKeyId: string; secretAccessKey: string }) => server.client({ credentials });
    expect((await sdkError(as(writer).send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: { IndexDocument: { Suffix: 'x.html' } } })))).name).toBe('AccessDenied');
    expect((await sdkError(as(writer).send(new DeleteBucketWebsiteCommand({ Bucket: bucket })))).name).toBe('AccessDenied');
    expect((await as(reader).send(new GetBucketWebsiteCommand({ Bucket: bucket }))).IndexDocument).toEqual({ Suffix: 'index.html' });
    expect((await sdkError(as(stranger).send(new GetBucketWebsiteCommand({ Bucket: bucket })))).name).toBe('AccessDenied');
    expect((await sdkError(as(stranger).send(new DeleteBucketWebsiteCommand({ Bucket: bucket })))).name).toBe('AccessDenied');
    expect((await getConfig()).RoutingRules).toEqual(fullConfig.RoutingRules);
    const missing = await sdkError(server.client().send(new GetBucketWebsiteCommand({ Bucket: 'no-such-site' })));
    expect(missing.name).toBe('NoSuchBucket');
  });

  it('round-trips with the aws CLI (put-bucket-website / get-bucket-website / delete-bucket-website)', async () => {
    const clis = awsClis();
    expect(clis.length, 'an aws CLI must be installed').toBeGreaterThan(0);
    const env = clientEnv(home, { endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey });
    const file = join(home, 'website.json');
    writeFileSync(file, JSON.stringify({ IndexDocument: { Suffix: 'index.html' }, ErrorDocument: { Key: 'oops.html' }, RoutingRules: [{ Condition: { KeyPrefixEquals: 'old/' }, Redirect: { ReplaceKeyPrefixWith: 'new/' } }] }));
    for (const cli of clis) {
      const aws = (...args: string[]) => run(cli, ['--endpoint-url', server.endpoint, 's3api', ...args], { env, timeout: 60_000 });
      await aws('delete-bucket-website', '--bucket', bucket);
      await aws('put-bucket-website', '--bucket', bucket, '--website-configuration', `file://${file}`);
      const got = JSON.parse((await aws('get-bucket-website', '--bucket', bucket)).stdout);
      expect(got.IndexDocument, cli).toEqual({ Suffix: 'index.html' });
      expect(got.ErrorDocument, cli).toEqual({ Key: 'oops.html' });
      expect(got.RoutingRules, cli).toEqual([{ Condition: { KeyPrefixEquals: 'old/' }, Redirect: { ReplaceKeyPrefixWith: 'new/' } }]);
      await aws('delete-bucket-website', '--bucket', bucket);
      const gone = await run(cli, ['--endpoint-url', server.endpoint, 's3api', 'get-bucket-website', '--bucket', bucket], { env }).catch((e: { stderr: string }) => e);
      expect((gone as { stderr: string }).stderr, cli).toContain('NoSuchWebsiteConfiguration');
    }
  });

  it('round-trips with boto3', async () => {
    const script = `
import boto3, sys, json
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1')
s3.put_bucket_website(Bucket=sys.argv[4], WebsiteConfiguration={'IndexDocument': {'Suffix': 'start.html'}, 'RoutingRules': [{'Condition': {'HttpErrorCodeReturnedEquals': '403'}, 'Redirect': {'HostName': 'login.example.com'}}]})
got = s3.get_bucket_website(Bucket=sys.argv[4])
s3.delete_bucket_website(Bucket=sys.argv[4])
try:
    s3.get_bucket_website(Bucket=sys.argv[4])
    gone = 'still there'
except s3.exceptions.ClientError as e:
    gone = e.response['Error']['Code']
print(json.dumps({'index': got['IndexDocument'], 'rules': got['RoutingRules'], 'gone': gone}))
`;
    const env = clientEnv(home, { endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey });
    const out = await run('/usr/bin/python3', ['-c', script, server.endpoint, server.accessKey, server.secretKey, bucket], { env, timeout: 60_000 });
    expect(JSON.parse(out.stdout)).toEqual({
      index: { Suffix: 'start.html' },
      rules: [{ Condition: { HttpErrorCodeReturnedEquals: '403' }, Redirect: { HostName: 'login.example.com' } }],
      gone: 'NoSuchWebsiteConfiguration',
    });
  });
});

describe('x-amz-website-redirect-location', () => {
  const head = (Key: string) => server.client().send(new HeadObjectCommand({ Bucket: bucket, Key }));

  it('is stored by PutObject and multipart uploads and returned by HEAD; invalid values are refused', async () => {
    const s3 = server.client();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old.html', Body: '', WebsiteRedirectLocation: '/new.html' }));
    expect((await head('old.html')).WebsiteRedirectLocation).toBe('/new.html');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'away.html', Body: 'x', WebsiteRedirectLocation: 'https://example.com/there' }));
    expect((await head('away.html')).WebsiteRedirectLocation).toBe('https://example.com/there');

    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi.html', WebsiteRedirectLocation: '/target.html' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi.html', UploadId: upload.UploadId, PartNumber: 1, Body: 'part' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multi.html', UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    expect((await head('multi.html')).WebsiteRedirectLocation).toBe('/target.html');

    for (const value of ['relative.html', 'ftp://example.com/x', '/' + 'a'.repeat(2048)]) {
      const refused = await sendAs(server, 'admin', 'PUT', `/${bucket}/bad.html`, { body: 'x', headers: { 'x-amz-website-redirect-location': value } });
      expect(refused.status, value).toBe(400);
      expect(errorCode(refused.text)).toBe('InvalidArgument');
    }
    expect((await sendAs(server, 'admin', 'HEAD', `/${bucket}/bad.html`)).status).toBe(404);
  });

  it('is stored from a browser form upload (POST Object, sent by curl -F)', async () => {
    await server.client().send(new CreateBucketCommand({ Bucket: 'site-form', ACL: 'public-read-write' }));
    const curl = which('curl');
    expect(curl, 'curl must be installed').toBeDefined();
    const page = join(home, 'form.html');
    writeFileSync(page, '<p>form</p>');
    const form = ['-F', 'key=form.html', '-F', 'x-amz-website-redirect-location=/landing.html', '-F', `file=@${page};type=text/html`];
    const { stdout } = await run(curl!, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...form, `${server.endpoint}/site-form`]);
    expect(stdout).toBe('204');
    const stored = await server.client().send(new HeadObjectCommand({ Bucket: 'site-form', Key: 'form.html' }));
    expect(stored.WebsiteRedirectLocation).toBe('/landing.html');
  });

  it('is not copied by CopyObject (AWS), only set by the copy request, which may then copy onto itself', async () => {
    const s3 = server.client();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'page1.html', Body: '<p>one</p>', WebsiteRedirectLocation: '/page2.html' }));
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy.html', CopySource: `${bucket}/page1.html` }));
    expect((await head('copy.html')).WebsiteRedirectLocation).toBeUndefined();
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'page1.html', CopySource: `${bucket}/page1.html`, WebsiteRedirectLocation: '/page3.html' }));
    const after = await head('page1.html');
    expect(after.WebsiteRedirectLocation).toBe('/page3.html');
    expect(after.ContentLength).toBe('<p>one</p>'.length);
    const self = await sdkError(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy.html', CopySource: `${bucket}/copy.html` })));
    expect(self.name).toBe('InvalidRequest');
  });
});
