// Access levels over real HTTP: keys of the owning organisation at each level (read, write,
// readwrite, full) against every action family, table-driven from the matrix in
// ../shared/reference/s3-semantics.md §4. A denied cell must answer 403 AccessDenied and change
// nothing; an allowed cell must succeed and have its effect. Also: deleting keys never deletes data.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLevel } from '../../src/identity/identity-store.ts';
import { errorCode, type RawResponse } from '../helpers/raw.ts';
import { addTestKey, sendAs, type Creds, type SendOptions } from '../helpers/principals.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';


let server: TestServer;
const levels: readonly AccessLevel[] = ['read', 'write', 'readwrite', 'full'];
const keys = {} as Record<AccessLevel, Creds>;
/** The organisation the test server bootstraps (its admin key is `full`). */
const org = 'default';
const shared = 'levels-bucket';

const addKey = (org: string, user: string, level: AccessLevel): Promise<Creds> => addTestKey(server, org, user, level);


/** A request signed with `who` (undefined = the bootstrap admin's full key). */
/** As `who`, or as the bootstrap admin when undefined. */
const send = (who: Creds | undefined, method: string, path: string, opts: SendOptions = {}): Promise<RawResponse> => sendAs(server, who ?? 'admin', method, path, opts);
const admin = (method: string, path: string, opts: SendOptions = {}) => send(undefined, method, path, opts);

async function ok(resPromise: Promise<RawResponse>, status = 200): Promise<RawResponse> {
  const res = await resPromise;
  expect(res.status, `${res.status} ${res.text}`).toBe(status);
  return res;
}

const md5b64 = (body: string) => createHash('md5').update(body).digest('base64');

