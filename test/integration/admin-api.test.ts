// The admin HTTP API over real HTTP: bearer tokens (missing, malformed, forged, revoked → 401,
// out of scope → 403, never a state change), users/secrets/tokens endpoints with the CLI's
// semantics, body limits, and the live effect on S3. Also `strata serve` printing the
// bootstrap admin token exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let root: string; // the bootstrap organisation-admin token

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

async function api(method: string, path: string, options: { token?: string | null; body?: string | Buffer; type?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const token = options.token === undefined ? root : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.type) headers['content-type'] = options.type;
  const res = await request(server.admin.endpoint + path, { method: method as 'GET', headers, body: options.body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

function manifest(name: string, namespace: string, access: string, owner = namespace, secretName?: string): string {
  return `apiVersion: objectstorage.coreweave.com/v1alpha1
kind: User
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  owner: ${owner}
  access: ${access}
${secretName ? `  secretName: ${secretName}\n` : ''}`;
}

async function snapshot(): Promise<string> {
  const users = await api('GET', '/v1/users');
  const secrets = await api('GET', '/v1/secrets');
  const tokens = await api('GET', '/v1/tokens');
  return JSON.stringify([users.json, secrets.json, tokens.json]);
}

async function secretCreds(name: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const r = await api('GET', `/v1/secrets/${name}`);
  expect(r.status).toBe(200);
  return { accessKeyId: Buffer.from(r.json.data.accessKey, 'base64').toString(), secretAccessKey: Buffer.from(r.json.data.secretKey, 'base64').toString() };
}

beforeAll(async () => {
  server = await startTestServer();
  root = (server as TestServer & { adminToken?: string }).adminToken!;
  expect(root).toMatch(/^sat_/);
});
afterAll(async () => {
  await server?.stop();
});

describe('authentication', () => {
  it('listens on its own loopback port', () => {
    expect(server.admin.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.admin.port).not.toBe(server.port);
  });

  it('refuses a missing, malformed, forged or unknown token with 401 JSON', async () => {
    const forged = root.slice(0, -1) + (root.endsWith('0') ? '1' : '0');
    const cases: [string | null, Record<string, string> | undefined, string][] = [
      [null, undefined, 'missing "Authorization: Bearer <token>" header; create a token with `strata token create`'],
      [null, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 'the Authorization header must be "Bearer <token>"'],
      ['not-a-token', undefined, 'the token is not valid'],
      [forged, undefined, 'the token is not valid'],
      [`sat_aaaaaaaaaaaa_${'0'.repeat(64)}`, undefined, 'the token is not valid'],
    ];
    for (const [token, headers, message] of cases) {
      const r = await api('GET', '/v1/users', { token, headers });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="strata-admin"');
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.json).toEqual({ error: { code: 'Unauthorized', message } });
    }
  });

  it('a forged token changes nothing, even with a valid body', async () => {
    const before = await snapshot();
    // The last character changed, always: a fixed suffix was the real token once in 256 runs.
    const forged = root.slice(0, -1) + (root.endsWith('a') ? 'b' : 'a');
    expect(forged).not.toBe(root);
    const r = await api('POST', '/v1/users', { token: forged, body: manifest('forged', 'ns-f', 'full'), type: 'application/yaml' });
    expect(r.status).toBe(401);
    const t = await api('POST', '/v1/tokens', { token: forged, body: JSON.stringify({ namespaces: '*' }), type: 'application/json' });
    expect(t.status).toBe(401);
    expect(await snapshot()).toBe(before);
  });

  it('whoami names the calling token', async () => {
    const r = await api('GET', '/v1/whoami');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'bootstrap', namespaces: ['*'] });
  });
});

