// Bucket policies and ACLs over real HTTP: cross-organisation access, user and bare-org
// principals, explicit Deny over the owner (with AWS's lock-out protection for policy
// management), anonymous access through policies and public ACLs, condition keys filled from
// real requests, the source-bucket check of CopyObject, PutBucketPolicy validation, canned ACLs,
// x-amz-grant-* headers, AccessControlPolicy documents and the authorization effect of grants.
// References: ../shared/reference/s3-semantics.md §1, §4, §7; issue 3.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLevel } from '../../src/identity/identity-store.ts';
import { errorCode, type RawResponse, expectStatus, expectRefused } from '../helpers/raw.ts';
import { addTestKey, sendAs, type Creds, type SendOptions, type Who } from '../helpers/principals.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);


let server: TestServer;
/** The owning organisation: the test server's bootstrap org, whose admin key is `full`. */
const owner = 'default';
const partner = 'partner';
const third = 'thirdorg';
let alice: Creds; // partner, full
let bob: Creds; // partner, full
let partnerReader: Creds; // partner, read
let carol: Creds; // thirdorg, full
let ownerReadWrite: Creds; // default, readwrite

const allUsers = 'http://acs.amazonaws.com/groups/global/AllUsers';
const authUsers = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

const addKey = (org: string, user: string, level: AccessLevel): Promise<Creds> => addTestKey(server, org, user, level);


const send = (who: Who, method: string, path: string, opts: SendOptions = {}): Promise<RawResponse> => sendAs(server, who, method, path, opts);
const admin = (method: string, path: string, opts: SendOptions = {}) => send('admin', method, path, opts);

const ok = expectStatus;
const denied = expectRefused;

async function mkBucket(name: string, headers: Record<string, string> = {}): Promise<string> {
  await ok(admin('PUT', `/${name}`, { headers }));
  return name;
}
async function put(bucket: string, key: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  await ok(admin('PUT', `/${bucket}/${key}`, { body, headers }));
}
async function bodyOf(bucket: string, key: string): Promise<string | number> {
  const res = await admin('GET', `/${bucket}/${key}`);
  return res.status === 200 ? res.text : res.status;
}

type Statement = Record<string, unknown>;
function policyDoc(statements: Statement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}
async function setPolicy(bucket: string, statements: Statement[]): Promise<void> {
  await ok(admin('PUT', `/${bucket}?policy`, { body: policyDoc(statements) }), 204);
}
const objects = (bucket: string, suffix = '*') => `arn:aws:s3:::${bucket}/${suffix}`;
const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const root = (org: string) => `arn:aws:iam::${org}:root`;

/** Grants of an AccessControlPolicy document as `type:who:permission`, sorted. */
function grantsOf(xml: string): string[] {
  const grants: string[] = [];
  for (const m of xml.matchAll(/<Grant>([\s\S]*?)<\/Grant>/g)) {
    const g = m[1];
    const type = /xsi:type="([^"]+)"/.exec(g)?.[1];
    const id = /<ID>([^<]*)<\/ID>/.exec(g)?.[1];
    const uri = /<URI>([^<]*)<\/URI>/.exec(g)?.[1];
    const permission = /<Permission>([^<]*)<\/Permission>/.exec(g)?.[1];
    const who = uri === allUsers ? 'AllUsers' : uri === authUsers ? 'AuthenticatedUsers' : (uri ?? id);
    grants.push(`${type}:${who}:${permission}`);
  }
  return grants.sort();
}
const ownerOf = (xml: string) => /<Owner>\s*<ID>([^<]*)<\/ID>/.exec(xml)?.[1];

const md5b64 = (body: string) => createHash('md5').update(body).digest('base64');

beforeAll(async () => {
  server = await startTestServer();
  alice = await addKey(partner, 'alice', 'full');
  bob = await addKey(partner, 'bob', 'full');
  partnerReader = await addKey(partner, 'reader', 'read');
  carol = await addKey(third, 'carol', 'full');
  ownerReadWrite = await addKey(owner, 'rw', 'readwrite');
});
afterAll(async () => {
  await server.stop();
});

