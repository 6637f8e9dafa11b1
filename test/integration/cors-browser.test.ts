// CORS in a real browser: headless Debian Chromium (playwright-core, /usr/bin/chromium, never
// downloaded) loads a page from another loopback origin (its own port), which uploads with a
// presigned PUT (a preflighted request: PUT with a Content-Type that is not CORS-safelisted) and
// downloads with fetch. With a rule for the page's origin both work and the page reads the
// exposed ETag and a readable error (NoSuchKey); without one Chromium blocks both, and the
// blocked upload never reached the server (nothing stored).
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutBucketCorsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';

const chromiumPath = '/usr/bin/chromium';
let server: TestServer;
let pageServer: Server;
let pageOrigin: string;
let context: BrowserContext;
let page: Page;
let profile: string;

const page_html = '<!doctype html><html><head><title>uploader</title></head><body><p>cross-origin uploader</p></body></html>';

interface Outcome {
  put: string;
  get: string;
  etag: string | null;
  missing: string;
}

/** In the page: PUT `body` to the presigned URL, then GET it back, then GET a missing key. */
async function runInPage(putUrl: string, getUrl: string, missingUrl: string, body: string): Promise<Outcome> {
  return page.evaluate(
    async ({ putUrl, getUrl, missingUrl, body }) => {
      const attempt = async (run: () => Promise<string>) => {
        try {
          return await run();
        } catch (err) {
          return `blocked: ${(err as Error).name}`;
        }
      };
      let etag: string | null = null;
      const put = await attempt(async () => {
        const res = await fetch(putUrl, { method: 'PUT', body, headers: { 'Content-Type': 'application/octet-stream' } });
        etag = res.headers.get('ETag');
        return `status ${res.status}`;
      });
      const get = await attempt(async () => {
        const res = await fetch(getUrl);
        return `status ${res.status}: ${await res.text()}`;
      });
      const missing = await attempt(async () => {
        const res = await fetch(missingUrl);
        return `status ${res.status}: ${await res.text()}`;
      });
      return { put, get, etag, missing };
    },
    { putUrl, getUrl, missingUrl, body },
  );
}

async function presigned(bucket: string, key: string) {
  const s3 = server.client();
  return {
    put: await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }), { expiresIn: 300 }),
    get: await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 }),
    missing: await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'never-written' }), { expiresIn: 300 }),
  };
}

beforeAll(async () => {
  // A browser test without its browser must fail, not skip.
  expect(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install chromium`).toBe(true);
  server = await startTestServer();
  pageServer = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page_html);
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  const address = pageServer.address();
  pageOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  expect(pageOrigin).not.toBe(server.endpoint);

  profile = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await context.newPage();
  await page.goto(`${pageOrigin}/`);
  expect(await page.title()).toBe('uploader');

  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'browser-allowed' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'browser-refused' }));
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: 'browser-allowed',
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: [pageOrigin], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 60 }] },
    }),
  );
  // A rule for some other site only: the page's origin matches nothing.
  await s3.send(new PutBucketCorsCommand({ Bucket: 'browser-refused', CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://other.example.com'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'] }] } }));
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()));
  await server?.stop();
});

describe('a page on another origin', () => {
  it('uploads with a presigned PUT and downloads with fetch when a rule allows its origin', async () => {
    const body = 'bytes from the browser ' + 'x'.repeat(2000);
    const urls = await presigned('browser-allowed', 'from-page.txt');
    const outcome = await runInPage(urls.put, urls.get, urls.missing, body);
    expect(outcome.put).toBe('status 200');
    expect(outcome.get).toBe(`status 200: ${body}`);
    // The exposed ETag is readable by the page; an error document is too.
    const stored = await server.client().send(new HeadObjectCommand({ Bucket: 'browser-allowed', Key: 'from-page.txt' }));
    expect(outcome.etag).toBe(stored.ETag);
    expect(outcome.missing).toMatch(/^status 404: .*<Code>NoSuchKey<\/Code>/s);
    const bytes = await (await server.client().send(new GetObjectCommand({ Bucket: 'browser-allowed', Key: 'from-page.txt' }))).Body!.transformToString();
    expect(bytes).toBe(body);
  });

  it('is blocked by the browser when no rule allows its origin, and the upload never happens', async () => {
    await server.client().send(new PutObjectCommand({ Bucket: 'browser-refused', Key: 'existing.txt', Body: 'server side bytes' }));
    const upload = await presigned('browser-refused', 'from-page.txt');
    const download = await presigned('browser-refused', 'existing.txt');
    const outcome = await runInPage(upload.put, download.get, download.missing, 'should never arrive');
    expect(outcome).toEqual({ put: 'blocked: TypeError', get: 'blocked: TypeError', etag: null, missing: 'blocked: TypeError' });
    // The preflight was refused, so Chromium never sent the PUT.
    const absent = await sdkError(server.client().send(new HeadObjectCommand({ Bucket: 'browser-refused', Key: 'from-page.txt' })));
    expect(absent.name).toBe('NotFound');
  });
});
