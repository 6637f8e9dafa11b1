// Block Public Access over real HTTP: Put/Get/DeletePublicAccessBlock and their validation, the
// effect of each setting (and of its absence) — BlockPublicAcls on every request that can set an
// ACL, IgnorePublicAcls on authorization, BlockPublicPolicy on PutBucketPolicy,
// RestrictPublicBuckets on access granted by a public policy — and GetBucketPolicyStatus with
// AWS's meaning of a public policy (src/policy/public.ts). Refused requests change nothing.
import {
  DeletePublicAccessBlockCommand,
  GetBucketPolicyStatusCommand,
  GetPublicAccessBlockCommand,
  PutPublicAccessBlockCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLevel } from '../../src/identity/identity-store.ts';
import { errorCode, type RawResponse, expectStatus, expectRefused } from '../helpers/raw.ts';
import { addTestKey, sendAs, type Creds, type SendOptions, type Who } from '../helpers/principals.ts';
import { sdkError, startTestServer, type TestServer } from '../helpers/server.ts';


let server: TestServer;
let s3: S3Client;
const partner = 'partner';
let alice: Creds; // partner, full
let ownerReadWrite: Creds; // default (the owner), readwrite

const allUsers = 'http://acs.amazonaws.com/groups/global/AllUsers';
const authUsers = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
const ns = 'http://s3.amazonaws.com/doc/2006-03-01/';

const addKey = (org: string, user: string, level: AccessLevel): Promise<Creds> => addTestKey(server, org, user, level);

const send = (who: Who, method: string, path: string, opts: SendOptions = {}): Promise<RawResponse> => sendAs(server, who, method, path, opts);
const admin = (method: string, path: string, opts: SendOptions = {}) => send('admin', method, path, opts);

const ok = expectStatus;
const refused = expectRefused;

async function mkBucket(name: string, headers: Record<string, string> = {}): Promise<string> {
  await ok(admin('PUT', `/${name}`, { headers }));
  return name;
}

interface Pab {
  BlockPublicAcls?: boolean;
  IgnorePublicAcls?: boolean;
  BlockPublicPolicy?: boolean;
  RestrictPublicBuckets?: boolean;
}
function pabXml(pab: Pab): string {
  const fields = Object.entries(pab).map(([k, v]) => `<${k}>${v}</${k}>`).join('');
  return `<PublicAccessBlockConfiguration xmlns="${ns}">${fields}</PublicAccessBlockConfiguration>`;
}
async function setPab(bucket: string, pab: Pab): Promise<void> {
  await ok(admin('PUT', `/${bucket}?publicAccessBlock`, { body: pabXml(pab) }));
}
async function getPab(bucket: string): Promise<Pab | number> {
  const res = await admin('GET', `/${bucket}?publicAccessBlock`);
  if (res.status !== 200) return res.status;
  const flag = (name: string) => new RegExp(`<${name}>true</${name}>`).test(res.text);
  return { BlockPublicAcls: flag('BlockPublicAcls'), IgnorePublicAcls: flag('IgnorePublicAcls'), BlockPublicPolicy: flag('BlockPublicPolicy'), RestrictPublicBuckets: flag('RestrictPublicBuckets') };
}