describe('cross-organisation access', () => {
  it('a key of another organisation is refused without a policy', async () => {
    const b = await mkBucket('xorg-none');
    await put(b, 'doc.txt', 'owner data');
    await denied(send(alice, 'GET', `/${b}/doc.txt`));
    await denied(send(alice, 'HEAD', `/${b}/doc.txt`));
    await denied(send(alice, 'GET', `/${b}?list-type=2`));
    await denied(send(alice, 'HEAD', `/${b}`));
    await denied(send(alice, 'PUT', `/${b}/doc.txt`, { body: 'overwritten' }));
    await denied(send(alice, 'DELETE', `/${b}/doc.txt`));
    await denied(send(alice, 'GET', `/${b}?policy`));
    await denied(send(alice, 'PUT', `/${b}?policy`, { body: policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: objects(b) }]) }));
    expect(await bodyOf(b, 'doc.txt')).toBe('owner data');
    expect((await admin('GET', `/${b}?policy`)).status).toBe(404);
  });

  it('a policy naming arn:aws:iam::<org>:root grants every user of that org exactly the listed actions', async () => {
    const b = await mkBucket('xorg-root');
    await put(b, 'doc.txt', 'shared data', { 'x-amz-tagging': 'k=v' });
    await setPolicy(b, [
      { Sid: 'PartnerRead', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: ['s3:GetObject', 's3:ListBucket'], Resource: [bucketArn(b), objects(b)] },
    ]);
    for (const who of [alice, bob, partnerReader]) {
      expect((await ok(send(who, 'GET', `/${b}/doc.txt`))).text).toBe('shared data');
      await ok(send(who, 'HEAD', `/${b}/doc.txt`));
      expect((await ok(send(who, 'GET', `/${b}?list-type=2`))).text).toContain('<Key>doc.txt</Key>');
      await ok(send(who, 'GET', `/${b}`));
      await ok(send(who, 'HEAD', `/${b}`)); // HeadBucket is s3:ListBucket
    }
    // Everything not listed stays refused.
    await denied(send(alice, 'PUT', `/${b}/doc.txt`, { body: 'no' }));
    await denied(send(alice, 'PUT', `/${b}/new.txt`, { body: 'no' }));
    await denied(send(alice, 'DELETE', `/${b}/doc.txt`));
    await denied(send(alice, 'GET', `/${b}/doc.txt?tagging`));
    await denied(send(alice, 'GET', `/${b}/doc.txt?acl`));
    await denied(send(alice, 'GET', `/${b}?acl`));
    await denied(send(alice, 'GET', `/${b}?policy`));
    await denied(send(alice, 'GET', `/${b}?location`));
    await denied(send(alice, 'GET', `/${b}?versions`));
    await denied(send(alice, 'GET', `/${b}?uploads`));
    await denied(send(alice, 'POST', `/${b}/mpu?uploads`));
    // Another organisation gains nothing.
    await denied(send(carol, 'GET', `/${b}/doc.txt`));
    await denied(send(carol, 'GET', `/${b}?list-type=2`));
    expect(await bodyOf(b, 'doc.txt')).toBe('shared data');
    expect(await bodyOf(b, 'new.txt')).toBe(404);
  });

  it('a policy allowing s3:DeleteObject on objects lets another org use DeleteObjects as well as DeleteObject', async () => {
    const b = await mkBucket('xorg-delete');
    for (const k of ['one.txt', 'two.txt', 'three.txt']) await put(b, k, k);
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:DeleteObject', Resource: objects(b) }]);
    await ok(send(alice, 'DELETE', `/${b}/one.txt`), 204);
    expect(await bodyOf(b, 'one.txt')).toBe(404);
    // DeleteObjects needs s3:DeleteObject on each key (AWS), not a bucket-level permission.
    const body = '<Delete><Object><Key>two.txt</Key></Object><Object><Key>three.txt</Key></Object></Delete>';
    const multi = await ok(send(alice, 'POST', `/${b}?delete`, { body, headers: { 'content-md5': md5b64(body) } }));
    expect(multi.text).not.toContain('<Error>');
    expect(await bodyOf(b, 'two.txt')).toBe(404);
    expect(await bodyOf(b, 'three.txt')).toBe(404);
  });

  it('anonymous DeleteObjects under a Principal * Allow of s3:DeleteObject', async () => {
    const b = await mkBucket('anon-delete-objects');
    await put(b, 'gone.txt', 'x');
    await setPolicy(b, [{ Effect: 'Allow', Principal: '*', Action: 's3:DeleteObject', Resource: objects(b) }]);
    const body = '<Delete><Object><Key>gone.txt</Key></Object></Delete>';
    const multi = await ok(send('anonymous', 'POST', `/${b}?delete`, { body, headers: { 'content-md5': md5b64(body) } }));
    expect(multi.text).toContain('<Deleted><Key>gone.txt</Key>');
    expect(await bodyOf(b, 'gone.txt')).toBe(404);
  });

  it('a policy Allow is not limited by the key’s level (granular permissions come from policies)', async () => {
    const b = await mkBucket('xorg-level');
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b) }]);
    // partner's read-level key may write here because the policy says so.
    await ok(send(partnerReader, 'PUT', `/${b}/from-reader.txt`, { body: 'written by a read key' }));
    expect(await bodyOf(b, 'from-reader.txt')).toBe('written by a read key');
    // The writer's organisation owns what it wrote (object ACL), so it may read it back.
    const readBack = await ok(send(partnerReader, 'GET', `/${b}/from-reader.txt`));
    expect(readBack.text).toBe('written by a read key');
    await denied(send(partnerReader, 'GET', `/${b}?list-type=2`));
  });

  it('a policy naming one user lets that user in but not another user of the same org', async () => {
    const b = await mkBucket('xorg-user');
    await put(b, 'doc.txt', 'for alice');
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${partner}:user/alice` }, Action: 's3:GetObject', Resource: objects(b) }]);
    expect((await ok(send(alice, 'GET', `/${b}/doc.txt`))).text).toBe('for alice');
    await denied(send(bob, 'GET', `/${b}/doc.txt`));
    await denied(send(partnerReader, 'GET', `/${b}/doc.txt`));
    await denied(send(carol, 'GET', `/${b}/doc.txt`));
    await denied(send('anonymous', 'GET', `/${b}/doc.txt`));
  });

  it('a bare organisation id as principal works like :root', async () => {
    const b = await mkBucket('xorg-bare');
    await put(b, 'doc.txt', 'for thirdorg');
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: third }, Action: 's3:GetObject', Resource: objects(b) }]);
    expect((await ok(send(carol, 'GET', `/${b}/doc.txt`))).text).toBe('for thirdorg');
    await denied(send(alice, 'GET', `/${b}/doc.txt`));
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: [third, root(partner)] }, Action: 's3:GetObject', Resource: objects(b) }]);
    await ok(send(carol, 'GET', `/${b}/doc.txt`));
    await ok(send(alice, 'GET', `/${b}/doc.txt`));
  });
});

describe('explicit Deny and the owner', () => {
  it('Deny s3:DeleteObject for * beats the owner’s own full key (DeleteObject and DeleteObjects)', async () => {
    const b = await mkBucket('deny-delete');
    await put(b, 'precious.txt', 'keep');
    await put(b, 'scratch.txt', 'may go');
    await setPolicy(b, [
      { Sid: 'NothingIsEverDeleted', Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: objects(b, 'precious*') },
      { Sid: 'NorTheBucket', Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: bucketArn(b) },
    ]);
    await denied(admin('DELETE', `/${b}/precious.txt`));
    await denied(send(ownerReadWrite, 'DELETE', `/${b}/precious.txt`));
    // DeleteObjects authorizes each key (AWS): 200, a per-key AccessDenied, the other key deleted.
    const body = '<Delete><Object><Key>precious.txt</Key></Object><Object><Key>scratch.txt</Key></Object></Delete>';
    const multi = await ok(admin('POST', `/${b}?delete`, { body, headers: { 'content-md5': md5b64(body) } }));
    expect(multi.text).toMatch(/<Error><Key>precious.txt<\/Key>.*<Code>AccessDenied<\/Code>/s);
    expect(multi.text).toMatch(/<Deleted><Key>scratch.txt<\/Key>/);
    expect(await bodyOf(b, 'scratch.txt')).toBe(404);
    await denied(admin('DELETE', `/${b}`));
    expect(await bodyOf(b, 'precious.txt')).toBe('keep');
    // What the Deny does not name still falls back to ownership + level.
    await ok(admin('GET', `/${b}/precious.txt`));
    await ok(admin('PUT', `/${b}/other.txt`, { body: 'fine' }));
  });

  it('lock-out protection: under Deny s3:* the owner’s full key can still Get/Put/DeleteBucketPolicy, nothing else', async () => {
    const b = await mkBucket('lockout');
    await put(b, 'x.txt', 'x');
    const lock = policyDoc([{ Sid: 'LockEverything', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [bucketArn(b), objects(b)] }]);
    await ok(admin('PUT', `/${b}?policy`, { body: lock }), 204);
    await denied(admin('GET', `/${b}/x.txt`));
    await denied(admin('PUT', `/${b}/y.txt`, { body: 'y' }));
    await denied(admin('GET', `/${b}?list-type=2`));
    await denied(admin('GET', `/${b}?acl`));
    expect((await ok(admin('GET', `/${b}?policy`))).text).toBe(lock);
    // Keys of the org below full get no such protection.
    await denied(send(ownerReadWrite, 'GET', `/${b}?policy`));
    await denied(send(ownerReadWrite, 'DELETE', `/${b}?policy`));
    // The full key may replace the policy...
    const softer = policyDoc([{ Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: objects(b) }]);
    await ok(admin('PUT', `/${b}?policy`, { body: softer }), 204);
    expect((await ok(admin('GET', `/${b}?policy`))).text).toBe(softer);
    await ok(admin('GET', `/${b}/x.txt`));
    // ...or, locked again, delete it.
    await ok(admin('PUT', `/${b}?policy`, { body: lock }), 204);
    await ok(admin('DELETE', `/${b}?policy`), 204);
    await ok(admin('GET', `/${b}/x.txt`));
    expect((await admin('GET', `/${b}?policy`)).status).toBe(404);
  });

  it('a Deny naming policy management itself does not lock the full key out either', async () => {
    const b = await mkBucket('lockout-mgmt');
    await setPolicy(b, [{ Effect: 'Deny', Principal: '*', Action: ['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy'], Resource: bucketArn(b) }]);
    await ok(admin('GET', `/${b}?policy`));
    await ok(admin('DELETE', `/${b}?policy`), 204);
  });
});

describe('anonymous requests', () => {
  it('get only what a policy or a public ACL grants', async () => {
    const b = await mkBucket('anon-private');
    await put(b, 'private.txt', 'secret');
    await put(b, 'public.txt', 'hello world', { 'x-amz-acl': 'public-read' });
    await denied(send('anonymous', 'GET', `/${b}/private.txt`));
    expect((await ok(send('anonymous', 'GET', `/${b}/public.txt`))).text).toBe('hello world');
    await ok(send('anonymous', 'HEAD', `/${b}/public.txt`));
    await denied(send('anonymous', 'GET', `/${b}?list-type=2`)); // a private bucket cannot be listed
    await denied(send('anonymous', 'GET', `/${b}`));
    await denied(send('anonymous', 'PUT', `/${b}/public.txt`, { body: 'defaced' }));
    await denied(send('anonymous', 'DELETE', `/${b}/public.txt`));
    await denied(send('anonymous', 'GET', `/${b}/public.txt?acl`));
    await denied(send('anonymous', 'GET', '/'));
    expect(await bodyOf(b, 'public.txt')).toBe('hello world');
  });

  it('a public-read bucket ACL lets anonymous callers list, not read private objects or write', async () => {
    const b = await mkBucket('anon-listable', { 'x-amz-acl': 'public-read' });
    await put(b, 'listed.txt', 'still private');
    expect((await ok(send('anonymous', 'GET', `/${b}?list-type=2`))).text).toContain('<Key>listed.txt</Key>');
    expect((await ok(send('anonymous', 'GET', `/${b}`))).text).toContain('<Key>listed.txt</Key>');
    await denied(send('anonymous', 'GET', `/${b}/listed.txt`));
    await denied(send('anonymous', 'PUT', `/${b}/new.txt`, { body: 'x' }));
    expect(await bodyOf(b, 'new.txt')).toBe(404);
  });

  it('a public-read-write bucket lets anonymous callers write', async () => {
    const b = await mkBucket('anon-writable', { 'x-amz-acl': 'public-read-write' });
    await ok(send('anonymous', 'PUT', `/${b}/dropbox.txt`, { body: 'anonymous upload' }));
    expect(await bodyOf(b, 'dropbox.txt')).toBe('anonymous upload');
    expect((await ok(send('anonymous', 'GET', `/${b}?list-type=2`))).text).toContain('<Key>dropbox.txt</Key>');
  });

  it('a missing key is 403 for a caller allowed GetObject but not ListBucket, 404 once ListBucket is allowed', async () => {
    const b = await mkBucket('anon-probe');
    await put(b, 'exists.txt', 'here');
    await setPolicy(b, [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b) }]);
    expect((await ok(send('anonymous', 'GET', `/${b}/exists.txt`))).text).toBe('here');
    await denied(send('anonymous', 'GET', `/${b}/missing.txt`));
    await denied(send('anonymous', 'HEAD', `/${b}/missing.txt`));
    await denied(send(carol, 'GET', `/${b}/missing.txt?attributes`, { headers: { 'x-amz-object-attributes': 'ETag' } }));
    // A copy whose source is missing tells no more than a GET would.
    const dest = await mkBucket('anon-probe-dest');
    await setPolicy(dest, [{ Effect: 'Allow', Principal: { AWS: root(third) }, Action: 's3:PutObject', Resource: objects(dest) }]);
    await denied(send(carol, 'PUT', `/${dest}/copy.txt`, { headers: { 'x-amz-copy-source': `/${b}/missing.txt` } }));
    // The owner's own keys may list, so they learn that the key is missing.
    await denied(admin('GET', `/${b}/missing.txt`), 'NoSuchKey', 404);
    await setPolicy(b, [
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b) },
      { Effect: 'Allow', Principal: '*', Action: 's3:ListBucket', Resource: bucketArn(b) },
    ]);
    await denied(send('anonymous', 'GET', `/${b}/missing.txt`), 'NoSuchKey', 404);
    await denied(send(carol, 'PUT', `/${dest}/copy.txt`, { headers: { 'x-amz-copy-source': `/${b}/missing.txt` } }), 'NoSuchKey', 404);
  });

  it('an ACL on a write needs s3:PutObjectAcl: s3:PutObject alone cannot publish', async () => {
    const b = await mkBucket('acl-needs-putacl');
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b) }]);
    await denied(send(alice, 'PUT', `/${b}/public.txt`, { body: 'x', headers: { 'x-amz-acl': 'public-read' } }));
    await denied(send(alice, 'PUT', `/${b}/grant.txt`, { body: 'x', headers: { 'x-amz-grant-read': `id="${third}"` } }));
    await denied(send(alice, 'POST', `/${b}/mp.txt?uploads`, { headers: { 'x-amz-acl': 'authenticated-read' } }));
    for (const k of ['public.txt', 'grant.txt']) expect(await bodyOf(b, k)).toBe(404);
    // Handing the object to the bucket owner widens nothing, and needs nothing more.
    await ok(send(alice, 'PUT', `/${b}/handed.txt`, { body: 'x', headers: { 'x-amz-grant-full-control': `id="${owner}"` } }));
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, Action: ['s3:PutObject', 's3:PutObjectAcl'], Resource: objects(b) }]);
    await ok(send(alice, 'PUT', `/${b}/public.txt`, { body: 'published', headers: { 'x-amz-acl': 'public-read' } }));
    expect((await ok(send('anonymous', 'GET', `/${b}/public.txt`))).text).toBe('published');
  });

  it('a policy for Principal * on objects allows anonymous GET but not LIST or PUT', async () => {
    const b = await mkBucket('anon-policy');
    await put(b, 'file.txt', 'public by policy');
    await setPolicy(b, [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b) }]);
    expect((await ok(send('anonymous', 'GET', `/${b}/file.txt`))).text).toBe('public by policy');
    await denied(send('anonymous', 'GET', `/${b}`));
    await denied(send('anonymous', 'PUT', `/${b}/file.txt`, { body: 'x' }));
    // "*" includes signed callers of any organisation.
    await ok(send(carol, 'GET', `/${b}/file.txt`));
  });
});

describe('conditions evaluated from real requests', () => {
  it('s3:prefix on ListBucket', async () => {
    const b = await mkBucket('cond-prefix');
    await put(b, 'public/a.txt', 'a');
    await put(b, 'private/b.txt', 'b');
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:ListBucket', Resource: bucketArn(b), Condition: { StringLike: { 's3:prefix': 'public/*' } } },
    ]);
    const listing = await ok(send(alice, 'GET', `/${b}?list-type=2&prefix=public/`));
    expect(listing.text).toContain('<Key>public/a.txt</Key>');
    expect(listing.text).not.toContain('private');
    await ok(send(alice, 'GET', `/${b}?prefix=public/`)); // v1 too
    await denied(send(alice, 'GET', `/${b}?list-type=2&prefix=private/`));
    await denied(send(alice, 'GET', `/${b}?list-type=2`));
  });

  it('a missing key is 404 for a caller whose ListBucket Allow covers it as s3:prefix, 403 otherwise', async () => {
    // s3-tests test_head_object_404_with_policy_prefix: the key is the s3:prefix of that check.
    const b = await mkBucket('cond-prefix-404');
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:ListBucket', Resource: bucketArn(b), Condition: { StringLike: { 's3:prefix': 'public/*' } } },
    ]);
    await denied(send(alice, 'HEAD', `/${b}/public/object`), 'NoSuchKey', 404);
    await denied(send(alice, 'GET', `/${b}/public/object`), 'NoSuchKey', 404);
    await denied(send(alice, 'HEAD', `/${b}/private/object`));
    await denied(send(alice, 'GET', `/${b}/private/object`));
    await denied(send(carol, 'GET', `/${b}/public/object`));
  });

  it('s3:max-keys and s3:delimiter on ListBucket', async () => {
    const b = await mkBucket('cond-max-keys');
    await put(b, 'dir/a.txt', 'a');
    await setPolicy(b, [
      {
        Effect: 'Allow',
        Principal: { AWS: root(partner) },
        Action: 's3:ListBucket',
        Resource: bucketArn(b),
        Condition: { NumericLessThanEquals: { 's3:max-keys': '10' }, StringEquals: { 's3:delimiter': '/' } },
      },
    ]);
    await ok(send(alice, 'GET', `/${b}?list-type=2&max-keys=5&delimiter=/`));
    await denied(send(alice, 'GET', `/${b}?list-type=2&max-keys=100&delimiter=/`));
    await denied(send(alice, 'GET', `/${b}?list-type=2&delimiter=/`)); // the default 1000 counts
    await denied(send(alice, 'GET', `/${b}?list-type=2&max-keys=5`));
  });

  it('global keys: aws:SecureTransport, aws:PrincipalType, aws:username, aws:CurrentTime, aws:EpochTime', async () => {
    const b = await mkBucket('cond-global');
    for (const k of ['tls/x', 'anon/x', 'user/x', 'time/x', 'epoch/x', 'future/x']) await put(b, k, k);
    const now = Math.floor(Date.now() / 1000);
    await setPolicy(b, [
      { Sid: 'DenyPlainHttp', Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: objects(b, 'tls/*'), Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      { Sid: 'AnonOnly', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b, 'anon/*'), Condition: { StringEquals: { 'aws:PrincipalType': 'Anonymous' } } },
      { Sid: 'AliceByName', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b, 'user/*'), Condition: { StringEquals: { 'aws:username': 'alice' } } },
      { Sid: 'SinceYesterday', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b, 'time/*'), Condition: { DateGreaterThan: { 'aws:CurrentTime': new Date((now - 86400) * 1000).toISOString() } } },
      { Sid: 'EpochNow', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b, 'epoch/*'), Condition: { NumericGreaterThan: { 'aws:EpochTime': String(now - 3600) } } },
      { Sid: 'NotYet', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b, 'future/*'), Condition: { DateGreaterThan: { 'aws:CurrentTime': '2999-01-01T00:00:00Z' } } },
    ]);
    await denied(admin('GET', `/${b}/tls/x`)); // plain HTTP: the key is present and false
    await ok(send('anonymous', 'GET', `/${b}/anon/x`));
    await denied(send(alice, 'GET', `/${b}/anon/x`));
    await ok(send(alice, 'GET', `/${b}/user/x`));
    await denied(send(bob, 'GET', `/${b}/user/x`));
    await ok(send(alice, 'GET', `/${b}/time/x`));
    await ok(send(alice, 'GET', `/${b}/epoch/x`));
    await denied(send(alice, 'GET', `/${b}/future/x`));
  });

  it('s3:x-amz-grant-* on PutObject', async () => {
    const b = await mkBucket('cond-grant');
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b), Condition: { StringEquals: { 's3:x-amz-grant-full-control': `id="${owner}"` } } },
    ]);
    await ok(send(alice, 'PUT', `/${b}/granted.txt`, { body: 'x', headers: { 'x-amz-grant-full-control': `id="${owner}"` } }));
    await denied(send(alice, 'PUT', `/${b}/ungranted.txt`, { body: 'x' }));
    expect(grantsOf((await ok(admin('GET', `/${b}/granted.txt?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`]);
  });

  it('aws:SourceIp with IpAddress / NotIpAddress (the socket address; X-Forwarded-For from an untrusted peer is ignored)', async () => {
    const b = await mkBucket('cond-ip');
    for (const k of ['ok/x', 'other/x', 'blocked/x']) await put(b, k, k);
    await setPolicy(b, [
      { Sid: 'Loopback', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b, 'ok/*'), Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } } },
      { Sid: 'Elsewhere', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b, 'other/*'), Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } },
      { Sid: 'BlockLoopback', Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: objects(b, 'blocked/*'), Condition: { IpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '::1/128'] } } },
      { Sid: 'OnlyFromTen', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: objects(b), Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } },
    ]);
    await ok(send(alice, 'GET', `/${b}/ok/x`));
    await denied(send(alice, 'GET', `/${b}/other/x`));
    await denied(send(alice, 'GET', `/${b}/other/x`, { headers: { 'x-forwarded-for': '10.1.2.3' } }));
    await denied(admin('GET', `/${b}/blocked/x`));
    await ok(admin('GET', `/${b}/ok/x`));
    await denied(admin('PUT', `/${b}/new`, { body: 'x' }));
    await denied(admin('PUT', `/${b}/new`, { body: 'x', headers: { 'x-forwarded-for': '10.1.2.3' } }));
    expect(await bodyOf(b, 'new')).toBe(404);
  });

  it('aws:Referer StringLike with a real anonymous curl, and aws:UserAgent', async () => {
    const b = await mkBucket('cond-referer');
    await put(b, 'site/logo.png', 'logo bytes');
    await put(b, 'ua/tool.bin', 'tool bytes');
    await setPolicy(b, [
      { Sid: 'HotlinkProtection', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b, 'site/*'), Condition: { StringLike: { 'aws:Referer': ['http://www.example.com/*', 'https://example.com/*'] } } },
      { Sid: 'CurlOnly', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b, 'ua/*'), Condition: { StringLike: { 'aws:UserAgent': 'curl/*' } } },
    ]);
    const url = `http://127.0.0.1:${server.port}/${b}/site/logo.png`;
    const curl = async (...args: string[]) => (await run('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', ...args], { timeout: 20_000 })).stdout;
    expect(await curl('-e', 'http://www.example.com/index.html', url)).toBe('logo bytes\n200');
    const other = await curl('-e', 'http://evil.example.net/', url);
    expect(other.endsWith('\n403')).toBe(true);
    expect(errorCode(other)).toBe('AccessDenied');
    expect((await curl(url)).endsWith('\n403')).toBe(true);
    // curl's own User-Agent is curl/<version>.
    expect(await curl(`http://127.0.0.1:${server.port}/${b}/ua/tool.bin`)).toBe('tool bytes\n200');
    expect((await curl('-A', 'Mozilla/5.0', `http://127.0.0.1:${server.port}/${b}/ua/tool.bin`)).endsWith('\n403')).toBe(true);
    await ok(send('anonymous', 'GET', `/${b}/ua/tool.bin`, { headers: { 'user-agent': 'curl/8.5.0' } }));
    await denied(send('anonymous', 'GET', `/${b}/ua/tool.bin`, { headers: { 'user-agent': 'Wget/1.21' } }));
  });

  it('s3:x-amz-acl on PutObject: an Allow that requires a canned ACL, a Deny of public ones', async () => {
    const b = await mkBucket('cond-acl');
    await setPolicy(b, [
      { Sid: 'PartnerMustHandOver', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b), Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } },
      { Sid: 'NoPublicCannedAcls', Effect: 'Deny', Principal: '*', Action: ['s3:PutObject', 's3:PutObjectAcl'], Resource: objects(b), Condition: { StringLike: { 's3:x-amz-acl': 'public*' } } },
    ]);
    await ok(send(alice, 'PUT', `/${b}/handed-over.txt`, { body: 'x', headers: { 'x-amz-acl': 'bucket-owner-full-control' } }));
    await denied(send(alice, 'PUT', `/${b}/no-acl.txt`, { body: 'x' }));
    await denied(send(alice, 'PUT', `/${b}/private.txt`, { body: 'x', headers: { 'x-amz-acl': 'private' } }));
    await denied(admin('PUT', `/${b}/public.txt`, { body: 'x', headers: { 'x-amz-acl': 'public-read' } }));
    await ok(admin('PUT', `/${b}/owner.txt`, { body: 'x', headers: { 'x-amz-acl': 'private' } }));
    await denied(admin('PUT', `/${b}/owner.txt?acl`, { headers: { 'x-amz-acl': 'public-read-write' } }));
    for (const k of ['no-acl.txt', 'private.txt', 'public.txt']) expect(await bodyOf(b, k)).toBe(404);
    expect(grantsOf((await ok(admin('GET', `/${b}/owner.txt?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`]);
    // The handed-over object: the writer owns it, the bucket owner has full control.
    expect(grantsOf((await ok(admin('GET', `/${b}/handed-over.txt?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`, `CanonicalUser:${partner}:FULL_CONTROL`]);
  });

  it('s3:ExistingObjectTag on GetObject follows the stored tags', async () => {
    const b = await mkBucket('cond-existing-tag');
    await put(b, 'open.txt', 'open', { 'x-amz-tagging': 'classification=public' });
    await put(b, 'closed.txt', 'closed', { 'x-amz-tagging': 'classification=secret' });
    await put(b, 'untagged.txt', 'untagged');
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b), Condition: { StringEquals: { 's3:ExistingObjectTag/classification': 'public' } } },
    ]);
    expect((await ok(send(alice, 'GET', `/${b}/open.txt`))).text).toBe('open');
    await denied(send(alice, 'GET', `/${b}/closed.txt`));
    await denied(send(alice, 'GET', `/${b}/untagged.txt`));
    // Re-tagging by the owner changes the answer at once.
    const tagging = '<Tagging><TagSet><Tag><Key>classification</Key><Value>public</Value></Tag></TagSet></Tagging>';
    await ok(admin('PUT', `/${b}/closed.txt?tagging`, { body: tagging }));
    expect((await ok(send(alice, 'GET', `/${b}/closed.txt`))).text).toBe('closed');
  });

  it('s3:RequestObjectTag on PutObject with x-amz-tagging', async () => {
    const b = await mkBucket('cond-request-tag');
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b), Condition: { StringEquals: { 's3:RequestObjectTag/team': 'partner' } } },
    ]);
    await ok(send(alice, 'PUT', `/${b}/tagged.txt`, { body: 'x', headers: { 'x-amz-tagging': 'team=partner&env=dev' } }));
    await denied(send(alice, 'PUT', `/${b}/wrong.txt`, { body: 'x', headers: { 'x-amz-tagging': 'team=other' } }));
    await denied(send(alice, 'PUT', `/${b}/untagged.txt`, { body: 'x' }));
    expect(await bodyOf(b, 'tagged.txt')).toBe('x');
    expect(await bodyOf(b, 'wrong.txt')).toBe(404);
    expect(await bodyOf(b, 'untagged.txt')).toBe(404);
  });

  it('s3:RequestObjectTag on PutObjectTagging (the seed’s condition table)', async () => {
    const b = await mkBucket('cond-request-tag-put-tagging');
    await put(b, 'obj.txt', 'x', { 'x-amz-tagging': 'team=owner' });
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObjectTagging', Resource: objects(b), Condition: { StringEquals: { 's3:RequestObjectTag/team': 'partner' } } },
    ]);
    const tagging = (v: string) => `<Tagging><TagSet><Tag><Key>team</Key><Value>${v}</Value></Tag></TagSet></Tagging>`;
    await denied(send(alice, 'PUT', `/${b}/obj.txt?tagging`, { body: tagging('other') }));
    expect((await ok(admin('GET', `/${b}/obj.txt?tagging`))).text).toContain('<Value>owner</Value>');
    await ok(send(alice, 'PUT', `/${b}/obj.txt?tagging`, { body: tagging('partner') }));
    expect((await ok(admin('GET', `/${b}/obj.txt?tagging`))).text).toContain('<Value>partner</Value>');
  });

  it('a Deny requiring a tag on PutObjectTagging (Null s3:RequestObjectTag/<k>) lets compliant requests through', async () => {
    const b = await mkBucket('cond-request-tag-required');
    await put(b, 'obj.txt', 'x', { 'x-amz-tagging': 'team=owner' });
    await setPolicy(b, [
      { Sid: 'TeamTagRequired', Effect: 'Deny', Principal: '*', Action: 's3:PutObjectTagging', Resource: objects(b), Condition: { Null: { 's3:RequestObjectTag/team': 'true' } } },
    ]);
    const tagging = (k: string, v: string) => `<Tagging><TagSet><Tag><Key>${k}</Key><Value>${v}</Value></Tag></TagSet></Tagging>`;
    await denied(admin('PUT', `/${b}/obj.txt?tagging`, { body: tagging('colour', 'blue') }));
    expect((await ok(admin('GET', `/${b}/obj.txt?tagging`))).text).toContain('<Value>owner</Value>');
    await ok(admin('PUT', `/${b}/obj.txt?tagging`, { body: tagging('team', 'storage') }));
    expect((await ok(admin('GET', `/${b}/obj.txt?tagging`))).text).toContain('<Value>storage</Value>');
  });

  it('s3:x-amz-copy-source on CopyObject', async () => {
    const b = await mkBucket('cond-copy-source');
    await put(b, 'public/a b.txt', 'public bytes');
    await put(b, 'private/c.txt', 'private bytes');
    await setPolicy(b, [
      { Sid: 'ReadAll', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b) },
      { Sid: 'CopyFromPublicOnly', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b), Condition: { StringLike: { 's3:x-amz-copy-source': `${b}/public/*` } } },
    ]);
    await ok(send(alice, 'PUT', `/${b}/copies/one.txt`, { headers: { 'x-amz-copy-source': `/${b}/public/a%20b.txt` } }));
    expect(await bodyOf(b, 'copies/one.txt')).toBe('public bytes');
    await ok(send(alice, 'PUT', `/${b}/copies/two.txt`, { headers: { 'x-amz-copy-source': `${b}/public/a%20b.txt` } })); // without the leading slash
    await denied(send(alice, 'PUT', `/${b}/copies/three.txt`, { headers: { 'x-amz-copy-source': `/${b}/private/c.txt` } }));
    await denied(send(alice, 'PUT', `/${b}/copies/four.txt`, { body: 'plain put' }));
    expect(await bodyOf(b, 'copies/three.txt')).toBe(404);
    expect(await bodyOf(b, 'copies/four.txt')).toBe(404);
  });

  it('s3:x-amz-metadata-directive on CopyObject', async () => {
    const b = await mkBucket('cond-metadata-directive');
    await put(b, 'src.txt', 'source', { 'x-amz-meta-colour': 'blue' });
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b) },
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b), Condition: { StringEquals: { 's3:x-amz-metadata-directive': 'COPY' } } },
    ]);
    const src = { 'x-amz-copy-source': `/${b}/src.txt` };
    await ok(send(alice, 'PUT', `/${b}/kept-meta.txt`, { headers: { ...src, 'x-amz-metadata-directive': 'COPY' } }));
    const head = await ok(admin('HEAD', `/${b}/kept-meta.txt`));
    expect(head.headers['x-amz-meta-colour']).toBe('blue');
    await denied(send(alice, 'PUT', `/${b}/new-meta.txt`, { headers: { ...src, 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-colour': 'red' } }));
    expect(await bodyOf(b, 'new-meta.txt')).toBe(404);
  });

  it('NotPrincipal in a Deny: everyone but the named user is refused, the owner included', async () => {
    const b = await mkBucket('not-principal');
    await put(b, 'doc.txt', 'alice only');
    const text = policyDoc([
      { Sid: 'PartnerRead', Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b) },
      { Sid: 'OnlyAlice', Effect: 'Deny', NotPrincipal: { AWS: `arn:aws:iam::${partner}:user/alice` }, Action: 's3:GetObject', Resource: objects(b) },
    ]);
    await ok(admin('PUT', `/${b}?policy`, { body: text }), 204);
    expect((await ok(send(alice, 'GET', `/${b}/doc.txt`))).text).toBe('alice only');
    await denied(send(bob, 'GET', `/${b}/doc.txt`));
    await denied(admin('GET', `/${b}/doc.txt`));
    await denied(send('anonymous', 'GET', `/${b}/doc.txt`));
    // The Deny names only GetObject: the owner still lists and writes.
    await ok(admin('GET', `/${b}?list-type=2`));
    await ok(admin('PUT', `/${b}/more.txt`, { body: 'x' }));
    expect((await ok(admin('GET', `/${b}?policy`))).text).toBe(text);
  });

  it('NotAction in an Allow: every action except those named', async () => {
    const b = await mkBucket('not-action');
    await put(b, 'doc.txt', 'partner may not delete', { 'x-amz-tagging': 'a=1' });
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, NotAction: ['s3:DeleteObject', 's3:PutObjectAcl'], Resource: objects(b) }]);
    await ok(send(alice, 'GET', `/${b}/doc.txt`));
    await ok(send(alice, 'GET', `/${b}/doc.txt?tagging`));
    await ok(send(alice, 'PUT', `/${b}/partner.txt`, { body: 'written by partner' }));
    await denied(send(alice, 'DELETE', `/${b}/doc.txt`));
    await denied(send(alice, 'PUT', `/${b}/doc.txt?acl`, { headers: { 'x-amz-acl': 'public-read' } }));
    // Only object resources are named: bucket actions stay refused.
    await denied(send(alice, 'GET', `/${b}?list-type=2`));
    expect(await bodyOf(b, 'doc.txt')).toBe('partner may not delete');
    expect(await bodyOf(b, 'partner.txt')).toBe('written by partner');
  });

  it('NotResource in a Deny: everything but the named prefix is refused', async () => {
    const b = await mkBucket('not-resource');
    await put(b, 'public/p.txt', 'p');
    await put(b, 'secret/s.txt', 's');
    await setPolicy(b, [
      { Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(b) },
      { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: objects(b, 'public/*') },
    ]);
    await ok(admin('GET', `/${b}/public/p.txt`));
    await denied(admin('GET', `/${b}/secret/s.txt`));
    await ok(send(alice, 'GET', `/${b}/public/p.txt`));
    await denied(send(alice, 'GET', `/${b}/secret/s.txt`));
  });
});

