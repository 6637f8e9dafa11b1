// The console's HTTP surface without a browser: what protects the session (cookie flags, CSRF,
// Origin), what the S3 proxy lets through and how it answers (sandboxed attachments, the
// token's scope, the acting key), and the page's own headers.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let adminToken: string;

interface Signed {
  cookie: string;
  csrf: string;
}

async function signIn(token: string): Promise<Signed> {
  const res = await fetch(`${server.admin.endpoint}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { csrf: string };
  return { cookie: res.headers.get('set-cookie')!.split(';')[0], csrf: body.csrf };
}

function consoleFetch(s: Signed, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  return fetch(`${server.admin.endpoint}${path}`, { ...init, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, ...init.headers } });
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

beforeAll(async () => {
  server = await startTestServer();
  adminToken = (server as TestServer & { adminToken?: string }).adminToken!;
});
afterAll(async () => server?.stop());

describe('console sessions', () => {
  it('sets an HTTP-only, SameSite=Strict cookie scoped to /console; signing out ends the session', async () => {
    const res = await fetch(`${server.admin.endpoint}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: adminToken }) });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^strata_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(JSON.stringify(body)).not.toContain(adminToken);
    const s = { cookie: cookie.split(';')[0], csrf: body.csrf as string };
    expect((await consoleFetch(s, '/console/api/session')).status).toBe(200);
    const out = await consoleFetch(s, '/console/api/session', { method: 'DELETE' });
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    const after = await consoleFetch(s, '/console/api/buckets');
    expect(after.status).toBe(401);
    expect(await errorCode(after)).toBe('SessionExpired');
  });

  it('refuses a bad token, a sign-in from another origin or as a form, and requests without a session', async () => {
    for (const [token, message] of [
      ['nope', 'not a Strata API token'],
      [`sat_aaaaaaaaaaaa_${'0'.repeat(64)}`, 'not valid'],
    ]) {
      const res = await fetch(`${server.admin.endpoint}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(message);
    }
    const foreign = await fetch(`${server.admin.endpoint}/console/api/session`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ token: adminToken }) });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    const form = await fetch(`${server.admin.endpoint}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${adminToken}` });
    expect(form.status).toBe(415);
    const none = await fetch(`${server.admin.endpoint}/console/api/v1/users`);
    expect(none.status).toBe(401);
    expect(await errorCode(none)).toBe('NotSignedIn');
  });

  it('refuses writes without the CSRF token or from another origin, and changes nothing', async () => {
    const s = await signIn(adminToken);
    const body = JSON.stringify({ name: 'csrf-probe', namespace: 'default', access: 'full' });
    const noHeader = await fetch(`${server.admin.endpoint}/console/api/keys`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json' }, body });
    expect(noHeader.status).toBe(403);
    const wrong = await consoleFetch(s, '/console/api/keys', { method: 'POST', headers: { 'x-csrf-token': 'x'.repeat(43), 'content-type': 'application/json' }, body });
    expect(wrong.status).toBe(403);
    const foreign = await consoleFetch(s, '/console/api/keys', { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body });
    expect(foreign.status).toBe(403);
    expect(await errorCode(foreign)).toBe('CsrfFailed');
    const users = await consoleFetch(s, '/console/api/v1/users?name=csrf-probe');
    expect(((await users.json()) as { items: unknown[] }).items).toHaveLength(0);
  });
});

describe('console tokens: default region', () => {
  it('stores the region chosen at creation with the key, lists it, and uses it as the s3cmd file’s region; an unknown region creates nothing', async () => {
    const s = await signIn(adminToken);
    const post = (body: unknown) => consoleFetch(s, '/console/api/keys', { method: 'POST', headers: { 'x-csrf-token': s.csrf, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post({ name: 'mars-key', namespace: 'default', access: 'read', region: 'mars1' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('unknown region "mars1"');
    expect(((await (await consoleFetch(s, '/console/api/v1/users?name=mars-key')).json()) as { items: unknown[] }).items).toHaveLength(0);

    expect((await post({ name: 'ord-key', namespace: 'default', access: 'read', region: 'ord1' })).status).toBe(201);
    expect((await post({ name: 'plain-key', namespace: 'default', access: 'read' })).status).toBe(201);
    const listed = (await (await consoleFetch(s, '/console/api/v1/users?namespace=default')).json()) as { items: { metadata: { name: string }; status: { defaultRegion?: string } }[] };
    const regionOf = (name: string) => listed.items.find((u) => u.metadata.name === name)?.status;
    expect(regionOf('ord-key')).toMatchObject({ defaultRegion: 'ord1' });
    expect(regionOf('plain-key')).not.toHaveProperty('defaultRegion');

    const ord = await consoleFetch(s, '/console/api/s3cmd?namespace=default&name=ord-key');
    expect(ord.status).toBe(200);
    expect(ord.headers.get('content-disposition')).toBe('attachment; filename="default-ord-key-ord1.s3cfg"');
    expect(await ord.text()).toContain('host_base = object.ord1.');
    // Asked for another region, the page's choice wins; a key without one gets the server's default.
    expect((await consoleFetch(s, '/console/api/s3cmd?namespace=default&name=ord-key&region=las1')).headers.get('content-disposition')).toContain('-las1.s3cfg');
    expect((await consoleFetch(s, '/console/api/s3cmd?namespace=default&name=plain-key')).headers.get('content-disposition')).toContain('-lga1.s3cfg');
  });
});

describe('console S3 proxy', () => {
  it('serves objects as sandboxed attachments, so an uploaded page cannot run on the console origin', async () => {
    const s = await signIn(adminToken);
    expect((await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket', { method: 'PUT', headers: { 'x-strata-create-for': 'default' } })).status).toBe(200);
    const html = '<html><script>alert(1)</script></html>';
    const put = await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket/page.html', { method: 'PUT', headers: { 'content-type': 'text/html' }, body: html });
    expect(put.status).toBe(200);
    expect(put.headers.get('x-strata-console-acting-key')).toBe('default/admin');
    const get = await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket/page.html');
    expect(get.status).toBe(200);
    expect(get.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''page.html");
    expect(get.headers.get('content-security-policy')).toContain('sandbox');
    expect(get.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await get.text()).toBe(html);
    const stored = await server.client().send(new GetObjectCommand({ Bucket: 'proxy-bucket', Key: 'page.html' }));
    expect(await stored.Body!.transformToString()).toBe(html);
  });

  it('passes only the query parameters the console uses, and answers with the S3 server\u2019s own errors', async () => {
    const s = await signIn(adminToken);
    const odd = await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket?tagging');
    expect(odd.status).toBe(400);
    const missing = await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket/none.txt');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('<Code>NoSuchKey</Code>');
    const region = await consoleFetch(s, '/console/api/s3/mars1/proxy-bucket');
    expect(region.status).toBe(404);
    expect((await consoleFetch(s, '/console/api/s3/lga1/%E0%A4%A/x')).status).toBe(400);
    // POST only starts or completes a multipart upload (DeleteObjects, POST Object forms are not passed).
    const post = await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket/form', { method: 'POST', body: 'x' });
    expect(post.status).toBe(400);
    expect(((await post.json()) as { error: { message: string } }).error.message).toContain('multipart');
    const patch = await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket', { method: 'PATCH' });
    expect(patch.status).toBe(405);
  });

  it('keeps a namespace token to its organisations: another organisation\u2019s bucket looks absent; without a key it says so', async () => {
    const created = await fetch(`${server.admin.endpoint}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'team-c', namespaces: ['team-c'] }),
    });
    const { token } = (await created.json()) as { token: string };
    const s = await signIn(token);
    const other = await consoleFetch(s, '/console/api/s3/lga1/proxy-bucket?list-type=2');
    expect(other.status).toBe(404);
    expect(await errorCode(other)).toBe('NoSuchBucket');
    const forOther = await consoleFetch(s, '/console/api/s3/lga1/team-c-new', { method: 'PUT', headers: { 'x-strata-create-for': 'default' } });
    expect(forOther.status).toBe(403);
    const noKey = await consoleFetch(s, '/console/api/s3/lga1/team-c-new', { method: 'PUT', headers: { 'x-strata-create-for': 'team-c' } });
    expect(noKey.status).toBe(409);
    expect(await errorCode(noKey)).toBe('NoKey');
    const overview = (await (await consoleFetch(s, '/console/api/buckets')).json()) as { regions: { buckets: unknown[]; usage: { org: string }[] }[] };
    expect(overview.regions.flatMap((r) => r.buckets)).toHaveLength(0);
    expect(overview.regions[0].usage.map((u) => u.org)).toEqual(['team-c']);
  });
});

describe('console page', () => {
  it('serves the page and its bundle with a strict content security policy, and revalidates the bundle by ETag', async () => {
    const page = await fetch(`${server.admin.endpoint}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/console/app.js"></script>');
    const js = await fetch(`${server.admin.endpoint}/console/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await js.text()).length).toBeGreaterThan(10_000);
    const again = await fetch(`${server.admin.endpoint}/console/app.js`, { headers: { 'if-none-match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
    const redirect = await fetch(`${server.admin.endpoint}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/console/');
  });
});