describe('users and secrets', () => {
  it('POST a YAML manifest: 201 created, then 200 unchanged / configured; the key works on S3 at once', async () => {
    const created = await api('POST', '/v1/users', { body: manifest('api-user', 'ns-a', 'read', 'ns-a', 'api-user-secret'), type: 'application/yaml' });
    expect(created.status).toBe(201);
    expect(created.json.results).toHaveLength(1);
    expect(created.json.results[0]).toMatchObject({ result: 'created', message: 'user.objectstorage.coreweave.com/api-user created', user: { status: { objectStorageAccess: 'ACTIVE', objectStorageId: 'ns-a:api-user' } } });
    const creds = await secretCreds('api-user-secret');
    expect(creds.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
    expect(creds.secretAccessKey).toHaveLength(40);
    expect((await rawRequest(server.port, { path: '/', sign: creds })).status).toBe(200);

    const same = await api('POST', '/v1/users', { body: manifest('api-user', 'ns-a', 'read', 'ns-a', 'api-user-secret'), type: 'application/yaml' });
    expect(same.status).toBe(200);
    expect(same.json.results[0].message).toBe('user.objectstorage.coreweave.com/api-user unchanged');
    // JSON body, changed level
    const json = JSON.stringify({ apiVersion: 'objectstorage.coreweave.com/v1alpha1', kind: 'User', metadata: { name: 'api-user', namespace: 'ns-a' }, spec: { owner: 'ns-a', access: 'full', secretName: 'api-user-secret' } });
    const configured = await api('POST', '/v1/users', { body: json, type: 'application/json' });
    expect(configured.status).toBe(200);
    expect(configured.json.results[0].message).toBe('user.objectstorage.coreweave.com/api-user configured');
    expect((await rawRequest(server.port, { method: 'PUT', path: '/api-bucket', sign: creds })).status).toBe(200);

    const one = await api('GET', '/v1/users/ns-a/api-user');
    expect(one.json.spec).toEqual({ owner: 'ns-a', access: 'full', secretName: 'api-user-secret' });
    const list = await api('GET', '/v1/users?namespace=ns-a');
    expect(list.json.kind).toBe('List');
    expect(list.json.items.map((u: { metadata: { name: string } }) => u.metadata.name)).toEqual(['api-user']);
    const secret = await api('GET', '/v1/secrets/ns-a/api-user-secret');
    expect(secret.json).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'api-user-secret', namespace: 'ns-a' } });

    const del = await api('DELETE', '/v1/users/ns-a/api-user');
    expect(del.status).toBe(200);
    expect(del.json.message).toBe('user.objectstorage.coreweave.com "api-user" deleted');
    expect((await api('GET', '/v1/secrets/api-user-secret')).status).toBe(404);
    const after = await rawRequest(server.port, { path: '/', sign: creds });
    expect(after.status).toBe(403);
    expect(errorCode(after.text)).toBe('InvalidAccessKeyId');
    const again = await api('DELETE', '/v1/users/ns-a/api-user');
    expect(again.status).toBe(404);
    expect(again.json.error).toEqual({ code: 'NotFound', message: 'users.objectstorage.coreweave.com "api-user" not found in namespace "ns-a"' });
  });

  it('multi-document bodies and ?namespace= for manifests without one', async () => {
    const body = manifest('m1', 'ns-multi', 'read') + '---\n' + manifest('m2', 'ns-multi', 'write').replace('  namespace: ns-multi\n', '');
    const r = await api('POST', '/v1/users?namespace=ns-multi', { body, type: 'application/yaml' });
    expect(r.status).toBe(201);
    expect(r.json.results.map((x: { message: string }) => x.message)).toEqual(['user.objectstorage.coreweave.com/m1 created', 'user.objectstorage.coreweave.com/m2 created']);
  });

  it('bad manifests: 400 with the validator message, no change', async () => {
    const before = await snapshot();
    const cases: [string, RegExp][] = [
      [manifest('bad', 'ns-b', 'superuser'), /spec\.access: Unsupported value: "superuser": supported values: "full", "readwrite", "read", "write"/],
      ['apiVersion: v1\nkind: Secret\n', /kind: Unsupported value: "Secret"/],
      ['a: 1\nb: [1, 2\n', /error parsing "request body": line \d: Flow sequence/],
      ['{"apiVersion": ', /error parsing "request body": line 1: /],
      [manifest('ok', 'ns-b', 'read') + '---\n' + manifest('bad', 'ns-b', 'root'), /\(document 2\)/],
      ['', /no objects passed to apply/],
    ];
    for (const [body, message] of cases) {
      const r = await api('POST', '/v1/users', { body, type: 'application/yaml' });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('InvalidManifest');
      expect(r.json.error.message).toMatch(message);
    }
    expect(await snapshot()).toBe(before);
  });

  it('duplicate secret names: 409, no change', async () => {
    expect((await api('POST', '/v1/users', { body: manifest('first', 'ns-dup', 'read', 'ns-dup', 'dup-secret') })).status).toBe(201);
    const before = await snapshot();
    const r = await api('POST', '/v1/users', { body: manifest('second', 'ns-dup2', 'full', 'ns-dup2', 'dup-secret') });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('SecretNameTaken');
    expect(r.json.error.message).toMatch(/secret "dup-secret" already belongs to user "first" in namespace "ns-dup"/);
    expect(await snapshot()).toBe(before);
  });

  it('caps bodies at 64 KiB (413) and refuses other media types (415), changing nothing', async () => {
    const before = await snapshot();
    const big = manifest('big', 'ns-big', 'read') + '# ' + 'x'.repeat(70 * 1024) + '\n';
    const r = await api('POST', '/v1/users', { body: big, type: 'application/yaml' });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('PayloadTooLarge');
    // chunked (no content-length) too
    const chunked = await request(server.admin.endpoint + '/v1/users', {
      method: 'POST',
      headers: { authorization: `Bearer ${root}`, 'content-type': 'application/yaml' },
      body: Readable.from(
        (function* () {
          for (let i = 0; i < 20; i++) yield Buffer.alloc(8192, 0x23);
        })(),
      ),
    });
    expect(chunked.statusCode).toBe(413);
    await chunked.body.text();
    const xml = await api('POST', '/v1/users', { body: '<User/>', type: 'application/xml' });
    expect(xml.status).toBe(415);
    expect(await snapshot()).toBe(before);
  });

  it('404 for unknown endpoints, 405 for wrong methods', async () => {
    expect((await api('GET', '/v1/buckets')).status).toBe(404);
    expect((await api('GET', '/')).status).toBe(404);
    const r = await api('PUT', '/v1/users');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, POST');
    expect((await api('POST', '/v1/secrets')).status).toBe(405);
  });

  it('reports server info for s3cmd configurations', async () => {
    const r = await api('GET', '/v1/info');
    expect(r.json).toEqual({ regions: ['lga1', 'ord1', 'las1'], defaultRegion: 'lga1', baseDomain: 'localhost', s3Port: server.port });
  });
});