type Statement = Record<string, unknown>;
const policyDoc = (statements: Statement[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const objects = (bucket: string) => `arn:aws:s3:::${bucket}/*`;
const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const publicRead = (bucket: string): Statement => ({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: objects(bucket) });

/** Grants of an ACL document as `who:permission`, sorted. */
async function grantsOf(path: string): Promise<string[]> {
  const res = await ok(admin('GET', path));
  const grants: string[] = [];
  for (const m of res.text.matchAll(/<Grant>([\s\S]*?)<\/Grant>/g)) {
    const uri = /<URI>([^<]*)<\/URI>/.exec(m[1])?.[1];
    const id = /<ID>([^<]*)<\/ID>/.exec(m[1])?.[1];
    const who = uri === allUsers ? 'AllUsers' : uri === authUsers ? 'AuthenticatedUsers' : (uri ?? id);
    grants.push(`${who}:${/<Permission>([^<]*)<\/Permission>/.exec(m[1])?.[1]}`);
  }
  return grants.sort();
}

beforeAll(async () => {
  server = await startTestServer();
  s3 = server.client();
  alice = await addKey(partner, 'alice', 'full');
  ownerReadWrite = await addKey('default', 'rw', 'readwrite');
});
afterAll(async () => {
  await server.stop();
});

describe('Put/Get/DeletePublicAccessBlock', () => {
  it('a bucket starts without a configuration: 404 NoSuchPublicAccessBlockConfiguration', async () => {
    const b = await mkBucket('pab-none');
    const res = await refused(admin('GET', `/${b}?publicAccessBlock`), 'NoSuchPublicAccessBlockConfiguration', 404);
    expect(res.text).toContain(`<BucketName>${b}</BucketName>`);
    expect(res.text).toContain('The public access block configuration was not found');
    const err = await sdkError(s3.send(new GetPublicAccessBlockCommand({ Bucket: b })));
    expect(err.name).toBe('NoSuchPublicAccessBlockConfiguration');
    expect(err.$metadata.httpStatusCode).toBe(404);
    // Deleting a configuration that is not there succeeds (s3-tests' test_get_undefined_public_block).
    await ok(admin('DELETE', `/${b}?publicAccessBlock`), 204);
  });

  it('put, get and delete with the SDK round-trip every setting', async () => {
    const b = await mkBucket('pab-sdk');
    const conf = { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false };
    const put = await s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: conf }));
    expect(put.$metadata.httpStatusCode).toBe(200);
    const got = await s3.send(new GetPublicAccessBlockCommand({ Bucket: b }));
    expect(got.PublicAccessBlockConfiguration).toEqual(conf);
    const all = { BlockPublicAcls: false, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: true };
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: all }));
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: b }))).PublicAccessBlockConfiguration).toEqual(all);
    const del = await s3.send(new DeletePublicAccessBlockCommand({ Bucket: b }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    expect(await getPab(b)).toBe(404);
    // Stored in the bucket's config column, where a fresh read finds it.
    await setPab(b, { IgnorePublicAcls: true });
    expect((await server.services.regions.get('lga1')!.getBucket(b))!.config?.publicAccessBlock).toEqual({
      blockPublicAcls: false,
      ignorePublicAcls: true,
      blockPublicPolicy: false,
      restrictPublicBuckets: false,
    });
  });

  it('settings left out of the document are false; the XML answer names all four', async () => {
    const b = await mkBucket('pab-partial');
    await setPab(b, { BlockPublicPolicy: true });
    const res = await ok(admin('GET', `/${b}?publicAccessBlock`));
    expect(res.headers['content-type']).toBe('application/xml');
    expect(res.text).toContain(`<PublicAccessBlockConfiguration xmlns="${ns}">`);
    expect(res.text).toContain('<BlockPublicAcls>false</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>false</RestrictPublicBuckets>');
    await ok(admin('PUT', `/${b}?publicAccessBlock`, { body: `<PublicAccessBlockConfiguration xmlns="${ns}"/>` }));
    expect(await getPab(b)).toEqual({ BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false });
    // Booleans are case-insensitive and may carry white space.
    await ok(admin('PUT', `/${b}?publicAccessBlock`, { body: pabXml({ BlockPublicAcls: ' TRUE ' as unknown as boolean }) }));
    expect(await getPab(b)).toMatchObject({ BlockPublicAcls: true });
  });

  it('malformed documents are MalformedXML and change nothing', async () => {
    const b = await mkBucket('pab-malformed');
    await setPab(b, { BlockPublicAcls: true, RestrictPublicBuckets: true });
    const before = await getPab(b);
    const bodies = [
      'not xml at all',
      '',
      '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>', // unclosed
      `<WrongRoot xmlns="${ns}"><BlockPublicAcls>true</BlockPublicAcls></WrongRoot>`,
      pabXml({ BlockPublicAcls: 'yes' as unknown as boolean }),
      pabXml({ BlockPublicAcls: '' as unknown as boolean }),
      `<PublicAccessBlockConfiguration xmlns="${ns}"><BlockPublicAcls>true</BlockPublicAcls><Unknown>true</Unknown></PublicAccessBlockConfiguration>`,
      `<PublicAccessBlockConfiguration xmlns="${ns}"><BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>false</BlockPublicAcls></PublicAccessBlockConfiguration>`,
      `<PublicAccessBlockConfiguration xmlns="${ns}"><BlockPublicAcls><X>true</X></BlockPublicAcls></PublicAccessBlockConfiguration>`,
    ];
    for (const body of bodies) await refused(admin('PUT', `/${b}?publicAccessBlock`, { body }), 'MalformedXML', 400);
    expect(await getPab(b)).toEqual(before);
  });

  it('needs a full key of the owning organisation (Delete is authorized as s3:PutBucketPublicAccessBlock)', async () => {
    const b = await mkBucket('pab-authz');
    await setPab(b, { BlockPublicAcls: true });
    for (const who of [alice, ownerReadWrite, 'anonymous'] as Who[]) {
      await refused(send(who, 'GET', `/${b}?publicAccessBlock`));
      await refused(send(who, 'PUT', `/${b}?publicAccessBlock`, { body: pabXml({}) }));
      await refused(send(who, 'DELETE', `/${b}?publicAccessBlock`));
    }
    expect(await getPab(b)).toMatchObject({ BlockPublicAcls: true });
    await refused(send(alice, 'GET', '/no-such-bucket-pab?publicAccessBlock'), 'NoSuchBucket', 404);
    // A policy may delegate them: s3:PutBucketPublicAccessBlock covers Put and Delete, not Get.
    await ok(
      admin('PUT', `/${b}?policy`, {
        body: policyDoc([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${partner}:root` }, Action: 's3:PutBucketPublicAccessBlock', Resource: bucketArn(b) }]),
      }),
      204,
    );
    await ok(send(alice, 'PUT', `/${b}?publicAccessBlock`, { body: pabXml({ IgnorePublicAcls: true }) }));
    await refused(send(alice, 'GET', `/${b}?publicAccessBlock`));
    await ok(send(alice, 'DELETE', `/${b}?publicAccessBlock`), 204);
    expect(await getPab(b)).toBe(404);
  });

  it('an explicit Deny in the bucket policy refuses even the owner (s3:GetBucketPublicAccessBlock)', async () => {
    const b = await mkBucket('pab-deny');
    await setPab(b, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true });
    // A Deny for everyone is not a public policy: BlockPublicPolicy lets it through.
    await ok(admin('PUT', `/${b}?policy`, { body: policyDoc([{ Effect: 'Deny', Principal: '*', Action: 's3:GetBucketPublicAccessBlock', Resource: bucketArn(b) }]) }), 204);
    await refused(admin('GET', `/${b}?publicAccessBlock`));
    await ok(admin('PUT', `/${b}?publicAccessBlock`, { body: pabXml({ BlockPublicAcls: true }) }));
  });
});

describe('BlockPublicAcls', () => {
  it('refuses PutBucketAcl with a public canned ACL, public grant headers or a public document', async () => {
    const b = await mkBucket('bpa-bucket-acl');
    await setPab(b, { BlockPublicAcls: true });
    const before = await grantsOf(`/${b}?acl`);
    for (const acl of ['public-read', 'public-read-write', 'authenticated-read']) {
      await refused(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-acl': acl } }));
    }
    await refused(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-grant-read': `uri="${allUsers}"` } }));
    await refused(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-grant-write-acp': `uri="${authUsers}"` } }));
    const doc = `<AccessControlPolicy xmlns="${ns}"><Owner><ID>default</ID></Owner><AccessControlList>
      <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>default</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
      <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${authUsers}</URI></Grantee><Permission>READ</Permission></Grant>
      </AccessControlList></AccessControlPolicy>`;
    await refused(admin('PUT', `/${b}?acl`, { body: doc }));
    expect(await grantsOf(`/${b}?acl`)).toEqual(before);
    await refused(send('anonymous', 'GET', `/${b}?list-type=2`));
    // Non-public ACLs are still accepted: private, and grants to a named organisation.
    await ok(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-acl': 'private' } }));
    await ok(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-grant-read': `id="${partner}"` } }));
    expect(await grantsOf(`/${b}?acl`)).toEqual([`${partner}:READ`]);
  });

  it('refuses PutObjectAcl with a public ACL and leaves the object ACL as it was', async () => {
    const b = await mkBucket('bpa-object-acl');
    await ok(admin('PUT', `/${b}/doc.txt`, { body: 'data' }));
    await setPab(b, { BlockPublicAcls: true });
    const before = await grantsOf(`/${b}/doc.txt?acl`);
    for (const acl of ['public-read', 'public-read-write', 'authenticated-read']) {
      await refused(admin('PUT', `/${b}/doc.txt?acl`, { headers: { 'x-amz-acl': acl } }));
    }
    await refused(admin('PUT', `/${b}/doc.txt?acl`, { headers: { 'x-amz-grant-full-control': `uri="${allUsers}"` } }));
    expect(await grantsOf(`/${b}/doc.txt?acl`)).toEqual(before);
    await refused(send('anonymous', 'GET', `/${b}/doc.txt`));
    await ok(admin('PUT', `/${b}/doc.txt?acl`, { headers: { 'x-amz-acl': 'bucket-owner-full-control' } }));
  });

  it('refuses PutObject, CopyObject and CreateMultipartUpload that carry a public ACL, writing nothing', async () => {
    const b = await mkBucket('bpa-writes');
    await ok(admin('PUT', `/${b}/source.txt`, { body: 'source' }));
    await setPab(b, { BlockPublicAcls: true });
    for (const acl of ['public-read', 'public-read-write', 'authenticated-read']) {
      await refused(admin('PUT', `/${b}/put-${acl}`, { body: 'x', headers: { 'x-amz-acl': acl } }));
      await refused(admin('PUT', `/${b}/copy-${acl}`, { headers: { 'x-amz-copy-source': `/${b}/source.txt`, 'x-amz-acl': acl } }));
      await refused(admin('POST', `/${b}/mpu-${acl}?uploads`, { headers: { 'x-amz-acl': acl } }));
    }
    await refused(admin('PUT', `/${b}/put-grant`, { body: 'x', headers: { 'x-amz-grant-read': `uri="${allUsers}"` } }));
    const list = await ok(admin('GET', `/${b}?list-type=2`));
    expect([...list.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1])).toEqual(['source.txt']);
    const uploads = await ok(admin('GET', `/${b}?uploads`));
    expect(uploads.text).not.toContain('<Upload>');
    // Private and non-public ACLs are fine.
    await ok(admin('PUT', `/${b}/private.txt`, { body: 'x', headers: { 'x-amz-acl': 'private' } }));
    await ok(admin('PUT', `/${b}/shared.txt`, { body: 'x', headers: { 'x-amz-grant-read': `id="${partner}"` } }));
    await ok(admin('PUT', `/${b}/plain.txt`, { body: 'x' }));
    await ok(admin('PUT', `/${b}/copied.txt`, { headers: { 'x-amz-copy-source': `/${b}/source.txt`, 'x-amz-acl': 'private' } }));
    await ok(admin('POST', `/${b}/mpu?uploads`, { headers: { 'x-amz-acl': 'private' } }));
  });

  it('does not touch ACLs already stored, and stops applying once the setting is off or deleted', async () => {
    const b = await mkBucket('bpa-existing');
    await ok(admin('PUT', `/${b}/old.txt`, { body: 'old public', headers: { 'x-amz-acl': 'public-read' } }));
    await setPab(b, { BlockPublicAcls: true });
    expect((await ok(send('anonymous', 'GET', `/${b}/old.txt`))).text).toBe('old public');
    await setPab(b, { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    await ok(admin('PUT', `/${b}/new.txt`, { body: 'new public', headers: { 'x-amz-acl': 'public-read' } }));
    await setPab(b, { BlockPublicAcls: true });
    await refused(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-acl': 'public-read' } }));
    await ok(admin('DELETE', `/${b}?publicAccessBlock`), 204);
    await ok(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-acl': 'public-read' } }));
    await ok(send('anonymous', 'GET', `/${b}?list-type=2`));
  });
});

describe('IgnorePublicAcls', () => {
  it('ignores AllUsers and AuthenticatedUsers grants of the bucket and its objects, while it is on', async () => {
    const b = await mkBucket('ipa', { 'x-amz-acl': 'public-read' });
    await ok(admin('PUT', `/${b}/key1`, { body: 'abcde', headers: { 'x-amz-acl': 'public-read' } }));
    await ok(admin('PUT', `/${b}/key2`, { body: 'fghij', headers: { 'x-amz-acl': 'authenticated-read' } }));
    await ok(admin('PUT', `/${b}/key3`, { body: 'klmno', headers: { 'x-amz-grant-read': `id="${partner}"` } }));
    // Without the setting: public grants work.
    await ok(send(alice, 'GET', `/${b}?list-type=2`));
    await ok(send('anonymous', 'GET', `/${b}?list-type=2`));
    expect((await ok(send('anonymous', 'GET', `/${b}/key1`))).text).toBe('abcde');
    expect((await ok(send(alice, 'GET', `/${b}/key2`))).text).toBe('fghij');

    await setPab(b, { IgnorePublicAcls: true });
    // The stored ACLs are unchanged, and a public ACL may still be set (that is BlockPublicAcls' job)…
    expect(await grantsOf(`/${b}?acl`)).toContain('AllUsers:READ');
    await ok(admin('PUT', `/${b}?acl`, { headers: { 'x-amz-acl': 'public-read' } }));
    // …but authorization ignores it.
    await refused(send(alice, 'GET', `/${b}?list-type=2`));
    await refused(send('anonymous', 'GET', `/${b}?list-type=2`));
    await refused(send('anonymous', 'GET', `/${b}/key1`));
    await refused(send(alice, 'GET', `/${b}/key1`));
    await refused(send(alice, 'GET', `/${b}/key2`));
    // Grants to a named organisation are not public and still count; the owner is unaffected.
    expect((await ok(send(alice, 'GET', `/${b}/key3`))).text).toBe('klmno');
    expect((await ok(admin('GET', `/${b}/key1`))).text).toBe('abcde');

    await ok(admin('DELETE', `/${b}?publicAccessBlock`), 204);
    expect((await ok(send('anonymous', 'GET', `/${b}/key1`))).text).toBe('abcde');
    await ok(send(alice, 'GET', `/${b}?list-type=2`));
  });

  it('ignores public write grants too', async () => {
    const b = await mkBucket('ipa-write', { 'x-amz-acl': 'public-read-write' });
    await ok(send('anonymous', 'PUT', `/${b}/anon.txt`, { body: 'anon' }));
    await setPab(b, { IgnorePublicAcls: true });
    await refused(send('anonymous', 'PUT', `/${b}/anon2.txt`, { body: 'anon' }));
    await refused(send(alice, 'PUT', `/${b}/alice.txt`, { body: 'alice' }));
    await refused(admin('HEAD', `/${b}/anon2.txt`), 'NoSuchKey', 404);
  });
});

describe('BlockPublicPolicy', () => {
  it('refuses a public policy with 403 and keeps the current one; non-public policies pass', async () => {
    const b = await mkBucket('bpp');
    await setPab(b, { BlockPublicPolicy: true });
    await refused(admin('PUT', `/${b}?policy`, { body: policyDoc([publicRead(b)]) }));
    await refused(admin('GET', `/${b}?policy`), 'NoSuchBucketPolicy', 404);

    const partnerOnly = policyDoc([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${partner}:root` }, Action: 's3:GetObject', Resource: objects(b) }]);
    await ok(admin('PUT', `/${b}?policy`, { body: partnerOnly }), 204);
    const publicPolicies: Statement[][] = [
      [publicRead(b)],
      [{ ...publicRead(b), Principal: { AWS: '*' } }],
      [{ ...publicRead(b), Principal: { AWS: ['*', `arn:aws:iam::${partner}:root`] } }],
      [{ ...publicRead(b), Condition: { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } } }],
      [{ ...publicRead(b), Condition: { StringLike: { 'aws:Referer': 'https://example.com/*' } } }],
      [{ ...publicRead(b), Condition: { StringEqualsIfExists: { 'aws:userid': `${partner}:alice` } } }],
      [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${partner}:root` }, Action: 's3:GetObject', Resource: objects(b) }, publicRead(b)],
    ];
    for (const statements of publicPolicies) await refused(admin('PUT', `/${b}?policy`, { body: policyDoc(statements) }));
    expect((await ok(admin('GET', `/${b}?policy`))).text).toBe(partnerOnly);

    const nonPublic: Statement[][] = [
      [{ ...publicRead(b), Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/32' } } }],
      [{ ...publicRead(b), Condition: { StringEquals: { 'aws:userid': `${partner}:alice` } } }],
      [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: objects(b) }],
    ];
    for (const statements of nonPublic) await ok(admin('PUT', `/${b}?policy`, { body: policyDoc(statements) }), 204);
    // A malformed policy is still MalformedPolicy, not AccessDenied.
    await refused(admin('PUT', `/${b}?policy`, { body: '{"Statement": []}' }), 'MalformedPolicy', 400);
  });

  it('does not affect a public policy stored before it was enabled, nor apply once deleted', async () => {
    const b = await mkBucket('bpp-existing');
    await ok(admin('PUT', `/${b}/doc.txt`, { body: 'public doc' }));
    await ok(admin('PUT', `/${b}?policy`, { body: policyDoc([publicRead(b)]) }), 204);
    await setPab(b, { BlockPublicPolicy: true });
    expect((await ok(send('anonymous', 'GET', `/${b}/doc.txt`))).text).toBe('public doc');
    await ok(admin('GET', `/${b}?policy`));
    await ok(admin('DELETE', `/${b}?policy`), 204);
    await refused(admin('PUT', `/${b}?policy`, { body: policyDoc([publicRead(b)]) }));
    await ok(admin('DELETE', `/${b}?publicAccessBlock`), 204);
    await ok(admin('PUT', `/${b}?policy`, { body: policyDoc([publicRead(b)]) }), 204);
  });
});

describe('RestrictPublicBuckets', () => {
  it('a public policy then grants nothing to anonymous callers or other organisations; the owner keeps access', async () => {
    const b = await mkBucket('rpb');
    await ok(admin('PUT', `/${b}/foo`, { body: 'bar' }));
    await ok(
      admin('PUT', `/${b}?policy`, {
        body: policyDoc([
          publicRead(b),
          // "including non-public delegation to specific accounts" (AWS): blocked too while the policy is public.
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${partner}:root` }, Action: 's3:ListBucket', Resource: bucketArn(b) },
        ]),
      }),
      204,
    );
    expect((await ok(send('anonymous', 'GET', `/${b}/foo`))).text).toBe('bar');
    expect((await ok(send(alice, 'GET', `/${b}/foo`))).text).toBe('bar');
    await ok(send(alice, 'GET', `/${b}?list-type=2`));

    await setPab(b, { RestrictPublicBuckets: true });
    await refused(send('anonymous', 'GET', `/${b}/foo`));
    await refused(send(alice, 'GET', `/${b}/foo`));
    await refused(send(alice, 'GET', `/${b}?list-type=2`));
    expect((await ok(admin('GET', `/${b}/foo`))).text).toBe('bar');
    // The owner's readwrite key also keeps what the policy grants it.
    expect((await ok(send(ownerReadWrite, 'GET', `/${b}/foo`))).text).toBe('bar');

    await setPab(b, { RestrictPublicBuckets: false });
    expect((await ok(send('anonymous', 'GET', `/${b}/foo`))).text).toBe('bar');
  });

  it('leaves non-public policies, ACL grants and Deny statements working', async () => {
    const b = await mkBucket('rpb-nonpublic');
    await ok(admin('PUT', `/${b}/foo`, { body: 'bar' }));
    await ok(admin('PUT', `/${b}/acl.txt`, { body: 'via acl', headers: { 'x-amz-acl': 'public-read' } }));
    await setPab(b, { RestrictPublicBuckets: true });
    await ok(
      admin('PUT', `/${b}?policy`, {
        body: policyDoc([
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${partner}:root` }, Action: 's3:GetObject', Resource: objects(b) },
          { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: objects(b) },
        ]),
      }),
      204,
    );
    expect((await ok(send(alice, 'GET', `/${b}/foo`))).text).toBe('bar');
    await refused(send('anonymous', 'GET', `/${b}/foo`));
    // RestrictPublicBuckets is about policies; public ACLs are IgnorePublicAcls' business.
    expect((await ok(send('anonymous', 'GET', `/${b}/acl.txt`))).text).toBe('via acl');
    await refused(admin('DELETE', `/${b}/foo`));
  });
});

describe('GetBucketPolicyStatus', () => {
  async function status(bucket: string, statements: Statement[]): Promise<boolean | undefined> {
    await ok(admin('PUT', `/${bucket}?policy`, { body: policyDoc(statements) }), 204);
    return (await s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic;
  }

  it('answers 404 NoSuchBucketPolicy without a policy, even when ACLs are public (AWS)', async () => {
    const b = await mkBucket('ps-none', { 'x-amz-acl': 'public-read' });
    const res = await refused(admin('GET', `/${b}?policyStatus`), 'NoSuchBucketPolicy', 404);
    expect(res.text).toContain(`<BucketName>${b}</BucketName>`);
    const err = await sdkError(s3.send(new GetBucketPolicyStatusCommand({ Bucket: b })));
    expect(err.name).toBe('NoSuchBucketPolicy');
  });

  it('renders PolicyStatus/IsPublic', async () => {
    const b = await mkBucket('ps-xml');
    await ok(admin('PUT', `/${b}?policy`, { body: policyDoc([publicRead(b)]) }), 204);
    const res = await ok(admin('GET', `/${b}?policyStatus`));
    expect(res.text).toContain(`<PolicyStatus xmlns="${ns}"><IsPublic>true</IsPublic></PolicyStatus>`);
    await ok(admin('DELETE', `/${b}?policy`), 204);
    await refused(admin('GET', `/${b}?policyStatus`), 'NoSuchBucketPolicy', 404);
  });

  it('follows AWS: public unless every Allow names fixed principals or pins a wildcard with a fixed condition', async () => {
    const b = await mkBucket('ps-cases');
    const list = (extra: Statement = {}): Statement => ({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:ListBucket', Resource: [bucketArn(b), objects(b)], ...extra });
    const cases: [string, Statement[], boolean][] = [
      ['wildcard principal', [list()], true],
      ['"*" principal', [{ ...list(), Principal: '*' }], true],
      ['fixed org', [{ ...list(), Principal: { AWS: 'arn:aws:iam::s3tenant1:root' } }], false],
      ['fixed user', [{ ...list(), Principal: { AWS: `arn:aws:iam::${partner}:user/alice` } }], false],
      ['SourceIp /32', [list({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/32' } } })], false],
      ['SourceIp /8', [list({ Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.1.0/24'] } } })], false],
      ['SourceIp /7', [list({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/7' } } })], true],
      ['SourceIp one broad range of two', [list({ Condition: { IpAddress: { 'aws:SourceIp': ['192.168.1.0/24', '0.0.0.0/1'] } } })], true],
      ['SourceIp IPv6 /32', [list({ Condition: { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } } })], false],
      ['SourceIp IPv6 /16', [list({ Condition: { IpAddress: { 'aws:SourceIp': '2001::/16' } } })], true],
      ['NotIpAddress', [list({ Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/32' } } })], true],
      ['aws:userid fixed', [list({ Condition: { StringEquals: { 'aws:userid': `${partner}:alice` } } })], false],
      ['aws:userid org:*', [list({ Condition: { StringLike: { 'aws:userid': `${partner}:*` } } })], false],
      ['aws:userid *', [list({ Condition: { StringLike: { 'aws:userid': '*' } } })], true],
      ['aws:userid with a variable', [list({ Condition: { StringEquals: { 'aws:userid': '${aws:username}' } } })], true],
      ['aws:userid IfExists', [list({ Condition: { StringEqualsIfExists: { 'aws:userid': `${partner}:alice` } } })], true],
      ['aws:userid StringNotEquals', [list({ Condition: { StringNotEquals: { 'aws:userid': `${partner}:alice` } } })], true],
      ['kms key id fixed', [list({ Condition: { StringEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:default:1:key/abc' } } })], false],
      ['unrelated condition', [list({ Condition: { Bool: { 'aws:SecureTransport': 'true' } } })], true],
      ['restricting plus unrelated condition', [list({ Condition: { Bool: { 'aws:SecureTransport': 'true' }, IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } })], false],
      ['Deny with wildcard principal', [{ ...list(), Effect: 'Deny' }], false],
      ['one public statement among non-public ones', [{ ...list(), Principal: { AWS: `arn:aws:iam::${partner}:root` } }, list()], true],
    ];
    for (const [name, statements, expected] of cases) expect(await status(b, statements), name).toBe(expected);
  });

  it('needs a full key of the owning organisation', async () => {
    const b = await mkBucket('ps-authz');
    await ok(admin('PUT', `/${b}?policy`, { body: policyDoc([publicRead(b)]) }), 204);
    await refused(send(alice, 'GET', `/${b}?policyStatus`));
    await refused(send(ownerReadWrite, 'GET', `/${b}?policyStatus`));
    await refused(send('anonymous', 'GET', `/${b}?policyStatus`));
  });
});
