// The static website endpoints, driven with the real curl binary (anonymous, as a visitor is)
// against <bucket>.s3-website.<region>.localhost: index documents, the folder redirect, the
// error document and the HTML error page, object redirects, routing rules, RedirectAllRequestsTo,
// and access decided by bucket policies and ACLs. Buckets are set up with the SDK.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutBucketPolicyCommand,
  PutBucketRequestPaymentCommand,
  PutBucketVersioningCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  type WebsiteConfiguration,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, which } from '../helpers/cli-clients.ts';
import { rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

interface CurlResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** curl of http://<host>:<port><path> with the name resolved to the server, nothing followed. */
async function curl(host: string, path: string, ...args: string[]): Promise<CurlResponse> {
  const curlPath = which('curl');
  expect(curlPath, 'curl must be installed').toBeDefined();
  const authority = `${host}:${server.port}`;
  const { stdout } = await run(curlPath!, ['-sS', '-i', '--resolve', `${authority}:127.0.0.1`, ...args, `http://${authority}${path}`], { timeout: 30_000, encoding: 'utf8' });
  const split = stdout.indexOf('\r\n\r\n');
  const head = split < 0 ? stdout : stdout.slice(0, split);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: split < 0 ? '' : stdout.slice(split + 4) };
}

const web = (bucket: string, region = 'lga1') => `${bucket}.s3-website.${region}.localhost`;
const visit = (bucket: string, path: string, ...args: string[]) => curl(web(bucket), path, ...args);
const objects = (b: string) => `arn:aws:s3:::${b}/*`;
const policy = (b: string, actions: string[], resources: string[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: actions, Resource: resources }] });

async function put(Bucket: string, Key: string, Body: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) {
  await server.client().send(new PutObjectCommand({ Bucket, Key, Body, ContentType: Key.endsWith('.css') ? 'text/css' : 'text/html', ...extra }));
}

async function site(Bucket: string, website: WebsiteConfiguration, readers?: string[]) {
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: website }));
  if (readers) await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policy(Bucket, readers, [objects(Bucket), `arn:aws:s3:::${Bucket}`]) }));
}

/** An HTML error page (never an XML document) naming `code`. */
function expectErrorPage(res: CurlResponse, status: number, code: string) {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.body).toMatch(/^<html>/);
  expect(res.body).not.toContain('<?xml');
  expect(res.body).toContain(`<li>Code: ${code}</li>`);
  expect(res.body).toContain('<li>RequestId: ');
  expect(res.headers['x-amz-error-code']).toBe(code);
}

beforeAll(async () => {
  server = await startTestServer();
  // A public site: GetObject and ListBucket for everyone (a missing key is then 404, as on AWS).
  await site(
    'site',
    {
      IndexDocument: { Suffix: 'index.html' },
      ErrorDocument: { Key: 'errors/404.html' },
      RoutingRules: [
        { Condition: { KeyPrefixEquals: 'docs/' }, Redirect: { ReplaceKeyPrefixWith: 'documents/' } },
        { Condition: { KeyPrefixEquals: 'gone/' }, Redirect: { ReplaceKeyWith: 'index.html', HttpRedirectCode: '307' } },
        { Condition: { KeyPrefixEquals: 'img/', HttpErrorCodeReturnedEquals: '404' }, Redirect: { HostName: 'cdn.example.com', Protocol: 'https', HttpRedirectCode: '302' } },
      ],
    },
    ['s3:GetObject', 's3:ListBucket'],
  );
  await put('site', 'index.html', '<h1>Home</h1>');
  await put('site', 'about/index.html', '<h1>About</h1>');
  await put('site', 'about us/index.html', '<h1>About us</h1>');
  await put('site', 'style.css', 'body { color: red }');
  await put('site', 'errors/404.html', '<h1>Nothing here</h1>');
  await put('site', 'img/present.png', 'png-bytes');
  await put('site', 'old.html', '', { WebsiteRedirectLocation: '/new.html' });
  await put('site', 'away.html', 'kept', { WebsiteRedirectLocation: 'https://example.com/elsewhere' });
  await put('site', 'new.html', '<h1>New</h1>');
  await put('site', 'secret.html', 'secret', { ACL: 'private' });
  await put('site', '/evil.example/index.html', '<h1>Slash</h1>');
  await put('site', 'hop.html', '', { WebsiteRedirectLocation: '//evil.example/x' });
});
afterAll(async () => server?.stop());

