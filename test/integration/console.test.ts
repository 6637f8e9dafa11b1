// The web console end to end in headless Debian Chromium (playwright-core): the seed's Cloud UI
// walkthrough. Sign in with the bootstrap admin API token, create an Object Storage token and
// copy its keys, upload with the aws CLI using them, see the object in the bucket browser,
// set a public-read policy there and fetch anonymously with curl, download the s3cmd
// configuration and run `s3cmd ls` with it, create an API token and run the real kubectl with the
// kubeconfig the API Access page downloads for it; bad input (a bad token, a duplicate name, an
// invalid policy, a bad endpoint, an expired or revoked session) shows a clear message and
// changes nothing. Screenshots of each page are kept under test-artifacts/console/.
import { GetBucketPolicyCommand, GetObjectCommand, HeadObjectCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { s3cmdConfig } from '../../src/admin/s3cmd.ts';
import { storedAdminCertificate } from '../../src/kube/certificate.ts';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { awsClis, clientEnv, commandError, run } from '../helpers/cli-clients.ts';
import { collapse, KubectlUser } from '../helpers/kubectl.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let browser: TestBrowser;
let page: Page;
let work: string;
let adminToken: string;
const bucket = 'console-walk';
const keys = { accessKey: '', secretKey: '' };

async function shot(name: string): Promise<void> {
  const s = await screenshot(page, 'console', name);
  // A rendered page has text, borders and colours; a blank or failed one has one or two colours.
  expect(s.colours, `${name}: distinct colours`).toBeGreaterThan(8);
  expect(s.dominantShare, `${name}: share of the commonest colour`).toBeLessThan(0.97);
}

async function admin<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(server.admin.endpoint + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

function alertText(): Promise<string> {
  return page.getByRole('alert').first().innerText();
}

async function clipboard(): Promise<string> {
  return page.evaluate('navigator.clipboard.readText()');
}

function aws(...args: string[]) {
  const cli = awsClis()[0];
  if (!cli) throw new Error('the aws CLI is not installed (.ci/run installs awscli)');
  return run(cli, ['--endpoint-url', server.endpoint, ...args], { env: clientEnv(work, { endpoint: server.endpoint, ...keys }) });
}

beforeAll(async () => {
  server = await startTestServer();
  adminToken = (server as TestServer & { adminToken?: string }).adminToken!;
  expect(adminToken).toMatch(/^sat_/);
  work = mkdtempSync(join(tmpdir(), 'strata-console-'));
  browser = await launchBrowser();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.admin.endpoint });
  page = await browser.context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('dialog', (d) => void d.accept());
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('web console walkthrough', () => {
  it('signs in with an API token into an HTTP-only, SameSite=Strict session; a bad token is refused with a message', async () => {
    await page.goto(`${server.admin.endpoint}/console/`);
    await page.getByLabel('API token', { exact: true }).fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await alertText()).toContain('not a Strata API token');
    await shot('sign-in');

    await page.getByLabel('API token', { exact: true }).fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Object Storage' }).waitFor();
    const [cookie] = await browser.context.cookies(`${server.admin.endpoint}/console/`);
    expect(cookie).toMatchObject({ name: 'strata_console', httpOnly: true, sameSite: 'Strict', path: '/console' });
    // Neither the session nor the token is anywhere the page's script can read.
    const stored = await page.evaluate('({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length })');
    expect(stored).toEqual({ cookie: '', local: 0, session: 0 });
    // A write without the CSRF header is refused even with the cookie.
    const forged = await page.evaluate(async () => {
      const r = await fetch('/console/api/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'forged', namespace: 'default', access: 'full' }) });
      return { status: r.status, body: await r.json() };
    });
    expect(forged).toMatchObject({ status: 403, body: { error: { code: 'CsrfFailed' } } });
    expect((await admin<{ items: unknown[] }>('GET', '/v1/users?name=forged')).body.items).toHaveLength(0);
  });

  it('creates a token and copies both keys to the clipboard; a duplicate name is refused and changes nothing', async () => {
    await page.getByRole('button', { name: 'Create a New Token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create Token' });
    await dialog.getByLabel('Name', { exact: true }).fill('walkthrough');
    await dialog.getByLabel('Default region').selectOption('lga1');
    await dialog.getByLabel('Access level').selectOption('full');
    await shot('create-token');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const created = page.getByRole('dialog', { name: 'Token "walkthrough" created' });
    await created.waitFor();
    await created.getByRole('button', { name: 'Copy access key' }).click();
    keys.accessKey = await clipboard();
    await created.getByRole('button', { name: 'Copy secret key' }).click();
    keys.secretKey = await clipboard();
    await shot('token-created');
    const secret = await admin<{ data: { accessKey: string; secretKey: string } }>('GET', '/v1/secrets/default/default-walkthrough-obj-store-creds');
    expect(keys.accessKey).toBe(Buffer.from(secret.body.data.accessKey, 'base64').toString());
    expect(keys.secretKey).toBe(Buffer.from(secret.body.data.secretKey, 'base64').toString());
    await created.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Create a New Token' }).click();
    await page.getByRole('dialog', { name: 'Create Token' }).getByLabel('Name', { exact: true }).fill('walkthrough');
    await page.getByRole('dialog', { name: 'Create Token' }).getByLabel('Access level').selectOption('read');
    await page.getByRole('dialog', { name: 'Create Token' }).getByRole('button', { name: 'Create' }).click();
    expect(await page.getByRole('dialog', { name: 'Create Token' }).getByRole('alert').innerText()).toContain('a token named "walkthrough" already exists');
    await page.getByRole('dialog', { name: 'Create Token' }).getByRole('button', { name: 'Close' }).click();
    const after = await admin<{ spec: { access: string } }>('GET', '/v1/users/default/walkthrough');
    expect(after.body.spec.access).toBe('full');
    const again = await admin<{ data: { secretKey: string } }>('GET', '/v1/secrets/default/default-walkthrough-obj-store-creds');
    expect(Buffer.from(again.body.data.secretKey, 'base64').toString()).toBe(keys.secretKey);

    const row = page.locator('tr[data-token="walkthrough"]');
    await row.waitFor();
    expect(await row.getByLabel('Access level').inputValue()).toBe('full');
    // The default region chosen at creation is stored with the key, listed, and shown by the admin API.
    expect(await row.locator('td.default-region').innerText()).toBe('lga1');
    expect((await admin<{ status: { defaultRegion?: string } }>('GET', '/v1/users/default/walkthrough')).body.status.defaultRegion).toBe('lga1');
    await shot('object-storage');
  });

  it('the copied keys work with the aws CLI, and the bucket browser shows the object, downloads it and uploads with progress', async () => {
    await aws('s3', 'mb', `s3://${bucket}`);
    writeFileSync(join(work, 'hello.txt'), 'hello from the aws CLI\n');
    await aws('s3', 'cp', join(work, 'hello.txt'), `s3://${bucket}/docs/hello.txt`);
    await server.client().send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['https://example.com'] }] } }));

    await page.getByRole('link', { name: 'Buckets' }).click();
    const row = page.locator(`tr[data-bucket="${bucket}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(3).innerText()).toBe('1');
    expect(await row.locator('.badge').innerText()).toBe('Private');
    expect(await page.locator('.quota[data-org="default"]').innerText()).toContain('of 30.0 TiB');
    await shot('buckets');

    await row.getByRole('link', { name: bucket }).click();
    const settings = page.locator('.settings');
    // Each setting is asked of S3 on its own; wait until all have answered.
    await expect.poll(() => settings.innerText()).not.toContain('…');
    expect(await settings.innerText()).toMatch(/CORS\s+1 rule/);
    expect(await settings.innerText()).toMatch(/Static website\s+none/);
    await page.locator('tr[data-folder="docs/"]').getByRole('link').click();
    const object = page.locator('tr[data-key="docs/hello.txt"]');
    await object.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), object.getByRole('link', { name: 'Download' }).click()]);
    const saved = join(work, 'downloaded.txt');
    await download.saveAs(saved);
    expect(readFileSync(saved, 'utf8')).toBe('hello from the aws CLI\n');

    const payload = Buffer.alloc(3 * 1024 * 1024, 'strata console upload ');
    await page.locator('input[name="upload"]').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: payload });
    await page.locator('li[data-upload="big.bin"]', { hasText: 'done' }).waitFor();
    await page.locator('tr[data-key="docs/big.bin"]').waitFor();
    const head = await server.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'docs/big.bin' }));
    expect(head.ContentLength).toBe(payload.length);
    const body = await (await server.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'docs/big.bin' }))).Body!.transformToByteArray();
    expect(Buffer.from(body).equals(payload)).toBe(true);
    // Above 16 MiB the page sends a multipart upload (8 MiB parts), each part within the admin listener's request timeout.
    const large = Buffer.alloc(18 * 1024 * 1024 + 5, 'multipart through the console ');
    await page.locator('input[name="upload"]').setInputFiles({ name: 'large.bin', mimeType: 'application/octet-stream', buffer: large });
    await page.locator('li[data-upload="large.bin"]', { hasText: 'done' }).waitFor({ timeout: 30_000 });
    const largeHead = await server.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'docs/large.bin' }));
    expect(largeHead.ContentLength).toBe(large.length);
    expect(largeHead.ETag).toMatch(/-3"$/);
    const largeBody = await (await server.client().send(new GetObjectCommand({ Bucket: bucket, Key: 'docs/large.bin' }))).Body!.transformToByteArray();
    expect(Buffer.from(largeBody).equals(large)).toBe(true);
    await shot('bucket-browser');
  });

  it('the policy editor shows the server\u2019s MalformedPolicy message and stores nothing; a public-read policy makes the object fetchable by anonymous curl', async () => {
    const editor = page.locator('textarea[name="policy"]');
    await editor.fill('{"Version": "2012-10-17", "Statement": [');
    await page.getByRole('button', { name: 'Validate and save' }).click();
    expect(await page.locator('.policy').getByRole('alert').innerText()).toContain('not valid JSON');

    await editor.fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }] }));
    await page.getByRole('button', { name: 'Validate and save' }).click();
    const message = await page.locator('.policy').getByRole('alert').innerText();
    expect(message).toContain('MalformedPolicy');
    expect(message).toContain('Principal');
    await shot('policy-malformed');
    const none = await server.client().send(new GetBucketPolicyCommand({ Bucket: bucket })).catch((e: Error) => e);
    expect((none as Error).name).toBe('NoSuchBucketPolicy');
    const anonymousBefore = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${server.endpoint}/${bucket}/docs/hello.txt`]);
    expect(anonymousBefore.stdout).toBe('403');

    await page.getByRole('button', { name: 'Public-read template' }).click();
    await page.getByRole('button', { name: 'Validate and save' }).click();
    await page.getByText('Policy saved.').waitFor();
    await page.locator('.badge', { hasText: 'Public (policy)' }).waitFor();
    const stored = await server.client().send(new GetBucketPolicyCommand({ Bucket: bucket }));
    expect(JSON.parse(stored.Policy!).Statement[0]).toMatchObject({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject' });
    const anonymous = await run('curl', ['-sS', '--fail', `${server.endpoint}/${bucket}/docs/hello.txt`]);
    expect(anonymous.stdout).toBe('hello from the aws CLI\n');
    await shot('policy-public');
  });

  it('creates a bucket in a chosen region from the Buckets page; a bad name shows the server\u2019s InvalidBucketName and creates nothing', async () => {
    await page.locator('h1').getByRole('link', { name: 'Buckets' }).click();
    await page.getByRole('tab', { name: 'ord1' }).click();
    await page.getByText('No buckets in ord1 yet.').waitFor();
    await page.locator('input[name="bucket-name"]').fill('Bad_Name');
    await page.getByRole('button', { name: 'Create bucket in ord1' }).click();
    expect(await alertText()).toBe('InvalidBucketName: The specified bucket is not valid.');
    expect(await server.services.regions.get('ord1')!.getBucket('Bad_Name')).toBeUndefined();
    await page.locator('input[name="bucket-name"]').fill('models-ord1');
    await page.getByRole('button', { name: 'Create bucket in ord1' }).click();
    await page.locator('tr[data-bucket="models-ord1"]').waitFor();
    expect((await server.services.regions.get('ord1')!.getBucket('models-ord1'))?.ownerOrg).toBe('default');
    expect(await server.services.regions.get('lga1')!.getBucket('models-ord1')).toBeUndefined();
  });

  it('downloads the s3cmd configuration for a chosen region, and s3cmd ls works with it unedited', async () => {
    await page.getByRole('link', { name: 'Object Storage' }).click();
    await page.locator('tr[data-token="walkthrough"]').getByRole('button', { name: 'Download s3cmd configuration' }).click();
    const dialog = page.getByRole('dialog');
    // Preselected: the token's default region.
    expect(await dialog.getByLabel('S3 region').inputValue()).toBe('lga1');
    await dialog.getByLabel(/^Endpoint/).fill('not a host!');
    await dialog.getByRole('button', { name: 'Download s3cmd config' }).click();
    expect(await dialog.getByRole('alert').innerText()).toContain('must be host or host:port');

    await dialog.getByLabel(/^Endpoint/).fill(`127.0.0.1:${server.port}`);
    await dialog.getByLabel('Path-style addressing').check();
    await shot('s3cmd-download');
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Download s3cmd config' }).click()]);
    expect(download.suggestedFilename()).toBe('default-walkthrough-lga1.s3cfg');
    const cfg = join(work, 'walkthrough.s3cfg');
    await download.saveAs(cfg);
    // The same file `strata s3cmd-config` writes for these choices.
    expect(readFileSync(cfg, 'utf8')).toBe(
      s3cmdConfig({ ...keys, user: 'walkthrough', namespace: 'default', owner: 'default', access: 'full', region: 'lga1', baseDomain: server.services.config.baseDomain, s3Port: server.port, https: false, endpoint: `127.0.0.1:${server.port}`, pathStyle: true }),
    );
    const ls = await run('s3cmd', ['-c', cfg, 'ls'], { env: { PATH: process.env.PATH, HOME: work } });
    expect(ls.stdout).toContain(`s3://${bucket}`);
    const lsBucket = await run('s3cmd', ['-c', cfg, 'ls', '--recursive', `s3://${bucket}`], { env: { PATH: process.env.PATH, HOME: work } });
    expect(lsBucket.stdout).toContain(`s3://${bucket}/docs/hello.txt`);
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('changes a token\u2019s access level, which the S3 server then enforces, and deletes it', async () => {
    const row = page.locator('tr[data-token="walkthrough"]');
    await row.getByLabel('Access level').selectOption('read');
    await page.getByText('"walkthrough" now has Read access').waitFor();
    expect((await admin<{ spec: { access: string } }>('GET', '/v1/users/default/walkthrough')).body.spec.access).toBe('read');
    const denied = await commandError(aws('s3', 'cp', join(work, 'hello.txt'), `s3://${bucket}/docs/denied.txt`));
    expect(denied.stderr).toContain('AccessDenied');

    await row.getByRole('button', { name: 'Delete token' }).click();
    await page.getByText('token "walkthrough" deleted').waitFor();
    expect(await page.locator('tr[data-token="walkthrough"]').count()).toBe(0);
    expect((await admin('GET', '/v1/users/default/walkthrough')).status).toBe(404);
    const gone = await commandError(aws('s3', 'ls', `s3://${bucket}`));
    expect(gone.stderr).toContain('InvalidAccessKeyId');
  });

  it('API Access: creates a namespace token shown once with a kubeconfig the real kubectl uses, lists it, revokes it', async () => {
    const user = { apiVersion: 'objectstorage.coreweave.com/v1alpha1', kind: 'User', metadata: { name: 'kube-a', namespace: 'team-a' }, spec: { owner: 'team-a', access: 'read' } };
    expect((await admin('POST', '/v1/users', user)).status).toBe(201);
    await page.getByRole('link', { name: 'API Access' }).click();
    await page.getByLabel('Token name').fill('ci-team-a');
    await page.getByLabel('Other namespaces').fill('team-a');
    await page.getByRole('button', { name: 'Create token' }).click();
    const created = page.locator('.created');
    await created.waitFor();
    await created.getByRole('button', { name: 'Copy API token' }).click();
    const token = await clipboard();
    expect(token).toMatch(/^sat_/);
    const who = await fetch(`${server.admin.endpoint}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(await who.json()).toMatchObject({ name: 'ci-team-a', namespaces: ['team-a'] });

    expect(await created.getByLabel('Default namespace').inputValue()).toBe('team-a');
    await shot('api-token-created');
    const [download] = await Promise.all([page.waitForEvent('download'), created.getByRole('button', { name: 'Download kubeconfig' }).click()]);
    expect(download.suggestedFilename()).toBe('kubeconfig-ci-team-a-team-a.yaml');
    const file = join(work, 'cw-kubeconfig');
    await download.saveAs(file);
    const config = parseYaml(readFileSync(file, 'utf8'));
    expect(config.clusters[0].cluster.server).toBe(`${server.admin.endpoint.replace('http://', 'https://')}/k8s`);
    expect(Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(storedAdminCertificate(server.dataDir));
    expect(config.users[0].user.token).toBe(token);
    expect(config.contexts[0].context.namespace).toBe('team-a');

    const kubectl = new KubectlUser(work, '');
    const listed = await kubectl.run(['--kubeconfig', file, 'get', 'users.objectstorage.coreweave.com', '-n', 'team-a']);
    expect(listed.stderr).toBe('');
    expect(collapse(listed.stdout)).toBe('NAME OWNER ACCESS OBJECT STORAGE ACCESS OBJECT STORAGE ID\nkube-a team-a read ACTIVE team-a:kube-a');
    // The context's namespace is the default, and the token's scope still holds.
    expect(collapse((await kubectl.run(['--kubeconfig', file, 'get', 'users.objectstorage.coreweave.com'])).stdout)).toContain('kube-a team-a read');
    const outside = await kubectl.run(['--kubeconfig', file, 'get', 'users.objectstorage.coreweave.com', '-n', 'team-b']);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain('Forbidden');

    // Refused: no CSRF header, a namespace outside the token's, a token that is not one.
    const refused = await page.evaluate(async (t) => {
      const post = async (body: unknown, headers: Record<string, string>) => {
        const r = await fetch('/console/api/kubeconfig', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
        return { status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code };
      };
      const csrf = ((await (await fetch('/console/api/session')).json()) as { csrf: string }).csrf;
      return [
        await post({ token: t, namespace: 'team-a' }, {}),
        await post({ token: t, namespace: 'team-b' }, { 'x-csrf-token': csrf }),
        await post({ token: 'sat_nope', namespace: 'team-a' }, { 'x-csrf-token': csrf }),
      ];
    }, token);
    expect(refused).toEqual([
      { status: 403, code: 'CsrfFailed' },
      { status: 400, code: 'BadRequest' },
      { status: 400, code: 'InvalidToken' },
    ]);

    const id = token.split('_')[1];
    const row = page.locator(`tr[data-api-token="${id}"]`);
    expect(await row.innerText()).toContain('team-a');
    await shot('api-access');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByText(`token "${id}" revoked`).waitFor();
    expect(await row.innerText()).toContain('revoked');
    expect((await fetch(`${server.admin.endpoint}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const afterRevoke = await kubectl.run(['--kubeconfig', file, 'get', 'users.objectstorage.coreweave.com']);
    expect(afterRevoke.code).not.toBe(0);
    expect(afterRevoke.stderr).toContain('Unauthorized');
  });

  it('a namespace token sees only its namespace, and a revoked token or an expired session sends the user back to sign in with a message, changing nothing', async () => {
    const scoped = await admin<{ token: string }>('POST', '/v1/tokens', { name: 'team-b', namespaces: ['team-b'] });
    await admin('POST', '/v1/users', { apiVersion: 'objectstorage.coreweave.com/v1alpha1', kind: 'User', metadata: { name: 'b-user', namespace: 'team-b' }, spec: { owner: 'team-b', access: 'readwrite' } });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Strata console' }).waitFor();
    await page.getByLabel('API token', { exact: true }).fill(scoped.body.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Object Storage' }).click();
    await page.locator('tr[data-token="b-user"]').waitFor();
    expect(await page.locator('tr[data-token]').count()).toBe(1);
    await page.getByRole('link', { name: 'API Access' }).click();
    expect(await alertText()).toContain('Only organisation-admin tokens');
    await page.getByRole('link', { name: 'Buckets' }).click();
    await page.getByText('No buckets in lga1 yet.').waitFor();

    // Revoked while signed in: the next request ends the session.
    const id = scoped.body.token.split('_')[1];
    expect((await admin('DELETE', `/v1/tokens/${id}`)).status).toBe(200);
    await page.getByRole('link', { name: 'Object Storage' }).click();
    expect(await alertText()).toContain('has been revoked');
    await shot('session-revoked');

    // An expired session (what a restart or the idle timeout leaves): the create is refused.
    await page.getByLabel('API token', { exact: true }).fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Object Storage' }).waitFor();
    await page.getByRole('button', { name: 'Create a New Token' }).click();
    await page.getByRole('dialog', { name: 'Create Token' }).getByLabel('Name', { exact: true }).fill('after-expiry');
    await browser.context.addCookies([{ name: 'strata_console', value: 'expired-session-value', url: `${server.admin.endpoint}/console/` }]);
    await page.getByRole('dialog', { name: 'Create Token' }).getByRole('button', { name: 'Create' }).click();
    expect(await alertText()).toContain('your session has expired; sign in again');
    expect((await admin<{ items: unknown[] }>('GET', '/v1/users?name=after-expiry')).body.items).toHaveLength(0);
  });
});