describe('token scopes', () => {
  let scoped: string;
  let scopedId: string;

  it('an organisation admin creates a namespace-scoped token, shown once', async () => {
    const r = await api('POST', '/v1/tokens', { body: JSON.stringify({ namespaces: ['team-1'], name: 'team one' }), type: 'application/json' });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: 'team one', namespaces: ['team-1'], status: 'active' });
    scoped = r.json.token;
    scopedId = r.json.id;
    expect(scoped).toMatch(new RegExp(`^sat_${scopedId}_[0-9a-f]{64}$`));
    const list = await api('GET', '/v1/tokens');
    const listed = list.json.items.find((t: { id: string }) => t.id === scopedId);
    expect(listed).toEqual({ id: scopedId, name: 'team one', namespaces: ['team-1'], createdAt: expect.any(String), createdBy: expect.stringMatching(/^token:/), status: 'active' });
    expect(JSON.stringify(list.json)).not.toContain(scoped.slice(17));
  });

  it('a scoped token manages users in its namespaces only (403 elsewhere, no change)', async () => {
    expect((await api('POST', '/v1/users', { token: scoped, body: manifest('t1-user', 'team-1', 'readwrite') })).status).toBe(201);
    await api('POST', '/v1/users', { body: manifest('other-user', 'team-2', 'full') });
    const before = await snapshot();
    const cases: [string, string, string | undefined, RegExp][] = [
      ['POST', '/v1/users', manifest('x', 'team-2', 'full'), /may not manage users in namespace "team-2"/],
      ['POST', '/v1/users', manifest('x', 'team-1', 'full', 'team-2'), /may not create keys for organisation "team-2"/],
      ['DELETE', '/v1/users/team-2/other-user', undefined, /may not read namespace "team-2"/],
      ['GET', '/v1/users/team-2/other-user', undefined, /may not read namespace "team-2"/],
      ['GET', '/v1/users?namespace=team-2', undefined, /may not read namespace "team-2"/],
      ['GET', '/v1/secrets?namespace=team-2', undefined, /may not read namespace "team-2"/],
      ['GET', '/v1/tokens', undefined, /only organisation-admin tokens/],
      ['POST', '/v1/tokens', JSON.stringify({ namespaces: '*' }), /only organisation-admin tokens/],
      ['DELETE', `/v1/tokens/${scopedId}`, undefined, /only organisation-admin tokens/],
    ];
    for (const [method, path, body, message] of cases) {
      const r = await api(method, path, { token: scoped, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.json.error.code).toBe('Forbidden');
      expect(r.json.error.message).toMatch(message);
    }
    // another namespace's secret is simply not there for this token
    const hidden = await api('GET', '/v1/secrets/team-2-other-user-obj-store-creds', { token: scoped });
    expect(hidden.status).toBe(404);
    expect(await snapshot()).toBe(before);
    // listings show its namespace only
    const mine = await api('GET', '/v1/users', { token: scoped });
    expect(mine.json.items.map((u: { metadata: { namespace: string } }) => u.metadata.namespace)).toEqual(['team-1']);
    const secrets = await api('GET', '/v1/secrets', { token: scoped });
    expect(secrets.json.items.map((s: { metadata: { name: string } }) => s.metadata.name)).toEqual(['team-1-t1-user-obj-store-creds']);
  });

  it('bad token requests: 400, nothing created', async () => {
    const before = await snapshot();
    for (const body of ['{}', JSON.stringify({ namespaces: [] }), JSON.stringify({ namespaces: ['Bad NS'] }), JSON.stringify({ namespaces: ['a'], admin: true }), 'not json', JSON.stringify({ namespaces: ['a'], name: 5 })]) {
      const r = await api('POST', '/v1/tokens', { body, type: 'application/json' });
      expect(r.status, body).toBe(400);
      expect(r.json.error.code).toBe('BadRequest');
    }
    expect(await snapshot()).toBe(before);
  });

  it('revocation: DELETE /v1/tokens/ID, then 401 for that token at once', async () => {
    const r = await api('DELETE', `/v1/tokens/${scopedId}`);
    expect(r.status).toBe(200);
    expect(r.json.message).toBe(`token "${scopedId}" revoked`);
    const denied = await api('GET', '/v1/users', { token: scoped });
    expect(denied.status).toBe(401);
    expect(denied.json.error.message).toBe('the token has been revoked');
    const before = await snapshot();
    expect((await api('POST', '/v1/users', { token: scoped, body: manifest('late', 'team-1', 'full') })).status).toBe(401);
    expect(await snapshot()).toBe(before);
    expect((await api('DELETE', '/v1/tokens/nosuchtoken12')).status).toBe(404);
    expect((await api('DELETE', `/v1/tokens/${scopedId}`)).json.message).toBe(`token "${scopedId}" already revoked`);
  });
});