async function putObject(bucket: string, key: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  await ok(admin('PUT', `/${bucket}/${key}`, { body, headers }));
}
async function objectBody(bucket: string, key: string): Promise<string | 404> {
  const res = await admin('GET', `/${bucket}/${key}`);
  if (res.status === 404) return 404;
  expect(res.status, res.text).toBe(200);
  return res.text;
}
async function createUpload(bucket: string, key: string): Promise<string> {
  const res = await ok(admin('POST', `/${bucket}/${key}?uploads`));
  return /<UploadId>([^<]+)<\/UploadId>/.exec(res.text)![1];
}
async function uploadPart(bucket: string, key: string, uploadId: string, body: string, who?: Creds): Promise<RawResponse> {
  return send(who, 'PUT', `/${bucket}/${key}?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, { body });
}
async function partsOf(bucket: string, key: string, uploadId: string): Promise<RawResponse> {
  return admin('GET', `/${bucket}/${key}?uploadId=${encodeURIComponent(uploadId)}`);
}
async function tagsOf(bucket: string, key: string): Promise<string[]> {
  const res = await ok(admin('GET', `/${bucket}/${key}?tagging`));
  return [...res.text.matchAll(/<Key>([^<]*)<\/Key><Value>([^<]*)<\/Value>/g)].map((m) => `${m[1]}=${m[2]}`);
}
async function bucketExists(bucket: string): Promise<boolean> {
  const res = await admin('HEAD', `/${bucket}`);
  expect([200, 404]).toContain(res.status);
  return res.status === 200;
}
const tagXml = (pairs: [string, string][]) =>
  `<Tagging><TagSet>${pairs.map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`).join('')}</TagSet></Tagging>`;
const policyFor = (bucket: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'x', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::partner:root' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
  });
let bucketCounter = 0;
/** A fresh bucket of the organisation, created with the admin key. */
async function freshBucket(prefix: string): Promise<string> {
  const name = `${prefix}-${++bucketCounter}`;
  await ok(admin('PUT', `/${name}`));
  return name;
}

interface Outcome {
  res: RawResponse;
  /** the status an allowed request answers */
  success: number;
  /** checks the effect of an allowed request */
  changed?: () => Promise<void>;
  /** checks that a denied request changed nothing */
  unchanged?: () => Promise<void>;
  /** another shape a denial may take besides 403 AccessDenied (DeleteObjects: per-key errors) */
  deniedInBody?: (res: RawResponse) => boolean;
}

interface Cell {
  op: string;
  allowed: readonly AccessLevel[];
  run(who: Creds, id: string): Promise<Outcome>;
}

const all = levels;
const reading: readonly AccessLevel[] = ['read', 'readwrite', 'full'];
const writing: readonly AccessLevel[] = ['write', 'readwrite', 'full'];
const both: readonly AccessLevel[] = ['readwrite', 'full'];
const fullOnly: readonly AccessLevel[] = ['full'];

// The §4 matrix, row by row.
const matrix: Cell[] = [
  // ListBuckets (ListAllMyBuckets), HeadBucket, GetBucketLocation: every level.
  {
    op: 'ListBuckets',
    allowed: all,
    async run(who) {
      const res = await send(who, 'GET', '/');
      return { res, success: 200, changed: async () => expect(res.text).toContain(`<Name>${shared}</Name>`) };
    },
  },
  { op: 'HeadBucket', allowed: all, run: async (who) => ({ res: await send(who, 'HEAD', `/${shared}`), success: 200 }) },
  {
    op: 'GetBucketLocation',
    allowed: all,
    async run(who) {
      const res = await send(who, 'GET', `/${shared}?location`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('LocationConstraint') };
    },
  },

  // Listings: read.
  {
    op: 'ListObjects (v1)',
    allowed: reading,
    async run(who) {
      const res = await send(who, 'GET', `/${shared}`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('<Key>seed-object</Key>') };
    },
  },
  {
    op: 'ListObjectsV2',
    allowed: reading,
    async run(who) {
      const res = await send(who, 'GET', `/${shared}?list-type=2`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('<Key>seed-object</Key>') };
    },
  },
  { op: 'ListObjectVersions', allowed: reading, run: async (who) => ({ res: await send(who, 'GET', `/${shared}?versions`), success: 200 }) },
  {
    op: 'ListMultipartUploads',
    allowed: reading,
    async run(who, id) {
      await createUpload(shared, `lmu-${id}`);
      const res = await send(who, 'GET', `/${shared}?uploads`);
      return { res, success: 200, changed: async () => expect(res.text).toContain(`<Key>lmu-${id}</Key>`) };
    },
  },
  {
    op: 'ListParts',
    allowed: reading,
    async run(who, id) {
      const uploadId = await createUpload(shared, `lp-${id}`);
      await ok(uploadPart(shared, `lp-${id}`, uploadId, 'part one'));
      const res = await send(who, 'GET', `/${shared}/lp-${id}?uploadId=${encodeURIComponent(uploadId)}`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('<PartNumber>1</PartNumber>') };
    },
  },

  // Object reads: read.
  {
    op: 'GetObject',
    allowed: reading,
    async run(who, id) {
      await putObject(shared, `get-${id}`, 'contents to read');
      const res = await send(who, 'GET', `/${shared}/get-${id}`);
      return { res, success: 200, changed: async () => expect(res.text).toBe('contents to read') };
    },
  },
  {
    op: 'HeadObject',
    allowed: reading,
    async run(who, id) {
      await putObject(shared, `head-${id}`, 'twelve bytes');
      const res = await send(who, 'HEAD', `/${shared}/head-${id}`);
      return { res, success: 200, changed: async () => expect(res.headers['content-length']).toBe('12') };
    },
  },
  {
    op: 'GetObjectTagging',
    allowed: reading,
    async run(who, id) {
      await putObject(shared, `gtag-${id}`, 'x', { 'x-amz-tagging': 'colour=blue' });
      const res = await send(who, 'GET', `/${shared}/gtag-${id}?tagging`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('<Key>colour</Key><Value>blue</Value>') };
    },
  },

  // Object writes: write.
  {
    op: 'PutObject (new key)',
    allowed: writing,
    async run(who, id) {
      const key = `put-${id}`;
      const res = await send(who, 'PUT', `/${shared}/${key}`, { body: 'written' });
      return {
        res,
        success: 200,
        changed: async () => expect(await objectBody(shared, key)).toBe('written'),
        unchanged: async () => expect(await objectBody(shared, key)).toBe(404),
      };
    },
  },
  {
    op: 'PutObject (overwrite)',
    allowed: writing,
    async run(who, id) {
      const key = `overwrite-${id}`;
      await putObject(shared, key, 'original');
      const res = await send(who, 'PUT', `/${shared}/${key}`, { body: 'replacement' });
      return {
        res,
        success: 200,
        changed: async () => expect(await objectBody(shared, key)).toBe('replacement'),
        unchanged: async () => expect(await objectBody(shared, key)).toBe('original'),
      };
    },
  },
  {
    op: 'CreateMultipartUpload',
    allowed: writing,
    async run(who, id) {
      const key = `cmu-${id}`;
      const res = await send(who, 'POST', `/${shared}/${key}?uploads`);
      const listed = async () => (await ok(admin('GET', `/${shared}?uploads&prefix=${key}`))).text.includes(`<Key>${key}</Key>`);
      return {
        res,
        success: 200,
        changed: async () => expect(await listed()).toBe(true),
        unchanged: async () => expect(await listed()).toBe(false),
      };
    },
  },
  {
    op: 'UploadPart',
    allowed: writing,
    async run(who, id) {
      const key = `up-${id}`;
      const uploadId = await createUpload(shared, key);
      const res = await uploadPart(shared, key, uploadId, 'a part', who);
      const hasPart = async () => (await ok(partsOf(shared, key, uploadId))).text.includes('<PartNumber>1</PartNumber>');
      return {
        res,
        success: 200,
        changed: async () => expect(await hasPart()).toBe(true),
        unchanged: async () => expect(await hasPart()).toBe(false),
      };
    },
  },
  {
    op: 'CompleteMultipartUpload',
    allowed: writing,
    async run(who, id) {
      const key = `cpl-${id}`;
      const uploadId = await createUpload(shared, key);
      const part = await ok(uploadPart(shared, key, uploadId, 'the only part'));
      const etag = part.headers.etag as string;
      const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
      const res = await send(who, 'POST', `/${shared}/${key}?uploadId=${encodeURIComponent(uploadId)}`, { body });
      return {
        res,
        success: 200,
        changed: async () => expect(await objectBody(shared, key)).toBe('the only part'),
        unchanged: async () => {
          expect(await objectBody(shared, key)).toBe(404);
          await ok(partsOf(shared, key, uploadId)); // the upload is still there
        },
      };
    },
  },
  {
    op: 'PutObjectTagging',
    allowed: writing,
    async run(who, id) {
      const key = `ptag-${id}`;
      await putObject(shared, key, 'x', { 'x-amz-tagging': 'a=1' });
      const res = await send(who, 'PUT', `/${shared}/${key}?tagging`, { body: tagXml([['b', '2']]) });
      return {
        res,
        success: 200,
        changed: async () => expect(await tagsOf(shared, key)).toEqual(['b=2']),
        unchanged: async () => expect(await tagsOf(shared, key)).toEqual(['a=1']),
      };
    },
  },
  {
    op: 'DeleteObjectTagging',
    allowed: writing,
    async run(who, id) {
      const key = `dtag-${id}`;
      await putObject(shared, key, 'x', { 'x-amz-tagging': 'a=1' });
      const res = await send(who, 'DELETE', `/${shared}/${key}?tagging`);
      return {
        res,
        success: 204,
        changed: async () => expect(await tagsOf(shared, key)).toEqual([]),
        unchanged: async () => expect(await tagsOf(shared, key)).toEqual(['a=1']),
      };
    },
  },

  // Deletes: write.
  {
    op: 'DeleteObject',
    allowed: writing,
    async run(who, id) {
      const key = `del-${id}`;
      await putObject(shared, key, 'keep me?');
      const res = await send(who, 'DELETE', `/${shared}/${key}`);
      return {
        res,
        success: 204,
        changed: async () => expect(await objectBody(shared, key)).toBe(404),
        unchanged: async () => expect(await objectBody(shared, key)).toBe('keep me?'),
      };
    },
  },
  {
    op: 'DeleteObjects',
    allowed: writing,
    async run(who, id) {
      const keysToDelete = [`mdel-${id}-1`, `mdel-${id}-2`];
      for (const k of keysToDelete) await putObject(shared, k, 'bulk');
      const body = `<Delete>${keysToDelete.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
      const res = await send(who, 'POST', `/${shared}?delete`, { body, headers: { 'content-md5': md5b64(body), 'content-type': 'application/xml' } });
      return {
        res,
        success: 200,
        // S3 authorizes DeleteObjects per key: a 200 whose every key failed with AccessDenied is a denial too.
        deniedInBody: (r) =>
          r.status === 200 &&
          !r.text.includes('<Deleted>') &&
          keysToDelete.every((k) => new RegExp(`<Error><Key>${k}</Key>(?:(?!</Error>).)*<Code>AccessDenied</Code>`, 's').test(r.text)),
        changed: async () => {
          expect(res.text).not.toContain('<Error>');
          for (const k of keysToDelete) expect(await objectBody(shared, k)).toBe(404);
        },
        unchanged: async () => {
          for (const k of keysToDelete) expect(await objectBody(shared, k)).toBe('bulk');
        },
      };
    },
  },
  {
    op: 'AbortMultipartUpload',
    allowed: writing,
    async run(who, id) {
      const key = `abort-${id}`;
      const uploadId = await createUpload(shared, key);
      const res = await send(who, 'DELETE', `/${shared}/${key}?uploadId=${encodeURIComponent(uploadId)}`);
      return {
        res,
        success: 204,
        changed: async () => expect((await partsOf(shared, key, uploadId)).status).toBe(404),
        unchanged: async () => expect((await partsOf(shared, key, uploadId)).status).toBe(200),
      };
    },
  },

  // Copies: read on the source and write on the destination.
  {
    op: 'CopyObject',
    allowed: both,
    async run(who, id) {
      await putObject(shared, `copysrc-${id}`, 'copied bytes');
      const dest = `copydst-${id}`;
      const res = await send(who, 'PUT', `/${shared}/${dest}`, { headers: { 'x-amz-copy-source': `/${shared}/copysrc-${id}` } });
      return {
        res,
        success: 200,
        changed: async () => expect(await objectBody(shared, dest)).toBe('copied bytes'),
        unchanged: async () => expect(await objectBody(shared, dest)).toBe(404),
      };
    },
  },
  {
    op: 'UploadPartCopy',
    allowed: both,
    async run(who, id) {
      await putObject(shared, `upcsrc-${id}`, 'part copied bytes');
      const dest = `upcdst-${id}`;
      const uploadId = await createUpload(shared, dest);
      const res = await send(who, 'PUT', `/${shared}/${dest}?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, {
        headers: { 'x-amz-copy-source': `/${shared}/upcsrc-${id}` },
      });
      const hasPart = async () => (await ok(partsOf(shared, dest, uploadId))).text.includes('<PartNumber>1</PartNumber>');
      return {
        res,
        success: 200,
        changed: async () => expect(await hasPart()).toBe(true),
        unchanged: async () => expect(await hasPart()).toBe(false),
      };
    },
  },

  // ACLs: full.
  {
    op: 'GetBucketAcl',
    allowed: fullOnly,
    async run(who) {
      const res = await send(who, 'GET', `/${shared}?acl`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('<Permission>FULL_CONTROL</Permission>') };
    },
  },
  {
    op: 'PutBucketAcl',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('pbacl');
      const res = await send(who, 'PUT', `/${bucket}?acl`, { headers: { 'x-amz-acl': 'public-read' } });
      const isPublic = async () => (await ok(admin('GET', `/${bucket}?acl`))).text.includes('AllUsers');
      return {
        res,
        success: 200,
        changed: async () => expect(await isPublic()).toBe(true),
        unchanged: async () => expect(await isPublic()).toBe(false),
      };
    },
  },
  {
    op: 'GetObjectAcl',
    allowed: fullOnly,
    async run(who, id) {
      await putObject(shared, `goacl-${id}`, 'x');
      const res = await send(who, 'GET', `/${shared}/goacl-${id}?acl`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('<Permission>FULL_CONTROL</Permission>') };
    },
  },
  {
    op: 'PutObjectAcl',
    allowed: fullOnly,
    async run(who, id) {
      const key = `poacl-${id}`;
      await putObject(shared, key, 'x');
      const res = await send(who, 'PUT', `/${shared}/${key}?acl`, { headers: { 'x-amz-acl': 'public-read' } });
      const isPublic = async () => (await ok(admin('GET', `/${shared}/${key}?acl`))).text.includes('AllUsers');
      return {
        res,
        success: 200,
        changed: async () => expect(await isPublic()).toBe(true),
        unchanged: async () => expect(await isPublic()).toBe(false),
      };
    },
  },

  // ACLs set by a write are PutObjectAcl in disguise (issue 11): full only, whatever the write.
  {
    op: 'PutObject with a public ACL',
    allowed: fullOnly,
    async run(who, id) {
      const key = `putacl-${id}`;
      const res = await send(who, 'PUT', `/${shared}/${key}`, { body: 'acl bytes', headers: { 'x-amz-acl': 'public-read' } });
      return {
        res,
        success: 200,
        changed: async () => expect((await sendAs(server, 'anonymous', 'GET', `/${shared}/${key}`)).text).toBe('acl bytes'),
        unchanged: async () => expect(await objectBody(shared, key)).toBe(404),
      };
    },
  },
  {
    op: 'PutObject with x-amz-acl: private',
    allowed: writing,
    async run(who, id) {
      const key = `putprivate-${id}`;
      const res = await send(who, 'PUT', `/${shared}/${key}`, { body: 'private bytes', headers: { 'x-amz-acl': 'private' } });
      return {
        res,
        success: 200,
        changed: async () => expect(await objectBody(shared, key)).toBe('private bytes'),
        unchanged: async () => expect(await objectBody(shared, key)).toBe(404),
      };
    },
  },
  {
    op: 'CopyObject onto itself with x-amz-acl: public-read',
    allowed: fullOnly,
    async run(who, id) {
      const key = `selfcopy-${id}`;
      await putObject(shared, key, 'secret bytes');
      const res = await send(who, 'PUT', `/${shared}/${key}`, {
        headers: { 'x-amz-copy-source': `/${shared}/${key}`, 'x-amz-metadata-directive': 'REPLACE', 'x-amz-acl': 'public-read' },
      });
      const anonymousStatus = async () => (await sendAs(server, 'anonymous', 'GET', `/${shared}/${key}`)).status;
      return {
        res,
        success: 200,
        changed: async () => expect(await anonymousStatus()).toBe(200),
        unchanged: async () => expect(await anonymousStatus()).toBe(403),
      };
    },
  },
  {
    op: 'CreateMultipartUpload with a grant to AllUsers',
    allowed: fullOnly,
    async run(who, id) {
      const key = `mpacl-${id}`;
      const res = await send(who, 'POST', `/${shared}/${key}?uploads`, { headers: { 'x-amz-grant-read': 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' } });
      const uploads = async () => (await ok(admin('GET', `/${shared}?uploads&prefix=${key}`))).text.includes(`<Key>${key}</Key>`);
      return { res, success: 200, changed: async () => expect(await uploads()).toBe(true), unchanged: async () => expect(await uploads()).toBe(false) };
    },
  },

  // Bucket administration: full.
  {
    op: 'CreateBucket',
    allowed: fullOnly,
    async run(who, id) {
      const bucket = `created-${id}`;
      const res = await send(who, 'PUT', `/${bucket}`);
      return {
        res,
        success: 200,
        changed: async () => expect(await bucketExists(bucket)).toBe(true),
        unchanged: async () => expect(await bucketExists(bucket)).toBe(false),
      };
    },
  },
  {
    op: 'DeleteBucket',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('doomed');
      const res = await send(who, 'DELETE', `/${bucket}`);
      return {
        res,
        success: 204,
        changed: async () => expect(await bucketExists(bucket)).toBe(false),
        unchanged: async () => expect(await bucketExists(bucket)).toBe(true),
      };
    },
  },

  // Bucket policies: full.
  {
    op: 'PutBucketPolicy',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('pbp');
      const res = await send(who, 'PUT', `/${bucket}?policy`, { body: policyFor(bucket) });
      return {
        res,
        success: 204,
        changed: async () => expect((await ok(admin('GET', `/${bucket}?policy`))).text).toBe(policyFor(bucket)),
        unchanged: async () => {
          const after = await admin('GET', `/${bucket}?policy`);
          expect(after.status).toBe(404);
          expect(errorCode(after.text)).toBe('NoSuchBucketPolicy');
        },
      };
    },
  },
  {
    op: 'GetBucketPolicy',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('gbp');
      await ok(admin('PUT', `/${bucket}?policy`, { body: policyFor(bucket) }), 204);
      const res = await send(who, 'GET', `/${bucket}?policy`);
      return { res, success: 200, changed: async () => expect(res.text).toBe(policyFor(bucket)) };
    },
  },
  {
    op: 'DeleteBucketPolicy',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('dbp');
      await ok(admin('PUT', `/${bucket}?policy`, { body: policyFor(bucket) }), 204);
      const res = await send(who, 'DELETE', `/${bucket}?policy`);
      return {
        res,
        success: 204,
        changed: async () => expect((await admin('GET', `/${bucket}?policy`)).status).toBe(404),
        unchanged: async () => expect((await ok(admin('GET', `/${bucket}?policy`))).text).toBe(policyFor(bucket)),
      };
    },
  },

  // Bucket configuration (tagging): full.
  {
    op: 'PutBucketTagging',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('pbt');
      const res = await send(who, 'PUT', `/${bucket}?tagging`, { body: tagXml([['team', 'storage']]) });
      return {
        res,
        success: 204,
        changed: async () => expect((await ok(admin('GET', `/${bucket}?tagging`))).text).toContain('<Key>team</Key>'),
        unchanged: async () => {
          const after = await admin('GET', `/${bucket}?tagging`);
          expect(after.status).toBe(404);
          expect(errorCode(after.text)).toBe('NoSuchTagSet');
        },
      };
    },
  },
  {
    op: 'GetBucketTagging',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('gbt');
      await ok(admin('PUT', `/${bucket}?tagging`, { body: tagXml([['team', 'storage']]) }), 204);
      const res = await send(who, 'GET', `/${bucket}?tagging`);
      return { res, success: 200, changed: async () => expect(res.text).toContain('<Value>storage</Value>') };
    },
  },
  {
    op: 'DeleteBucketTagging',
    allowed: fullOnly,
    async run(who) {
      const bucket = await freshBucket('dbt');
      await ok(admin('PUT', `/${bucket}?tagging`, { body: tagXml([['team', 'storage']]) }), 204);
      const res = await send(who, 'DELETE', `/${bucket}?tagging`);
      return {
        res,
        success: 204,
        changed: async () => expect((await admin('GET', `/${bucket}?tagging`)).status).toBe(404),
        unchanged: async () => expect((await ok(admin('GET', `/${bucket}?tagging`))).text).toContain('<Key>team</Key>'),
      };
    },
  },
];

