// A small static site rendered by a real browser: Debian's Chromium, headless, driven by
// playwright-core (no browser download), visiting <bucket>.s3-website.lga1.localhost. The index
// page with its stylesheet, a subdirectory reached through the 302 folder redirect, the custom
// error page on a 404, and an object redirect; the index is screenshot and its pixels decoded
// to check the page really rendered (the stylesheet's background, text on it).
import { CreateBucketCommand, PutBucketPolicyCommand, PutBucketWebsiteCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourCounts, decodePng, pixelAt } from '../helpers/png.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const chromiumPath = '/usr/bin/chromium';
const bucket = 'browser-site';
let server: TestServer;
let browser: BrowserContext;
let profile: string;
let origin: string;

const pages: [string, string, string][] = [
  ['index.html', 'text/html', '<!doctype html><html><head><link rel="stylesheet" href="style.css"><title>Strata site</title></head><body><h1 id="title">Welcome to the Strata site</h1><p><a id="sub" href="/sub">Subdirectory</a> <a id="old" href="/old.html">Old page</a></p></body></html>'],
  ['style.css', 'text/css', 'body { background: #1e6fd9; color: #ffffff; font: 32px sans-serif; margin: 40px; } a { color: #ffe066; }'],
  ['sub/index.html', 'text/html', '<!doctype html><html><head><link rel="stylesheet" href="../style.css"><title>Sub</title></head><body><h1 id="title">Inside the subdirectory</h1><a id="next" href="page.html">next</a></body></html>'],
  ['sub/page.html', 'text/html', '<!doctype html><html><body><h1 id="title">A page in the subdirectory</h1></body></html>'],
  ['error.html', 'text/html', '<!doctype html><html><head><title>Not found</title></head><body><h1 id="title">Custom error page</h1></body></html>'],
  ['new.html', 'text/html', '<!doctype html><html><body><h1 id="title">The new page</h1></body></html>'],
];

beforeAll(async () => {
  // A browser that is not there must fail the suite, never skip it.
  expect(existsSync(chromiumPath), `${chromiumPath} must be installed (Debian package chromium)`).toBe(true);
  server = await startTestServer();
  origin = `http://${bucket}.s3-website.lga1.localhost:${server.port}`;
  const s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' }, ErrorDocument: { Key: 'error.html' } } }));
  const readable = [`arn:aws:s3:::${bucket}/*`, `arn:aws:s3:::${bucket}`];
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:ListBucket'], Resource: readable }] }) }));
  for (const [Key, ContentType, Body] of pages) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ContentType }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old.html', Body: '', WebsiteRedirectLocation: '/new.html' }));

  profile = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 800, height: 600 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // *.localhost is loopback (Chromium knows it too); said explicitly so no resolver is asked.
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('a static website in Chromium', () => {
  it('renders the index page with its stylesheet, and the screenshot is not blank', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${origin}/`);
    expect(response?.status()).toBe(200);
    expect(await page.textContent('#title')).toBe('Welcome to the Strata site');
    expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(30, 111, 217)');

    const image = decodePng(await page.screenshot({ type: 'png' }));
    expect([image.width, image.height]).toEqual([800, 600]);
    // The stylesheet's background fills the corner; text drawn on it brings many more colours
    // (antialiasing), so a blank or unstyled page cannot pass.
    expect(pixelAt(image, 5, 5)).toBe(0x1e6fd9);
    const counts = colourCounts(image);
    expect(counts.size).toBeGreaterThan(20);
    expect(counts.get(0x1e6fd9)! / (image.width * image.height)).toBeLessThan(0.99);
    expect(counts.has(0xffffff)).toBe(true);
    await page.close();
  });

  it('follows a link to the subdirectory through the 302 and resolves its relative links there', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await Promise.all([page.waitForURL(`${origin}/sub/`), page.click('#sub')]);
    expect(await page.textContent('#title')).toBe('Inside the subdirectory');
    expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(30, 111, 217)');
    await Promise.all([page.waitForURL(`${origin}/sub/page.html`), page.click('#next')]);
    expect(await page.textContent('#title')).toBe('A page in the subdirectory');
    await page.close();
  });

  it('shows the custom error page with status 404 for a missing page', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${origin}/no/such/page.html`);
    expect(response?.status()).toBe(404);
    expect(await page.textContent('#title')).toBe('Custom error page');
    await page.close();
  });

  it('follows an object redirect (x-amz-website-redirect-location) to the new page', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await Promise.all([page.waitForURL(`${origin}/new.html`), page.click('#old')]);
    expect(await page.textContent('#title')).toBe('The new page');
    await page.close();
  });
});
