// `strata policy explain` and POST /v1/policy/explain on real policies, ACLs, access levels and
// Block Public Access, each verdict compared with the same request made for real: the explanation
// must say 200 exactly when the server answers it, and name what decided.
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessExplanation } from '../../src/admin/policy-explain.ts';
import { addTestKey, sendAs, type Creds, type Who } from '../helpers/principals.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const strata = join(__dirname, '..', '..', 'bin', 'strata');
const bucket = 'explained';

let server: TestServer;
/** the bootstrap admin API token, created with the server */
const adminToken = () => (server as TestServer & { adminToken?: string }).adminToken!;
let s3: S3Client;
let reader: Creds;
let partner: Creds;

const policy = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/public/*` },
    {
      Sid: 'PartnerFromOffice',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::partner:root' },
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: `arn:aws:s3:::${bucket}/*`,
      Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
    },
    { Sid: 'NoDeletes', Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${bucket}/*` },
  ],
};

async function explain(input: Record<string, unknown>): Promise<AccessExplanation> {
  const res = await request(`${server.admin.endpoint}/v1/policy/explain`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ bucket, ...input }),
  });
  const text = await res.body.text();
  expect(res.statusCode, text).toBe(200);
  return JSON.parse(text) as AccessExplanation;
}

/** The same request for real: its status. */
async function real(who: Who, method: string, key: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  return (await sendAs(server, who, method, `/${bucket}/${key}`, { headers, body })).status;
}

beforeAll(async () => {
  // The loopback peer is a trusted proxy here, so that real requests can come "from" 10.1.2.3.
  server = await startTestServer({ trustedProxies: ['127.0.0.1'] });
  s3 = server.client();
  reader = await addTestKey(server, 'default', 'reader', 'read');
  partner = await addTestKey(server, 'partner', 'p1', 'full');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const key of ['public/a.txt', 'private/b.txt']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'acl/c.txt', Body: 'c', ACL: 'public-read' }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
});
afterAll(async () => server?.stop());