beforeAll(async () => {
  server = await startTestServer();
  for (const level of levels) keys[level] = await addKey(org, `key-${level}`, level);
  await ok(admin('PUT', `/${shared}`));
  await putObject(shared, 'seed-object', 'seed');
});
afterAll(async () => {
  await server.stop();
});

describe('access levels of the owning organisation (s3-semantics §4)', () => {
  it('covers every level and the whole matrix', () => {
    expect(matrix.map((c) => c.op).sort()).toEqual(
      [
        'ListBuckets', 'HeadBucket', 'GetBucketLocation',
        'ListObjects (v1)', 'ListObjectsV2', 'ListObjectVersions', 'ListMultipartUploads', 'ListParts',
        'GetObject', 'HeadObject', 'GetObjectTagging',
        'PutObject (new key)', 'PutObject (overwrite)', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'PutObjectTagging', 'DeleteObjectTagging',
        'DeleteObject', 'DeleteObjects', 'AbortMultipartUpload',
        'CopyObject', 'UploadPartCopy',
        'GetBucketAcl', 'PutBucketAcl', 'GetObjectAcl', 'PutObjectAcl',
        'PutObject with a public ACL', 'PutObject with x-amz-acl: private', 'CopyObject onto itself with x-amz-acl: public-read',
        'CreateMultipartUpload with a grant to AllUsers',
        'CreateBucket', 'DeleteBucket',
        'PutBucketPolicy', 'GetBucketPolicy', 'DeleteBucketPolicy',
        'PutBucketTagging', 'GetBucketTagging', 'DeleteBucketTagging',
      ].sort(),
    );
    for (const cell of matrix) for (const l of cell.allowed) expect(levels).toContain(l);
  });

  for (const cell of matrix) {
    describe(cell.op, () => {
      for (const level of levels) {
        const allowed = cell.allowed.includes(level);
        it(`${level}: ${allowed ? 'allowed' : '403 AccessDenied'}`, async () => {
          const id = `${level}-${cell.op.replace(/[^A-Za-z0-9]+/g, '').toLowerCase()}`;
          const { res, success, changed, unchanged, deniedInBody } = await cell.run(keys[level], id);
          if (allowed) {
            expect(res.status, `${cell.op} by ${level}: ${res.text}`).toBe(success);
            await changed?.();
          } else if (deniedInBody?.(res)) {
            await unchanged?.();
          } else {
            expect(res.status, `${cell.op} by ${level}: ${res.text}`).toBe(403);
            // HEAD answers carry no body; every other denial names the S3 code.
            if (res.body.length > 0 || !cell.op.startsWith('Head')) expect(errorCode(res.text)).toBe('AccessDenied');
            await unchanged?.();
          }
        });
      }
    });
  }
});