describe('website endpoint: documents', () => {
  it('serves the index document for / and for dir/, and the object itself', async () => {
    const home = await visit('site', '/');
    expect(home.status).toBe(200);
    expect(home.body).toBe('<h1>Home</h1>');
    expect(home.headers['content-type']).toBe('text/html');
    expect(home.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await visit('site', '/about/')).body).toBe('<h1>About</h1>');
    expect((await visit('site', '/about%20us/')).body).toBe('<h1>About us</h1>');
    const css = await visit('site', '/style.css');
    expect(css.body).toBe('body { color: red }');
    expect(css.headers['content-type']).toBe('text/css');
    // The query string is not a sub-resource here: ?acl is just ignored, as on AWS.
    expect((await visit('site', '/index.html?acl')).body).toBe('<h1>Home</h1>');
  });

  it('redirects dir to dir/ (302) when dir/index.html exists', async () => {
    const res = await visit('site', '/about');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/about/');
    expect(res.body).toBe('');
    expect((await visit('site', '/about%20us')).headers.location).toBe('/about%20us/');
  });

  it('never answers a Location starting with // (another host to a browser), for a key starting with /', async () => {
    const res = await visit('site', '//evil.example');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/%2Fevil.example/');
    const followed = await visit('site', res.headers.location);
    expect(followed.body).toBe('<h1>Slash</h1>');
    // A stored '//host/path' object redirect stays on this site's host.
    const hop = await visit('site', '/hop.html');
    expect(hop.status).toBe(301);
    expect(hop.headers.location).toBe(`http://${web('site')}:${server.port}//evil.example/x`);
  });

  it('answers HEAD without a body, conditional GETs with 304 and ranges with 206', async () => {
    const head = await visit('site', '/', '-I');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String('<h1>Home</h1>'.length));
    expect(head.body).toBe('');
    const notModified = await visit('site', '/', '-H', `If-None-Match: ${head.headers.etag}`);
    expect(notModified.status).toBe(304);
    expect(notModified.body).toBe('');
    const range = await visit('site', '/index.html', '-H', 'Range: bytes=4-7');
    expect(range.status).toBe(206);
    expect(range.body).toBe('Home');
  });

  it('answers an object x-amz-website-redirect-location with 301; the REST endpoint serves the object', async () => {
    const local = await visit('site', '/old.html');
    expect(local.status).toBe(301);
    expect(local.headers.location).toBe('/new.html');
    const away = await visit('site', '/away.html');
    expect(away.status).toBe(301);
    expect(away.headers.location).toBe('https://example.com/elsewhere');
    const rest = await rawRequest(server.port, { path: '/site/away.html', sign: false });
    expect(rest.status).toBe(200);
    expect(rest.text).toBe('kept');
    expect(rest.headers['x-amz-website-redirect-location']).toBe('https://example.com/elsewhere');
  });
});

describe('website endpoint: errors', () => {
  it('serves the error document with the 404 status for a missing key', async () => {
    const res = await visit('site', '/missing.html');
    expect(res.status).toBe(404);
    expect(res.body).toBe('<h1>Nothing here</h1>');
    expect(res.headers['content-type']).toBe('text/html');
    expect(res.headers['x-amz-error-code']).toBe('NoSuchKey');
    const headOnly = await visit('site', '/missing.html', '-I');
    expect(headOnly.status).toBe(404);
    expect(headOnly.body).toBe('');
  });

  it('serves the error document with 403 for an object the visitor may not read', async () => {
    // The policy grants everyone GetObject, but an explicit Deny on one key wins.
    await server.client().send(
      new PutBucketPolicyCommand({
        Bucket: 'site',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [objects('site'), 'arn:aws:s3:::site'] },
            { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/secret.html' },
          ],
        }),
      }),
    );
    const res = await visit('site', '/secret.html');
    expect(res.status).toBe(403);
    expect(res.body).toBe('<h1>Nothing here</h1>');
    expect(res.headers['x-amz-error-code']).toBe('AccessDenied');
  });

  it('answers a private bucket with a 403 HTML page, and a missing error document is reported in it', async () => {
    await site('private-site', { IndexDocument: { Suffix: 'index.html' }, ErrorDocument: { Key: 'error.html' } });
    await put('private-site', 'index.html', 'private home');
    await put('private-site', 'error.html', 'private error page');
    const res = await visit('private-site', '/');
    expectErrorPage(res, 403, 'AccessDenied');
    expect(res.body).toContain('<title>403 Forbidden</title>');
    // The error document is private too: the page says so instead of leaking it.
    expect(res.body).toContain('An Error Occurred While Attempting to Retrieve a Custom Error Document');
    expect(res.body).not.toContain('private error page');
  });

  it('answers a missing key 403 when the visitor may not list the bucket (AWS), and the default page when there is no error document', async () => {
    await site('nolist-site', { IndexDocument: { Suffix: 'index.html' } }, ['s3:GetObject']);
    await put('nolist-site', 'index.html', 'nolist home');
    expect((await visit('nolist-site', '/')).body).toBe('nolist home');
    expectErrorPage(await visit('nolist-site', '/absent.html'), 403, 'AccessDenied');
  });

  it('answers 404 HTML pages for a bucket without a website, a missing bucket, and 405 for other methods', async () => {
    await server.client().send(new CreateBucketCommand({ Bucket: 'no-website' }));
    const plain = await visit('no-website', '/');
    expectErrorPage(plain, 404, 'NoSuchWebsiteConfiguration');
    expect(plain.body).toContain('<li>BucketName: no-website</li>');
    expectErrorPage(await visit('no-such-bucket', '/'), 404, 'NoSuchBucket');
    // The bucket lives in lga1: ord1's website host does not know it.
    expectErrorPage(await curl(web('site', 'ord1'), '/'), 404, 'NoSuchBucket');
    expectErrorPage(await curl(web('site', 'zzz9'), '/'), 400, 'InvalidRequest');
    const posted = await visit('site', '/index.html', '-X', 'PUT', '--data-binary', 'overwrite');
    expectErrorPage(posted, 405, 'MethodNotAllowed');
    expect((await visit('site', '/index.html')).body).toBe('<h1>Home</h1>');
  });

  it('follows the current version of a versioned bucket: a delete marker is missing', async () => {
    await server.client().send(new PutBucketVersioningCommand({ Bucket: 'site', VersioningConfiguration: { Status: 'Enabled' } }));
    await put('site', 'versioned.html', 'v1');
    await put('site', 'versioned.html', 'v2');
    expect((await visit('site', '/versioned.html')).body).toBe('v2');
    await server.client().send(new DeleteObjectCommand({ Bucket: 'site', Key: 'versioned.html' }));
    const gone = await visit('site', '/versioned.html');
    expect(gone.status).toBe(404);
    expect(gone.body).toBe('<h1>Nothing here</h1>');
  });
});