describe('CopyObject reads its source under the SOURCE bucket’s rules', () => {
  it('a Deny of GetObject in the source bucket stops a copy into a bucket without policy', async () => {
    const src = await mkBucket('copy-src');
    const dst = await mkBucket('copy-dst');
    await put(src, 'secret/s.txt', 'secret');
    await put(src, 'open/o.txt', 'open');
    await setPolicy(src, [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: objects(src, 'secret/*') }]);
    await denied(admin('PUT', `/${dst}/s.txt`, { headers: { 'x-amz-copy-source': `/${src}/secret/s.txt` } }));
    expect(await bodyOf(dst, 's.txt')).toBe(404);
    await ok(admin('PUT', `/${dst}/o.txt`, { headers: { 'x-amz-copy-source': `/${src}/open/o.txt` } }));
    expect(await bodyOf(dst, 'o.txt')).toBe('open');
    // UploadPartCopy is checked the same way.
    const init = await ok(admin('POST', `/${dst}/mpu.bin?uploads`));
    const uploadId = encodeURIComponent(/<UploadId>([^<]+)/.exec(init.text)![1]);
    await denied(admin('PUT', `/${dst}/mpu.bin?partNumber=1&uploadId=${uploadId}`, { headers: { 'x-amz-copy-source': `/${src}/secret/s.txt` } }));
    await ok(admin('PUT', `/${dst}/mpu.bin?partNumber=1&uploadId=${uploadId}`, { headers: { 'x-amz-copy-source': `/${src}/open/o.txt` } }));
  });

  it('a Deny of GetObject in the destination bucket does not concern the source', async () => {
    const src = await mkBucket('copy-src2');
    const dst = await mkBucket('copy-dst2');
    await put(src, 'o.txt', 'open');
    await setPolicy(dst, [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: objects(dst) }]);
    await ok(admin('PUT', `/${dst}/o.txt`, { headers: { 'x-amz-copy-source': `/${src}/o.txt` } }));
    await denied(admin('GET', `/${dst}/o.txt`)); // the copy exists, the destination's policy hides it
  });

  it('another organisation copies out only with the source bucket’s permission', async () => {
    const src = await mkBucket('copy-src3');
    await put(src, 'open/o.txt', 'shared by policy');
    await ok(send(alice, 'PUT', '/partner-own-bucket'));
    const copy = () => send(alice, 'PUT', '/partner-own-bucket/copied.txt', { headers: { 'x-amz-copy-source': `/${src}/open/o.txt` } });
    await denied(copy());
    expect((await send(alice, 'GET', '/partner-own-bucket/copied.txt')).status).toBe(404);
    await setPolicy(src, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:GetObject', Resource: objects(src, 'open/*') }]);
    await ok(copy());
    expect((await ok(send(alice, 'GET', '/partner-own-bucket/copied.txt'))).text).toBe('shared by policy');
    // The owner of the source bucket cannot copy into partner's bucket (no write there).
    await denied(admin('PUT', '/partner-own-bucket/from-owner.txt', { headers: { 'x-amz-copy-source': `/${src}/open/o.txt` } }));
  });
});

describe('PutBucketPolicy validation over HTTP', () => {
  const bigPolicy = (bucket: string, statements: number) =>
    policyDoc(
      Array.from({ length: statements }, (_, i) => ({
        Sid: `Statement${String(i).padStart(5, '0')}`,
        Effect: 'Allow',
        Principal: { AWS: root(partner) },
        Action: 's3:GetObject',
        Resource: objects(bucket, `prefix-number-${i}/*`),
      })),
    );

  /** [what, body, code, AWS message (when AWS has a fixed one)] */
  const cases: [string, (bucket: string) => string, string, string?][] = [
    ['an empty body', () => '', 'MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'"],
    ['not JSON at all', () => 'this is not a policy', 'MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'"],
    ['a JSON array', () => '[]', 'MalformedPolicy'],
    ['truncated JSON', (b) => policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b) }]).slice(0, -3), 'MalformedPolicy'],
    ['an unknown action', (b) => policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:LaunchRocket', Resource: objects(b) }]), 'MalformedPolicy', 'Policy has invalid action'],
    ['a resource in another bucket', () => policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects('some-other-bucket') }]), 'MalformedPolicy', 'Policy has invalid resource'],
    ['a resource that is not an S3 ARN', () => policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:sqs:::queue' }]), 'MalformedPolicy', 'Policy has invalid resource'],
    ['a CanonicalUser principal', (b) => policyDoc([{ Effect: 'Allow', Principal: { CanonicalUser: 'abc123' }, Action: 's3:GetObject', Resource: objects(b) }]), 'MalformedPolicy', 'Invalid principal in policy'],
    ['a role principal', (b) => policyDoc([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${partner}:role/admin` }, Action: 's3:GetObject', Resource: objects(b) }]), 'MalformedPolicy', 'Invalid principal in policy'],
    ['a bare-string principal other than *', (b) => policyDoc([{ Effect: 'Allow', Principal: partner, Action: 's3:GetObject', Resource: objects(b) }]), 'MalformedPolicy', 'Invalid principal in policy'],
    ['a missing Principal', (b) => policyDoc([{ Effect: 'Allow', Action: 's3:GetObject', Resource: objects(b) }]), 'MalformedPolicy', 'Missing required field Principal'],
    ['a bad Effect', (b) => policyDoc([{ Effect: 'Permit', Principal: '*', Action: 's3:GetObject', Resource: objects(b) }]), 'MalformedPolicy'],
    ['an unsupported Version', (b) => JSON.stringify({ Version: '2020-01-01', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b) }] }), 'MalformedPolicy'],
    ['an unknown condition operator', (b) => policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b), Condition: { StringSortOf: { 'aws:Referer': 'x' } } }]), 'MalformedPolicy'],
    ['more than 20 KB', (b) => bigPolicy(b, 200), 'PolicyTooLarge'],
    ['far more than 20 KB (beyond the body limit)', (b) => bigPolicy(b, 800), 'PolicyTooLarge'],
  ];

  for (const [what, make, code, message] of cases) {
    it(`${what} → 400 ${code}, nothing stored, an existing policy kept`, async () => {
      const b = await mkBucket(`bad-policy-${cases.findIndex((c) => c[0] === what)}`);
      const text = make(b);
      if (code === 'PolicyTooLarge') expect(Buffer.byteLength(text)).toBeGreaterThan(20 * 1024);
      const res = await admin('PUT', `/${b}?policy`, { body: text });
      expect(res.status, res.text).toBe(400);
      expect(errorCode(res.text)).toBe(code);
      if (message !== undefined) expect(/<Message>([^<]*)<\/Message>/.exec(res.text)?.[1]?.replace(/&apos;/g, "'")).toBe(message);
      const after = await admin('GET', `/${b}?policy`);
      expect(after.status).toBe(404);
      expect(errorCode(after.text)).toBe('NoSuchBucketPolicy');
      // With a policy in place, a bad replacement leaves it as it was.
      const good = policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(b) }]);
      await ok(admin('PUT', `/${b}?policy`, { body: good }), 204);
      const again = await admin('PUT', `/${b}?policy`, { body: text });
      expect(again.status).toBe(400);
      expect(errorCode(again.text)).toBe(code);
      expect((await ok(admin('GET', `/${b}?policy`))).text).toBe(good);
    });
  }

  it('a policy just under 20 KB is accepted', async () => {
    const b = await mkBucket('policy-near-limit');
    let n = 1;
    while (Buffer.byteLength(bigPolicy(b, n + 1)) <= 20_000) n++;
    await ok(admin('PUT', `/${b}?policy`, { body: bigPolicy(b, n) }), 204);
  });

  it('GetBucketPolicy returns the exact stored text; DeleteBucketPolicy is 204 and idempotent', async () => {
    const b = await mkBucket('policy-roundtrip');
    const text = `{\n  "Id": "kept as sent — ünïcödé",\r\n\t"Version":"2012-10-17",   "Statement": {"Sid":"One","Effect":"Allow","Principal":{"AWS":["${root(partner)}"]},\n"Action":["s3:GetObject"],"Resource":"${objects(b)}"}\n}\n`;
    await ok(admin('PUT', `/${b}?policy`, { body: text }), 204);
    const got = await ok(admin('GET', `/${b}?policy`));
    expect(got.text).toBe(text);
    // The single-statement form works, too.
    await put(b, 'x.txt', 'x');
    await ok(send(bob, 'GET', `/${b}/x.txt`));
    await ok(admin('DELETE', `/${b}?policy`), 204);
    await ok(admin('DELETE', `/${b}?policy`), 204);
    const after = await admin('GET', `/${b}?policy`);
    expect(after.status).toBe(404);
    expect(errorCode(after.text)).toBe('NoSuchBucketPolicy');
    await denied(send(bob, 'GET', `/${b}/x.txt`));
  });

  it('policy operations on a missing bucket answer NoSuchBucket', async () => {
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const res = await admin(method, '/no-such-policy-bucket?policy', method === 'PUT' ? { body: policyDoc([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects('no-such-policy-bucket') }]) } : {});
      expect(res.status).toBe(404);
      expect(errorCode(res.text)).toBe('NoSuchBucket');
    }
  });
});

describe('ACLs', () => {
  const canned = ['private', 'public-read', 'public-read-write', 'authenticated-read', 'bucket-owner-read', 'bucket-owner-full-control'] as const;
  /** Grants a canned ACL gives when the writer's organisation owns the bucket. */
  const expected: Record<(typeof canned)[number], string[]> = {
    private: [],
    'public-read': ['Group:AllUsers:READ'],
    'public-read-write': ['Group:AllUsers:READ', 'Group:AllUsers:WRITE'],
    'authenticated-read': ['Group:AuthenticatedUsers:READ'],
    'bucket-owner-read': [],
    'bucket-owner-full-control': [],
  };
  const withOwner = (extra: string[]) => [`CanonicalUser:${owner}:FULL_CONTROL`, ...extra].sort();

  it('canned ACLs on CreateBucket are reflected in GetBucketAcl', async () => {
    for (const name of canned) {
      const b = await mkBucket(`canned-bucket-${name}`, { 'x-amz-acl': name });
      const xml = (await ok(admin('GET', `/${b}?acl`))).text;
      expect(xml).toContain('<AccessControlPolicy');
      expect(ownerOf(xml)).toBe(owner);
      expect(grantsOf(xml), name).toEqual(withOwner(expected[name]));
    }
    // No header: private.
    const plain = await mkBucket('canned-bucket-none');
    expect(grantsOf((await ok(admin('GET', `/${plain}?acl`))).text)).toEqual(withOwner([]));
  });

  it('canned ACLs on PutObject, CopyObject and CreateMultipartUpload are reflected in GetObjectAcl', async () => {
    const b = await mkBucket('canned-objects');
    await put(b, 'source.txt', 'source', { 'x-amz-acl': 'public-read' });
    for (const name of canned) {
      await put(b, `put-${name}`, 'x', { 'x-amz-acl': name });
      await ok(admin('PUT', `/${b}/copy-${name}`, { headers: { 'x-amz-copy-source': `/${b}/source.txt`, 'x-amz-acl': name } }));
      const init = await ok(admin('POST', `/${b}/mpu-${name}?uploads`, { headers: { 'x-amz-acl': name } }));
      const uploadId = encodeURIComponent(/<UploadId>([^<]+)/.exec(init.text)![1]);
      const part = await ok(admin('PUT', `/${b}/mpu-${name}?partNumber=1&uploadId=${uploadId}`, { body: 'part' }));
      await ok(admin('POST', `/${b}/mpu-${name}?uploadId=${uploadId}`, {
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag}</ETag></Part></CompleteMultipartUpload>`,
      }));
      for (const how of ['put', 'copy', 'mpu']) {
        const xml = (await ok(admin('GET', `/${b}/${how}-${name}?acl`))).text;
        expect(ownerOf(xml)).toBe(owner);
        expect(grantsOf(xml), `${how} ${name}`).toEqual(withOwner(expected[name]));
      }
    }
    // A copy does not carry the source's ACL over: without x-amz-acl it is private.
    await ok(admin('PUT', `/${b}/copy-default`, { headers: { 'x-amz-copy-source': `/${b}/source.txt` } }));
    expect(grantsOf((await ok(admin('GET', `/${b}/copy-default?acl`))).text)).toEqual(withOwner([]));
    await ok(send('anonymous', 'GET', `/${b}/put-public-read`));
    await ok(send('anonymous', 'GET', `/${b}/copy-public-read`));
    await ok(send('anonymous', 'GET', `/${b}/mpu-public-read`));
    await denied(send('anonymous', 'GET', `/${b}/copy-default`));
  });

  it('bucket-owner-* canned ACLs written by another organisation grant the bucket owner', async () => {
    const b = await mkBucket('canned-cross-org');
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b) }]);
    await ok(send(alice, 'PUT', `/${b}/bor.txt`, { body: 'x', headers: { 'x-amz-acl': 'bucket-owner-read' } }));
    await ok(send(alice, 'PUT', `/${b}/bofc.txt`, { body: 'x', headers: { 'x-amz-acl': 'bucket-owner-full-control' } }));
    // READ is not READ_ACP: the bucket owner may not read that ACL; its writer may.
    await denied(admin('GET', `/${b}/bor.txt?acl`));
    const bor = (await ok(send(alice, 'GET', `/${b}/bor.txt?acl`))).text;
    expect(ownerOf(bor)).toBe(partner);
    expect(grantsOf(bor)).toEqual([`CanonicalUser:${owner}:READ`, `CanonicalUser:${partner}:FULL_CONTROL`]);
    const bofc = (await ok(admin('GET', `/${b}/bofc.txt?acl`))).text;
    expect(grantsOf(bofc)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`, `CanonicalUser:${partner}:FULL_CONTROL`]);
  });

  it('the ACL of an object another organisation wrote is the writer’s: the bucket owner needs a grant in it', async () => {
    // s3-tests test_bucket_policy_put_obj_grant: AWS (ObjectWriter ownership) and Ceph alike.
    const b = await mkBucket('foreign-object-acl');
    await setPolicy(b, [{ Effect: 'Allow', Principal: { AWS: root(partner) }, Action: 's3:PutObject', Resource: objects(b) }]);
    await ok(send(alice, 'PUT', `/${b}/granted.txt`, { body: 'x', headers: { 'x-amz-grant-full-control': `id="${owner}"` } }));
    await ok(send(alice, 'PUT', `/${b}/kept.txt`, { body: 'kept' }));
    const granted = (await ok(admin('GET', `/${b}/granted.txt?acl`))).text;
    expect(ownerOf(granted)).toBe(partner);
    expect(grantsOf(granted)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`]);
    await denied(admin('GET', `/${b}/kept.txt?acl`));
    await denied(admin('PUT', `/${b}/kept.txt?acl`, { headers: { 'x-amz-acl': 'public-read' } }));
    const kept = (await ok(send(alice, 'GET', `/${b}/kept.txt?acl`))).text;
    expect(ownerOf(kept)).toBe(partner);
    expect(grantsOf(kept)).toEqual([`CanonicalUser:${partner}:FULL_CONTROL`]);
    // The bucket's own objects are unaffected.
    await put(b, 'own.txt', 'own');
    expect(grantsOf((await ok(admin('GET', `/${b}/own.txt?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`]);
  });

  it('x-amz-grant-* headers set explicit grants, and the grants authorize', async () => {
    const b = await mkBucket('grant-headers', { 'x-amz-grant-read': `id="${partner}"`, 'x-amz-grant-full-control': `id="${owner}"` });
    expect(grantsOf((await ok(admin('GET', `/${b}?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`, `CanonicalUser:${partner}:READ`]);
    await put(b, 'shared.txt', 'shared by grant', { 'x-amz-grant-read': `id="${partner}", uri="${authUsers}"`, 'x-amz-grant-full-control': `id="${owner}"` });
    expect(grantsOf((await ok(admin('GET', `/${b}/shared.txt?acl`))).text)).toEqual(
      [`CanonicalUser:${owner}:FULL_CONTROL`, `CanonicalUser:${partner}:READ`, 'Group:AuthenticatedUsers:READ'].sort(),
    );
    // Bucket READ: partner lists. Object READ: partner reads, but neither its ACL nor a write.
    await ok(send(alice, 'GET', `/${b}?list-type=2`));
    expect((await ok(send(alice, 'GET', `/${b}/shared.txt`))).text).toBe('shared by grant');
    await denied(send(alice, 'GET', `/${b}/shared.txt?acl`));
    await denied(send(alice, 'PUT', `/${b}/shared.txt`, { body: 'no' }));
    await ok(send(carol, 'GET', `/${b}/shared.txt`)); // AuthenticatedUsers READ
    await denied(send('anonymous', 'GET', `/${b}/shared.txt`));
    // READ_ACP / WRITE grants.
    await put(b, 'acp.txt', 'x', { 'x-amz-grant-read-acp': `id="${partner}"`, 'x-amz-grant-full-control': `id="${owner}"` });
    await ok(send(alice, 'GET', `/${b}/acp.txt?acl`));
    await denied(send(alice, 'GET', `/${b}/acp.txt`));
    const w = await mkBucket('grant-write', { 'x-amz-grant-write': `id="${partner}"` });
    await ok(send(alice, 'PUT', `/${w}/dropped.txt`, { body: 'dropped by partner' }));
    await denied(send(alice, 'GET', `/${w}?list-type=2`));
    // Canned and explicit together are refused.
    const both = await admin('PUT', `/${b}/both.txt`, { body: 'x', headers: { 'x-amz-acl': 'private', 'x-amz-grant-read': `id="${partner}"` } });
    expect(both.status).toBe(400);
    expect(errorCode(both.text)).toBe('InvalidRequest');
    const bad = await admin('PUT', `/${b}/bad.txt`, { body: 'x', headers: { 'x-amz-acl': 'world-writable' } });
    expect(bad.status).toBe(400);
    expect(errorCode(bad.text)).toBe('InvalidArgument');
    expect(await bodyOf(b, 'both.txt')).toBe(404);
    expect(await bodyOf(b, 'bad.txt')).toBe(404);
  });

  it('PutBucketAcl and PutObjectAcl with an AccessControlPolicy document', async () => {
    const b = await mkBucket('acl-documents');
    await put(b, 'obj.txt', 'object bytes');
    const doc = (grants: string) =>
      `<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>${owner}</ID><DisplayName>${owner}</DisplayName></Owner>
  <AccessControlList>${grants}</AccessControlList>
</AccessControlPolicy>`;
    const grant = (grantee: string, permission: string) =>
      `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ${grantee}</Grantee><Permission>${permission}</Permission></Grant>`;
    const user = (id: string) => `xsi:type="CanonicalUser"><ID>${id}</ID>`;
    const group = (uri: string) => `xsi:type="Group"><URI>${uri}</URI>`;

    const bucketDoc = doc(grant(user(owner), 'FULL_CONTROL') + grant(group(allUsers), 'READ') + grant(user(partner), 'WRITE'));
    await ok(admin('PUT', `/${b}?acl`, { body: bucketDoc }));
    expect(grantsOf((await ok(admin('GET', `/${b}?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`, `CanonicalUser:${partner}:WRITE`, 'Group:AllUsers:READ']);
    await ok(send('anonymous', 'GET', `/${b}?list-type=2`));
    await ok(send(alice, 'PUT', `/${b}/from-partner.txt`, { body: 'x' }));
    await denied(send('anonymous', 'PUT', `/${b}/from-anon.txt`, { body: 'x' }));

    const objectDoc = doc(grant(user(owner), 'FULL_CONTROL') + grant(group(authUsers), 'READ') + grant(user(third), 'READ_ACP'));
    await ok(admin('PUT', `/${b}/obj.txt?acl`, { body: objectDoc }));
    expect(grantsOf((await ok(admin('GET', `/${b}/obj.txt?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`, `CanonicalUser:${third}:READ_ACP`, 'Group:AuthenticatedUsers:READ']);
    expect((await ok(send(alice, 'GET', `/${b}/obj.txt`))).text).toBe('object bytes');
    await ok(send(carol, 'GET', `/${b}/obj.txt?acl`));
    await denied(send(alice, 'GET', `/${b}/obj.txt?acl`));
    await denied(send('anonymous', 'GET', `/${b}/obj.txt`));

    // GetBucketAcl's own output is a valid PutBucketAcl body.
    const current = (await ok(admin('GET', `/${b}?acl`))).text;
    await ok(admin('PUT', `/${b}?acl`, { body: current }));
    expect(grantsOf((await ok(admin('GET', `/${b}?acl`))).text)).toEqual(grantsOf(current));

    // Headers work on the ACL sub-resource too.
    await ok(admin('PUT', `/${b}/obj.txt?acl`, { headers: { 'x-amz-acl': 'private' } }));
    expect(grantsOf((await ok(admin('GET', `/${b}/obj.txt?acl`))).text)).toEqual([`CanonicalUser:${owner}:FULL_CONTROL`]);
    await denied(send(alice, 'GET', `/${b}/obj.txt`));
  });

  it('malformed ACL documents → 400 MalformedACLError, the ACL unchanged', async () => {
    const b = await mkBucket('acl-malformed', { 'x-amz-acl': 'public-read' });
    await put(b, 'obj.txt', 'x', { 'x-amz-acl': 'authenticated-read' });
    const before = grantsOf((await ok(admin('GET', `/${b}?acl`))).text);
    const beforeObj = grantsOf((await ok(admin('GET', `/${b}/obj.txt?acl`))).text);
    const bodies = [
      '<AccessControlPolicy><AccessControlList><Grant>',
      'not xml at all',
      '<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>default</ID></Grantee><Permission>EVERYTHING</Permission></Grant></AccessControlList></AccessControlPolicy>',
      '<AccessControlPolicy><AccessControlList><Grant><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>',
      '<SomethingElse/>',
    ];
    for (const body of bodies) {
      for (const path of [`/${b}?acl`, `/${b}/obj.txt?acl`]) {
        const res = await admin('PUT', path, { body });
        expect(res.status, `${path} ${body}`).toBe(400);
        expect(errorCode(res.text), body).toBe('MalformedACLError');
      }
    }
    expect(grantsOf((await ok(admin('GET', `/${b}?acl`))).text)).toEqual(before);
    expect(grantsOf((await ok(admin('GET', `/${b}/obj.txt?acl`))).text)).toEqual(beforeObj);
    expect(before).toContain('Group:AllUsers:READ');
  });

  it('authenticated-read lets another organisation’s key read, not anonymous callers', async () => {
    const b = await mkBucket('acl-authenticated', { 'x-amz-acl': 'authenticated-read' });
    await put(b, 'obj.txt', 'for any signed caller', { 'x-amz-acl': 'authenticated-read' });
    expect((await ok(send(carol, 'GET', `/${b}/obj.txt`))).text).toBe('for any signed caller');
    await ok(send(partnerReader, 'GET', `/${b}?list-type=2`));
    await denied(send('anonymous', 'GET', `/${b}/obj.txt`));
    await denied(send('anonymous', 'GET', `/${b}?list-type=2`));
    await denied(send(carol, 'PUT', `/${b}/obj.txt`, { body: 'no' }));
  });

  it('a public-read-write bucket lets anonymous callers PUT and DELETE', async () => {
    const b = await mkBucket('acl-public-rw', { 'x-amz-acl': 'public-read-write' });
    await ok(send('anonymous', 'PUT', `/${b}/anon.txt`, { body: 'anonymous' }));
    expect(await bodyOf(b, 'anon.txt')).toBe('anonymous');
    await ok(send(carol, 'PUT', `/${b}/carol.txt`, { body: 'carol' }));
    await ok(send('anonymous', 'DELETE', `/${b}/carol.txt`), 204);
    expect(await bodyOf(b, 'carol.txt')).toBe(404);
    // Bucket WRITE does not give READ_ACP/WRITE_ACP.
    await denied(send('anonymous', 'GET', `/${b}?acl`));
    await denied(send('anonymous', 'PUT', `/${b}?acl`, { headers: { 'x-amz-acl': 'private' } }));
  });

  it('a bucket policy Deny beats an ACL grant', async () => {
    const b = await mkBucket('acl-vs-deny', { 'x-amz-acl': 'public-read' });
    await put(b, 'obj.txt', 'x', { 'x-amz-acl': 'public-read' });
    await setPolicy(b, [{ Effect: 'Deny', Principal: '*', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [bucketArn(b), objects(b)] }]);
    await denied(send('anonymous', 'GET', `/${b}/obj.txt`));
    await denied(send('anonymous', 'GET', `/${b}?list-type=2`));
  });
});