describe('policy explain agrees with real requests', () => {
  it('anonymous read of a public prefix: allowed by the PublicRead statement', async () => {
    const e = await explain({ key: 'public/a.txt', action: 's3:GetObject', anonymous: true });
    expect(e).toMatchObject({ decision: 'Allow', status: 200, decidedBy: 'policy-allow' });
    expect(e.policy!.statements.map((s) => [s.sid, s.matches])).toEqual([['PublicRead', true], ['PartnerFromOffice', false], ['NoDeletes', false]]);
    expect(await real('anonymous', 'GET', 'public/a.txt')).toBe(200);
  });

  it('anonymous read elsewhere: nothing grants it', async () => {
    const e = await explain({ key: 'private/b.txt', action: 's3:GetObject', anonymous: true });
    expect(e).toMatchObject({ decision: 'Deny', status: 403, errorCode: 'AccessDenied', decidedBy: 'no-grant' });
    expect(e.policy!.statements[0]).toMatchObject({ sid: 'PublicRead', principal: true, action: true, resource: false, matches: false });
    expect(await real('anonymous', 'GET', 'private/b.txt')).toBe(403);
  });

  it('another organisation: the IpAddress condition fails with the address it saw, and holds from the office', async () => {
    const outside = await explain({ key: 'private/b.txt', action: 's3:GetObject', as: 'partner/p1', sourceIp: '192.0.2.7' });
    expect(outside).toMatchObject({ decision: 'Deny', status: 403, decidedBy: 'no-grant' });
    const statement = outside.policy!.statements[1];
    expect(statement).toMatchObject({ sid: 'PartnerFromOffice', principal: true, action: true, resource: true, matches: false });
    expect(statement.conditions).toEqual([{ operator: 'IpAddress', key: 'aws:SourceIp', policyValues: ['10.0.0.0/8'], requestValues: ['192.0.2.7'], holds: false }]);
    expect(await real(partner, 'GET', 'private/b.txt', { 'x-forwarded-for': '192.0.2.7' })).toBe(403);

    const office = await explain({ key: 'private/b.txt', action: 's3:GetObject', as: 'partner/p1', sourceIp: '10.1.2.3' });
    expect(office).toMatchObject({ decision: 'Allow', status: 200, decidedBy: 'policy-allow' });
    expect(office.policy!.statements[1].conditions[0]).toMatchObject({ requestValues: ['10.1.2.3'], holds: true });
    expect(await real(partner, 'GET', 'private/b.txt', { 'x-forwarded-for': '10.1.2.3' })).toBe(200);
  });

  it('an explicit Deny beats the owner\'s full key', async () => {
    const e = await explain({ key: 'private/b.txt', action: 's3:DeleteObject', as: 'default/admin' });
    expect(e).toMatchObject({ decision: 'Deny', status: 403, decidedBy: 'policy-deny' });
    expect(e.policy!.statements.find((s) => s.matches)?.sid).toBe('NoDeletes');
    expect(await real('admin', 'DELETE', 'private/b.txt')).toBe(403);
  });

  it("the owner's keys: the access level decides", async () => {
    const write = await explain({ key: 'private/new.txt', action: 's3:PutObject', as: 'reader' });
    expect(write).toMatchObject({ decision: 'Deny', decidedBy: 'owner-level', accessLevel: { level: 'read', needs: 'write', allows: false } });
    expect(await real(reader, 'PUT', 'private/new.txt', {}, 'x')).toBe(403);
    const read = await explain({ key: 'private/b.txt', action: 's3:GetObject', as: reader.accessKeyId });
    expect(read).toMatchObject({ decision: 'Allow', decidedBy: 'owner-level', accessLevel: { level: 'read', needs: 'read', allows: true } });
    expect(await real(reader, 'GET', 'private/b.txt')).toBe(200);
  });

  it('an object ACL grant, and Block Public Access taking it and the public policy away', async () => {
    const granted = await explain({ key: 'acl/c.txt', action: 's3:GetObject', anonymous: true });
    expect(granted).toMatchObject({ decision: 'Allow', decidedBy: 'object-acl', blockPublicAccess: null });
    expect(await real('anonymous', 'GET', 'acl/c.txt')).toBe(200);

    await s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: { IgnorePublicAcls: true, RestrictPublicBuckets: true } }));
    try {
      const ignored = await explain({ key: 'acl/c.txt', action: 's3:GetObject', anonymous: true });
      expect(ignored).toMatchObject({ decision: 'Deny', decidedBy: 'no-grant', blockPublicAccess: { decided: true, withoutIt: 'Allow' } });
      expect(await real('anonymous', 'GET', 'acl/c.txt')).toBe(403);
      const restricted = await explain({ key: 'public/a.txt', action: 's3:GetObject', anonymous: true });
      expect(restricted).toMatchObject({ decision: 'Deny', blockPublicAccess: { decided: true, withoutIt: 'Allow' } });
      expect(restricted.reason).toContain('RestrictPublicBuckets');
      expect(await real('anonymous', 'GET', 'public/a.txt')).toBe(403);
      // the owner is not affected
      const owner = await explain({ key: 'public/a.txt', action: 's3:GetObject', as: 'default/admin' });
      expect(owner).toMatchObject({ decision: 'Allow', blockPublicAccess: { decided: false } });
      expect(await real('admin', 'GET', 'public/a.txt')).toBe(200);
    } finally {
      await s3.send(new DeletePublicAccessBlockCommand({ Bucket: bucket }));
    }
  });

  it('CreateBucket: the key\'s access level alone, for a bucket that does not exist yet', async () => {
    const byReader = await explain({ bucket: 'not-yet', action: 's3:CreateBucket', as: 'default/reader' });
    expect(byReader).toMatchObject({ decision: 'Deny', status: 403, decidedBy: 'service-level', accessLevel: { level: 'read', needs: 'full', allows: false }, policy: null });
    expect((await sendAs(server, reader, 'PUT', '/not-yet')).status).toBe(403);
    const byAdmin = await explain({ bucket: 'not-yet', action: 's3:CreateBucket', as: 'default/admin' });
    expect(byAdmin).toMatchObject({ decision: 'Allow', status: 200, decidedBy: 'service-level' });
    expect((await sendAs(server, 'admin', 'PUT', '/not-yet')).status).toBe(200);
  });

  it('refuses what it cannot explain with a clear message', async () => {
    const post = (body: object) =>
      request(`${server.admin.endpoint}/v1/policy/explain`, { method: 'POST', headers: { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [body, status, message] of [
      [{ bucket, action: 's3:Frobnicate', anonymous: true }, 400, /unknown action "s3:Frobnicate"/],
      [{ bucket, action: 's3:GetObject' }, 400, /say who asks/],
      [{ bucket, action: 's3:GetObject', as: 'nobody-at-all' }, 404, /no user or access key "nobody-at-all"/],
      [{ bucket, action: 's3:GetObject', anonymous: true, colour: 'red' }, 400, /unknown field "colour"/],
    ] as const) {
      const res = await post(body);
      const json = (await res.body.json()) as { error: { message: string } };
      expect(res.statusCode).toBe(status);
      expect(json.error.message).toMatch(message);
    }
    const missing = await explain({ bucket: 'no-such-bucket', action: 's3:GetObject', anonymous: true });
    expect(missing).toMatchObject({ decision: 'Deny', status: 404, errorCode: 'NoSuchBucket' });
  });
});