describe('website endpoint: redirects', () => {
  it('applies key-prefix routing rules before the lookup', async () => {
    const docs = await visit('site', '/docs/guide/intro.html');
    expect(docs.status).toBe(301);
    expect(docs.headers.location).toBe(`http://${web('site')}:${server.port}/documents/guide/intro.html`);
    const gone = await visit('site', '/gone/anything');
    expect(gone.status).toBe(307);
    expect(gone.headers.location).toBe(`http://${web('site')}:${server.port}/index.html`);
  });

  it('applies error-code routing rules once the lookup fails, and only then', async () => {
    const missing = await visit('site', '/img/absent.png');
    expect(missing.status).toBe(302);
    expect(missing.headers.location).toBe('https://cdn.example.com/img/absent.png');
    const present = await visit('site', '/img/present.png');
    expect(present.status).toBe(200);
    expect(present.body).toBe('png-bytes');
  });

  it('redirects every request with RedirectAllRequestsTo, keeping the path and query', async () => {
    await site('redirector', { RedirectAllRequestsTo: { HostName: 'www.example.com', Protocol: 'https' } });
    const res = await visit('redirector', '/a/b.html?x=1');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('https://www.example.com/a/b.html?x=1');
    await site('redirector-http', { RedirectAllRequestsTo: { HostName: 'example.org' } });
    expect((await visit('redirector-http', '/')).headers.location).toBe('http://example.org/');
  });
});

describe('website endpoint: ACLs and configuration', () => {
  it('serves objects made public by their ACL alone, and refuses the others', async () => {
    await site('acl-site', { IndexDocument: { Suffix: 'index.html' } });
    await put('acl-site', 'index.html', 'acl home', { ACL: 'public-read' });
    await put('acl-site', 'hidden.html', 'hidden');
    expect((await visit('acl-site', '/')).body).toBe('acl home');
    expectErrorPage(await visit('acl-site', '/hidden.html'), 403, 'AccessDenied');
  });

  it('never serves SSE-C objects (the visitor has no key) nor requester-pays buckets', async () => {
    await site('guarded-site', { IndexDocument: { Suffix: 'index.html' } }, ['s3:GetObject', 's3:ListBucket']);
    await put('guarded-site', 'index.html', 'guarded home');
    const key = randomBytes(32);
    await put('guarded-site', 'sealed.html', 'sealed', {
      SSECustomerAlgorithm: 'AES256',
      SSECustomerKey: key.toString('base64'),
      SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
    });
    const sealed = await visit('guarded-site', '/sealed.html');
    expectErrorPage(sealed, 400, 'InvalidRequest');
    expect(sealed.body).not.toContain('sealed<');
    expect((await visit('guarded-site', '/')).body).toBe('guarded home');
    await server.client().send(new PutBucketRequestPaymentCommand({ Bucket: 'guarded-site', RequestPaymentConfiguration: { Payer: 'Requester' } }));
    expectErrorPage(await visit('guarded-site', '/'), 403, 'AccessDenied');
  });

  it('uses a configured host pattern, and the default one is then not a website host', async () => {
    const custom = await startTestServer({ websiteHostPattern: '{bucket}.web-{region}.example.test' });
    try {
      const s3 = custom.client();
      await s3.send(new CreateBucketCommand({ Bucket: 'pattern-site' }));
      await s3.send(new PutBucketWebsiteCommand({ Bucket: 'pattern-site', WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
      await s3.send(new PutObjectCommand({ Bucket: 'pattern-site', Key: 'index.html', Body: 'patterned', ACL: 'public-read' }));
      const res = await rawRequest(custom.port, { path: '/', host: 'pattern-site.web-lga1.example.test', sign: false });
      expect(res.status).toBe(200);
      expect(res.text).toBe('patterned');
      const old = await rawRequest(custom.port, { path: '/', host: 'pattern-site.s3-website.lga1.localhost', sign: false });
      expect(old.headers['content-type']).not.toContain('text/html');
    } finally {
      await custom.stop();
    }
  });
});