describe('keys and data are independent', () => {
  it('deleting a key never deletes data: the object stays readable by another key, the deleted key is refused', async () => {
    const doomed = await addKey(org, 'short-lived', 'full');
    await ok(send(doomed, 'PUT', '/short-lived-bucket'));
    await ok(send(doomed, 'PUT', '/short-lived-bucket/kept.txt', { body: 'outlives its writer' }));
    expect(await server.services.identity.deleteKey(doomed.accessKeyId)).toBe(true);

    const gone = await send(doomed, 'GET', '/short-lived-bucket/kept.txt');
    expect(gone.status).toBe(403);
    expect(errorCode(gone.text)).toBe('InvalidAccessKeyId');
    const goneWrite = await send(doomed, 'PUT', '/short-lived-bucket/new.txt', { body: 'no' });
    expect(goneWrite.status).toBe(403);
    expect(errorCode(goneWrite.text)).toBe('InvalidAccessKeyId');

    const read = await ok(send(keys.read, 'GET', '/short-lived-bucket/kept.txt'));
    expect(read.text).toBe('outlives its writer');
    const list = await ok(send(keys.read, 'GET', '/short-lived-bucket?list-type=2'));
    expect(list.text).toContain('<Key>kept.txt</Key>');
    expect(list.text).not.toContain('<Key>new.txt</Key>');
  });

  it('deleting every key of an organisation leaves its buckets and objects untouched', async () => {
    const only = await addKey('lonely-org', 'only-key', 'full');
    await ok(send(only, 'PUT', '/lonely-bucket'));
    await ok(send(only, 'PUT', '/lonely-bucket/data.bin', { body: 'still here' }));
    await server.services.identity.deleteKey(only.accessKeyId);
    expect((await server.services.identity.listKeys()).filter((k) => k.org === 'lonely-org')).toEqual([]);

    // A new token of the same organisation finds everything as it was.
    const next = await addKey('lonely-org', 'next-key', 'read');
    const buckets = await ok(send(next, 'GET', '/'));
    expect(buckets.text).toContain('<Name>lonely-bucket</Name>');
    expect((await ok(send(next, 'GET', '/lonely-bucket/data.bin'))).text).toBe('still here');
    // The bucket still belongs to lonely-org: the name is not free for another organisation.
    const taken = await admin('PUT', '/lonely-bucket');
    expect(taken.status).toBe(409);
    expect(errorCode(taken.text)).toBe('BucketAlreadyExists');
  });

  it('a key of one organisation is not the owner of another organisation’s bucket, whatever its level', async () => {
    const outsider = await addKey('outsider-org', 'boss', 'full');
    for (const [method, path] of [
      ['GET', `/${shared}`],
      ['GET', `/${shared}/seed-object`],
      ['PUT', `/${shared}/intruder`],
      ['DELETE', `/${shared}/seed-object`],
      ['GET', `/${shared}?policy`],
      ['GET', `/${shared}?acl`],
    ] as const) {
      const res = await send(outsider, method, path, method === 'PUT' ? { body: 'x' } : {});
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(errorCode(res.text)).toBe('AccessDenied');
    }
    expect(await objectBody(shared, 'seed-object')).toBe('seed');
    expect(await objectBody(shared, 'intruder')).toBe(404);
    // Its own ListBuckets shows only its organisation's buckets.
    const own = await ok(send(outsider, 'GET', '/'));
    expect(own.text).not.toContain(`<Name>${shared}</Name>`);
  });
});