describe('strata serve', () => {
  const strataBin = resolve(import.meta.dirname, '../../bin/strata');

  async function serve(dataDir: string): Promise<{ child: ChildProcess; output: string }> {
    const child = spawn(strataBin, ['serve'], { env: { PATH: process.env.PATH, STRATA_DATA_DIR: dataDir, STRATA_PORT: '0', STRATA_FSYNC: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${output}`)), 30_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        output += d;
        if (/admin API: /.test(output) && (/AWS_SECRET_ACCESS_KEY=\S+\n/.test(output) || !/shown once/.test(output))) {
          clearTimeout(timer);
          setTimeout(resolvePromise, 300);
        }
      });
      child.on('exit', () => reject(new Error(`serve exited: ${output}`)));
    });
    return { child, output };
  }

  async function stop(child: ChildProcess): Promise<void> {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  it('prints the bootstrap admin token once, and it works; a second start prints none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strata-serve-admin-'));
    try {
      const first = await serve(dataDir);
      const adminUrl = /STRATA_ADMIN_URL=(\S+)/.exec(first.output)?.[1];
      const token = /STRATA_ADMIN_TOKEN=(\S+)/.exec(first.output)?.[1];
      expect(first.output).toContain('Bootstrap admin API token (organisation admin, all namespaces), shown once:');
      expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(token).toMatch(/^sat_/);
      const r = await request(`${adminUrl}/v1/users`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.statusCode).toBe(200);
      const body = (await r.body.json()) as { items: { metadata: { name: string; namespace: string }; spec: { access: string } }[] };
      // the bootstrap organisation's full key is a user too
      expect(body.items.map((u) => [u.metadata.namespace, u.metadata.name, u.spec.access])).toEqual([['default', 'admin', 'full']]);
      await stop(first.child);

      const second = await serve(dataDir);
      expect(second.output).not.toContain('STRATA_ADMIN_TOKEN=');
      expect(second.output).not.toContain(token!);
      expect(second.output).toMatch(/admin API: http:\/\/127\.0\.0\.1:\d+/);
      await stop(second.child);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