describe('POST /v1/policy/who-can ("who can read this bucket?")', () => {
  const whoCan = async (input: object) => {
    const res = await request(`${server.admin.endpoint}/v1/policy/who-can`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ bucket, ...input }),
    });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(200);
    return JSON.parse(text) as { anonymous: { decision: string }; users: { namespace: string; user: string; decision: string; decidedBy: string }[]; truncated: boolean };
  };
  const verdicts = (answer: Awaited<ReturnType<typeof whoCan>>) => Object.fromEntries(answer.users.map((u) => [`${u.namespace}/${u.user}`, u.decision]));

  it('answers for anonymous and every key, as real requests are answered', async () => {
    const answer = await whoCan({ key: 'private/b.txt', action: 's3:GetObject', sourceIp: '192.0.2.7' });
    expect(answer.anonymous.decision).toBe('Deny');
    expect(verdicts(answer)).toEqual({ 'default/admin': 'Allow', 'default/reader': 'Allow', 'partner/p1': 'Deny' });
    expect(answer.truncated).toBe(false);
    expect(await real('anonymous', 'GET', 'private/b.txt')).toBe(403);
    expect(await real(partner, 'GET', 'private/b.txt', { 'x-forwarded-for': '192.0.2.7' })).toBe(403);
    // from the office the partner may read too
    expect(verdicts(await whoCan({ key: 'private/b.txt', action: 's3:GetObject', sourceIp: '10.1.2.3' }))['partner/p1']).toBe('Allow');
    // and only the owner's full key may write (the reader's level is read)
    const writers = await whoCan({ key: 'private/new.txt', action: 's3:PutObject', sourceIp: '192.0.2.7' });
    expect(verdicts(writers)).toEqual({ 'default/admin': 'Allow', 'default/reader': 'Deny', 'partner/p1': 'Deny' });
  });

  it('asks about every caller itself: a named caller is refused', async () => {
    const res = await request(`${server.admin.endpoint}/v1/policy/who-can`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ bucket, action: 's3:GetObject', anonymous: true }),
    });
    expect(res.statusCode).toBe(400);
    expect(((await res.body.json()) as { error: { message: string } }).error.message).toMatch(/leave out "as" and "anonymous"/);
  });
});

describe('strata policy explain (the CLI)', () => {
  const cli = (args: string[]) =>
    run(strata, ['policy', 'explain', ...args], { env: { ...process.env, STRATA_DATA_DIR: server.dataDir, ...(server.services.config.metadataUrl ? { STRATA_METADATA_URL: server.services.config.metadataUrl } : {}) } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('prints the decision, the statements and the condition values, on the data root of a running server', async () => {
    const out = await cli(['--bucket', bucket, '--key', 'private/b.txt', '--action', 's3:GetObject', '--as', 'partner/p1', '--source-ip', '192.0.2.7']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('DENIED: s3:GetObject on arn:aws:s3:::explained/private/b.txt in lga1 (403 AccessDenied)');
    expect(out.stdout).toMatch(/\[1\] PartnerFromOffice Allow: does not match \(principal yes, action yes, resource yes\)/);
    expect(out.stdout).toContain('fails  IpAddress aws:SourceIp ["10.0.0.0/8"]; request had ["192.0.2.7"]');
    const allowed = await cli(['--bucket', bucket, '--key', 'public/a.txt', '--action', 's3:GetObject', '--anonymous', '-o', 'json']);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ decision: 'Allow', decidedBy: 'policy-allow' });
  });

  it('goes through the admin API with --server and --token, with the same answer', async () => {
    const out = await cli(['--bucket', bucket, '--key', 'private/b.txt', '--action', 's3:DeleteObject', '--as', 'default/admin', '--server', server.admin.endpoint, '--token', adminToken(), '-o', 'json']);
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ decision: 'Deny', decidedBy: 'policy-deny' });
  });

  it('says what is missing', async () => {
    const out = await cli(['--bucket', bucket, '--action', 's3:GetObject']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('say who asks: --as USER');
  });
});
