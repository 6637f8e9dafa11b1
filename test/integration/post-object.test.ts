// POST Object (browser-based uploads with an HTML form) over real HTTP: forms built by hand,
// signed with SigV4 (and the legacy SigV2) policy signatures computed here from the test
// credentials. Success answers (204, 201 + PostResponse, 200, 303 redirect), ${filename}, metadata,
// ACL, tags, SSE-C, checksums; each kind of policy condition passing and failing; expired
// policies, wrong signatures, unknown keys, size limits; anonymous uploads to public-read-write
// and private buckets; a 20 MiB file streamed through; and nothing stored after any failure.
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command, PutBucketAclCommand, PutBucketPolicyCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredentials } from '../../src/identity/identity-store.ts';
import { errorCode } from '../helpers/raw.ts';
import { startTestServer, testAccessKey, testSecretKey, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let bucket: string;
let publicBucket: string;

const boundary = '----StrataFormBoundaryQ2x9ZkLr';

interface FileSpec {
  filename?: string;
  contentType?: string;
  content: Buffer | string | (() => AsyncGenerator<Buffer>);
}

interface Form {
  fields: [string, string][];
  file?: FileSpec;
  /** fields after the file (S3 ignores them) */
  after?: [string, string][];
}

function fieldPart(name: string, value: string): Buffer {
  return Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
}

function encodeForm(form: Form): Buffer | Readable {
  const head = Buffer.concat(form.fields.map(([n, v]) => fieldPart(n, v)));
  const tail = Buffer.concat([...(form.after ?? []).map(([n, v]) => fieldPart(n, v)), Buffer.from(`--${boundary}--\r\n`)]);
  if (!form.file) return Buffer.concat([head, tail]);
  const { filename, contentType, content } = form.file;
  const fileHead = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"${filename !== undefined ? `; filename="${filename}"` : ''}\r\n` +
      (contentType ? `Content-Type: ${contentType}\r\n` : '') +
      '\r\n',
  );
  if (typeof content === 'function') {
    return Readable.from(
      (async function* () {
        yield head;
        yield fileHead;
        yield* content();
        yield Buffer.from('\r\n');
        yield tail;
      })(),
      { objectMode: false },
    );
  }
  return Buffer.concat([head, fileHead, Buffer.from(content), Buffer.from('\r\n'), tail]);
}

interface PostResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

async function post(bucketName: string, form: Form, contentType = `multipart/form-data; boundary=${boundary}`): Promise<PostResponse> {
  const res = await request(`http://127.0.0.1:${server.port}/${bucketName}`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'user-agent': 'strata-post-test' },
    body: encodeForm(form),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

interface SignOptions {
  expiration?: Date;
  accessKey?: string;
  secretKey?: string;
  region?: string;
  /** skip the automatic x-amz-* conditions */
  bareConditions?: boolean;
}

/** The SigV4 fields of a form: x-amz-algorithm/credential/date, policy and x-amz-signature. */
function signV4(conditions: unknown[], opts: SignOptions = {}): [string, string][] {
  const now = new Date();
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const region = opts.region ?? 'us-east-1';
  const accessKey = opts.accessKey ?? testAccessKey;
  const credential = `${accessKey}/${day}/${region}/s3/aws4_request`;
  const all = opts.bareConditions
    ? conditions
    : [...conditions, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date }];
  const expiration = (opts.expiration ?? new Date(now.getTime() + 3600_000)).toISOString();
  const policy = Buffer.from(JSON.stringify({ expiration, conditions: all })).toString('base64');
  let key: Buffer = createHmac('sha256', 'AWS4' + (opts.secretKey ?? testSecretKey)).update(day).digest();
  for (const part of [region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(policy).digest('hex');
  return [
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-credential', credential],
    ['x-amz-date', date],
    ['policy', policy],
    ['x-amz-signature', signature],
  ];
}

/** The legacy SigV2 fields: AWSAccessKeyId, policy, signature. */
function signV2(conditions: unknown[], opts: SignOptions = {}): [string, string][] {
  const expiration = (opts.expiration ?? new Date(Date.now() + 3600_000)).toISOString();
  const policy = Buffer.from(JSON.stringify({ expiration, conditions })).toString('base64');
  const signature = createHmac('sha1', opts.secretKey ?? testSecretKey).update(policy).digest('base64');
  return [
    ['AWSAccessKeyId', opts.accessKey ?? testAccessKey],
    ['policy', policy],
    ['signature', signature],
  ];
}

async function getObject(bucketName: string, key: string, extra: Record<string, string> = {}) {
  const res = await server.client().send(new GetObjectCommand({ Bucket: bucketName, Key: key, ...extra }));
  return { res, body: Buffer.from(await res.Body!.transformToByteArray()) };
}

async function keys(bucketName: string): Promise<string[]> {
  const res = await server.client().send(new ListObjectsV2Command({ Bucket: bucketName }));
  return (res.Contents ?? []).map((c) => c.Key!);
}

function filesUnder(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    n += statSync(p).isDirectory() ? filesUnder(p) : 1;
  }
  return n;
}

/** Blob files and temporary files of every region. */
function storedFiles(): number {
  const regions = join(server.dataDir, 'regions');
  let n = 0;
  for (const r of readdirSync(regions)) {
    for (const sub of ['blobs', 'tmp']) n += filesUnder(join(regions, r, sub));
  }
  return n;
}

function expectError(res: PostResponse, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(errorCode(res.text), res.text).toBe(code);
}

const base = (b: string, keyPrefix = 'up/') => [{ bucket: b }, ['starts-with', '$key', keyPrefix]];

beforeAll(async () => {
  server = await startTestServer();
  bucket = `post-${randomBytes(4).toString('hex')}`;
  publicBucket = `post-pub-${randomBytes(4).toString('hex')}`;
  const client = server.client();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new CreateBucketCommand({ Bucket: publicBucket, ACL: 'public-read-write' }));
});
afterAll(async () => {
  await server.stop();
});

describe('successful uploads', () => {
  it('stores the file with SigV4 and answers 204 with ETag and Location', async () => {
    const res = await post(bucket, {
      fields: [
        ['key', 'up/hello.txt'],
        ['Content-Type', 'text/plain'],
        ['x-amz-meta-colour', 'blue'],
        ...signV4([...base(bucket), ['starts-with', '$Content-Type', 'text/'], { 'x-amz-meta-colour': 'blue' }]),
      ],
      file: { filename: 'local.txt', contentType: 'application/octet-stream', content: 'hello, form' },
    });
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    const md5 = createHash('md5').update('hello, form').digest('hex');
    expect(res.headers.etag).toBe(`"${md5}"`);
    expect(res.headers.location).toBe(`http://127.0.0.1:${server.port}/${bucket}/up%2Fhello.txt`);
    const { res: got, body } = await getObject(bucket, 'up/hello.txt');
    expect(body.toString()).toBe('hello, form');
    expect(got.ContentType).toBe('text/plain');
    expect(got.Metadata).toEqual({ colour: 'blue' });
    expect(got.ETag).toBe(`"${md5}"`);
  });

  it('answers 201 with a PostResponse document, 200 with nothing, and 204 for any other status', async () => {
    const cond = [...base(bucket), ['starts-with', '$success_action_status', '']];
    const created = await post(bucket, { fields: [['key', 'up/201'], ['success_action_status', '201'], ...signV4(cond)], file: { content: 'x' } });
    expect(created.status, created.text).toBe(201);
    expect(created.headers['content-type']).toBe('application/xml');
    expect(created.text).toContain('<PostResponse>');
    expect(created.text).toContain(`<Location>http://127.0.0.1:${server.port}/${bucket}/up%2F201</Location>`);
    expect(created.text).toContain(`<Bucket>${bucket}</Bucket>`);
    expect(created.text).toContain('<Key>up/201</Key>');
    expect(created.text).toContain(`<ETag>"${createHash('md5').update('x').digest('hex')}"</ETag>`);
    const ok = await post(bucket, { fields: [['key', 'up/200'], ['success_action_status', '200'], ...signV4(cond)], file: { content: 'x' } });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    const other = await post(bucket, { fields: [['key', 'up/404'], ['success_action_status', '404'], ...signV4(cond)], file: { content: 'x' } });
    expect(other.status).toBe(204);
    expect(await keys(bucket)).toEqual(expect.arrayContaining(['up/200', 'up/201', 'up/404']));
  });

  it('redirects with 303 to success_action_redirect, adding bucket, key and etag', async () => {
    const target = 'https://app.example.com/done?from=upload';
    const res = await post(bucket, {
      fields: [['key', 'up/redirect me.txt'], ['success_action_redirect', target], ...signV4([...base(bucket), { success_action_redirect: target }])],
      file: { content: 'abc' },
    });
    expect(res.status, res.text).toBe(303);
    const etag = createHash('md5').update('abc').digest('hex');
    expect(res.headers.location).toBe(`${target}&bucket=${bucket}&key=up%2Fredirect%20me.txt&etag=%22${etag}%22`);
    // A value that is not a URL is ignored.
    const ignored = await post(bucket, {
      fields: [['key', 'up/redirect2'], ['success_action_redirect', 'not a url'], ...signV4([...base(bucket), ['starts-with', '$success_action_redirect', '']])],
      file: { content: 'abc' },
    });
    expect(ignored.status).toBe(204);
  });

  it('replaces ${filename} in the key with the file name, before checking the policy', async () => {
    const res = await post(bucket, {
      fields: [['key', 'up/${filename}'], ...signV4(base(bucket, 'up/photo'))],
      file: { filename: 'photo.png', content: 'png bytes' },
    });
    expect(res.status, res.text).toBe(204);
    expect((await getObject(bucket, 'up/photo.png')).body.toString()).toBe('png bytes');
  });

  it('applies the acl field', async () => {
    const res = await post(bucket, { fields: [['key', 'up/public.txt'], ['acl', 'public-read'], ...signV4([...base(bucket), { acl: 'public-read' }])], file: { content: 'for all' } });
    expect(res.status, res.text).toBe(204);
    const anon = await request(`http://127.0.0.1:${server.port}/${bucket}/up/public.txt`);
    expect(anon.statusCode).toBe(200);
    expect(await anon.body.text()).toBe('for all');
    const priv = await post(bucket, { fields: [['key', 'up/private.txt'], ...signV4(base(bucket))], file: { content: 'mine' } });
    expect(priv.status).toBe(204);
    const anon2 = await request(`http://127.0.0.1:${server.port}/${bucket}/up/private.txt`);
    expect(anon2.statusCode).toBe(403);
    await anon2.body.dump();
  });

  it('stores tags from the tagging field', async () => {
    const tagging = '<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag><Tag><Key>tier</Key><Value>1</Value></Tag></TagSet></Tagging>';
    const res = await post(bucket, { fields: [['key', 'up/tagged'], ['tagging', tagging], ...signV4([...base(bucket), ['starts-with', '$tagging', '']])], file: { content: 't' } });
    expect(res.status, res.text).toBe(204);
    const tags = await server.client().send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'up/tagged' }));
    expect(tags.TagSet).toEqual([
      { Key: 'team', Value: 'blue' },
      { Key: 'tier', Value: '1' },
    ]);
  });

  it('encrypts with the SSE-C fields', async () => {
    const key = randomBytes(32);
    const sse = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
    };
    const res = await post(bucket, {
      fields: [['key', 'up/secret'], ...Object.entries(sse), ...signV4([...base(bucket), ...Object.keys(sse).map((k) => ['starts-with', `$${k}`, ''])])],
      file: { content: 'classified' },
    });
    expect(res.status, res.text).toBe(204);
    expect(res.headers['x-amz-server-side-encryption-customer-algorithm']).toBe('AES256');
    const { body } = await getObject(bucket, 'up/secret', { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: sse['x-amz-server-side-encryption-customer-key-md5'] });
    expect(body.toString()).toBe('classified');
    await expect(server.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'up/secret' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  });

  it('verifies an x-amz-checksum-* field (which needs no condition) and Content-MD5', async () => {
    const data = 'checksummed';
    const sha256 = createHash('sha256').update(data).digest('base64');
    const good = await post(bucket, { fields: [['key', 'up/ck'], ['x-amz-checksum-sha256', sha256], ...signV4(base(bucket))], file: { content: data } });
    expect(good.status, good.text).toBe(204);
    expect(good.headers['x-amz-checksum-sha256']).toBe(sha256);
    const wrong = await post(bucket, { fields: [['key', 'up/ck2'], ['x-amz-checksum-sha256', createHash('sha256').update('other').digest('base64')], ...signV4(base(bucket))], file: { content: data } });
    expectError(wrong, 400, 'BadDigest');
    const invalid = await post(bucket, { fields: [['key', 'up/ck3'], ['x-amz-checksum-sha256', 'sailorjerry'], ...signV4(base(bucket))], file: { content: data } });
    expectError(invalid, 400, 'InvalidRequest');
    const md5 = createHash('md5').update('other').digest('base64');
    const badMd5 = await post(bucket, { fields: [['key', 'up/ck4'], ['Content-MD5', md5], ...signV4([...base(bucket), ['starts-with', '$Content-MD5', '']])], file: { content: data } });
    expectError(badMd5, 400, 'BadDigest');
    expect(await keys(bucket)).not.toEqual(expect.arrayContaining(['up/ck2']));
  });

  it('accepts case-insensitive field names, x-ignore-* fields, and ignores fields after the file', async () => {
    const res = await post(bucket, {
      fields: [['KEY', 'up/case'], ['x-ignore-comment', 'anything'], ['CoNtEnT-TyPe', 'text/csv'], ...signV4([...base(bucket), { 'content-type': 'text/csv' }])],
      file: { content: 'a,b' },
      after: [['acl', 'public-read'], ['x-amz-meta-late', 'x']],
    });
    expect(res.status, res.text).toBe(204);
    const { res: got } = await getObject(bucket, 'up/case');
    expect(got.ContentType).toBe('text/csv');
    expect(got.Metadata).toEqual({});
  });

  it("ignores the file part's own Content-Type: only the policy-checked field sets it", async () => {
    const res = await post(bucket, { fields: [['key', 'up/typed'], ...signV4(base(bucket))], file: { filename: 'x.html', contentType: 'text/html', content: '<script></script>' } });
    expect(res.status, res.text).toBe(204);
    expect((await getObject(bucket, 'up/typed')).res.ContentType).toBe('binary/octet-stream');
  });

  it('accepts the legacy SigV2 form', async () => {
    const res = await post(bucket, { fields: [['key', 'up/v2'], ...signV2(base(bucket))], file: { content: 'v2' } });
    expect(res.status, res.text).toBe(204);
    expect((await getObject(bucket, 'up/v2')).body.toString()).toBe('v2');
  });

  it('streams a 20 MiB file through without changing a byte', async () => {
    const size = 20 * 1024 * 1024;
    const seed = randomBytes(64 * 1024);
    const expected = createHash('sha256');
    async function* content(): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < size; sent += seed.length) {
        // Vary each chunk so that a misplaced chunk would change the digest.
        const chunk = Buffer.from(seed);
        chunk.writeUInt32BE(sent / seed.length, 0);
        expected.update(chunk);
        yield chunk;
      }
    }
    const res = await post(bucket, {
      fields: [['key', 'up/big.bin'], ...signV4([...base(bucket), ['content-length-range', size, size]])],
      file: { filename: 'big.bin', content: content },
    });
    expect(res.status, res.text).toBe(204);
    const { res: got, body } = await getObject(bucket, 'up/big.bin');
    expect(got.ContentLength).toBe(size);
    expect(createHash('sha256').update(body).digest('hex')).toBe(expected.digest('hex'));
  });
});

describe('policy conditions', () => {
  it('exact match: passes, and fails with AccessDenied', async () => {
    const cond = [...base(bucket), ['eq', '$x-amz-meta-project', 'apollo']];
    expect((await post(bucket, { fields: [['key', 'up/eq'], ['x-amz-meta-project', 'apollo'], ...signV4(cond)], file: { content: '1' } })).status).toBe(204);
    const res = await post(bucket, { fields: [['key', 'up/eq2'], ['x-amz-meta-project', 'gemini'], ...signV4(cond)], file: { content: '1' } });
    expectError(res, 403, 'AccessDenied');
    expect(res.text).toContain('Invalid according to Policy: Policy Condition failed: ["eq", "$x-amz-meta-project", "apollo"]');
  });

  it('starts-with: passes, and fails with AccessDenied', async () => {
    expect((await post(bucket, { fields: [['key', 'up/sw'], ...signV4(base(bucket, 'up/s'))], file: { content: '1' } })).status).toBe(204);
    expectError(await post(bucket, { fields: [['key', 'down/sw'], ...signV4(base(bucket, 'up/'))], file: { content: '1' } }), 403, 'AccessDenied');
  });

  it('the bucket condition names the bucket of the URL, whatever a bucket field says', async () => {
    const res = await post(publicBucket, { fields: [['key', 'up/wrong-bucket'], ['bucket', bucket], ...signV4(base(bucket))], file: { content: '1' } });
    expectError(res, 403, 'AccessDenied');
  });

  it('every field needs a condition', async () => {
    const res = await post(bucket, { fields: [['key', 'up/extra'], ['x-amz-meta-sneaky', '1'], ...signV4(base(bucket))], file: { content: '1' } });
    expectError(res, 403, 'AccessDenied');
    expect(res.text).toContain('Extra input fields: x-amz-meta-sneaky');
    const noBucket = await post(bucket, { fields: [['key', 'up/nobucket'], ...signV4([['starts-with', '$key', 'up/']])], file: { content: '1' } });
    expectError(noBucket, 403, 'AccessDenied');
    const noCredential = await post(bucket, { fields: [['key', 'up/nocred'], ...signV4(base(bucket), { bareConditions: true })], file: { content: '1' } });
    expectError(noCredential, 403, 'AccessDenied');
  });

  it('content-length-range: within passes, above is EntityTooLarge, below is EntityTooSmall', async () => {
    const cond = [...base(bucket), ['content-length-range', 5, 10]];
    expect((await post(bucket, { fields: [['key', 'up/len'], ...signV4(cond)], file: { content: '12345' } })).status).toBe(204);
    expect((await post(bucket, { fields: [['key', 'up/len'], ...signV4(cond)], file: { content: '1234567890' } })).status).toBe(204);
    const large = await post(bucket, { fields: [['key', 'up/len-large'], ...signV4(cond)], file: { content: '12345678901' } });
    expectError(large, 400, 'EntityTooLarge');
    expect(large.text).toContain('<MaxSizeAllowed>10</MaxSizeAllowed>');
    const small = await post(bucket, { fields: [['key', 'up/len-small'], ...signV4(cond)], file: { content: '1234' } });
    expectError(small, 400, 'EntityTooSmall');
    expect(small.text).toContain('<MinSizeAllowed>5</MinSizeAllowed>');
  });

  it('an expired policy is AccessDenied', async () => {
    const res = await post(bucket, { fields: [['key', 'up/expired'], ...signV4(base(bucket), { expiration: new Date(Date.now() - 1000) })], file: { content: '1' } });
    expectError(res, 403, 'AccessDenied');
    expect(res.text).toContain('Policy expired.');
  });

  it('a malformed policy is InvalidPolicyDocument', async () => {
    const fields = signV4(base(bucket));
    // Re-sign a document without conditions.
    const doc = Buffer.from(JSON.stringify({ expiration: new Date(Date.now() + 60_000).toISOString() })).toString('base64');
    const cred = fields.find(([n]) => n === 'x-amz-credential')![1];
    const day = cred.split('/')[1];
    let k: Buffer = createHmac('sha256', 'AWS4' + testSecretKey).update(day).digest();
    for (const part of ['us-east-1', 's3', 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
    const patched = fields.map(([n, v]): [string, string] => [n, n === 'policy' ? doc : n === 'x-amz-signature' ? createHmac('sha256', k).update(doc).digest('hex') : v]);
    expectError(await post(bucket, { fields: [['key', 'up/malformed'], ...patched], file: { content: '1' } }), 400, 'InvalidPolicyDocument');
  });
});

describe('authentication and authorization', () => {
  it('a wrong signature is SignatureDoesNotMatch', async () => {
    const fields = signV4(base(bucket)).map(([n, v]): [string, string] => [n, n === 'x-amz-signature' ? v.replace(/^./, (c) => (c === '0' ? '1' : '0')) : v]);
    expectError(await post(bucket, { fields: [['key', 'up/badsig'], ...fields], file: { content: '1' } }), 403, 'SignatureDoesNotMatch');
    expectError(await post(bucket, { fields: [['key', 'up/badsig'], ...signV4(base(bucket), { secretKey: 'not-the-secret' })], file: { content: '1' } }), 403, 'SignatureDoesNotMatch');
    expectError(await post(bucket, { fields: [['key', 'up/badsig'], ...signV2(base(bucket), { secretKey: 'not-the-secret' })], file: { content: '1' } }), 403, 'SignatureDoesNotMatch');
  });

  it('an unknown access key is InvalidAccessKeyId', async () => {
    expectError(await post(bucket, { fields: [['key', 'up/nokey'], ...signV4(base(bucket), { accessKey: 'AKNOSUCHKEY000000000' })], file: { content: '1' } }), 403, 'InvalidAccessKeyId');
    expectError(await post(bucket, { fields: [['key', 'up/nokey'], ...signV2(base(bucket), { accessKey: 'AKNOSUCHKEY000000000' })], file: { content: '1' } }), 403, 'InvalidAccessKeyId');
  });

  it('a valid signature of a key without rights on the bucket is AccessDenied', async () => {
    const { accessKey, secretKey } = generateCredentials();
    await server.services.identity.addKey({ org: 'outsider', user: 'eve', namespace: 'outsider', level: 'full', accessKey, secretKey, secretName: 'outsider-eve-creds' });
    expectError(await post(bucket, { fields: [['key', 'up/outsider'], ...signV4(base(bucket), { accessKey, secretKey })], file: { content: '1' } }), 403, 'AccessDenied');
    // The same key may write to the bucket that lets anyone write.
    expect((await post(publicBucket, { fields: [['key', 'up/outsider'], ...signV4(base(publicBucket), { accessKey, secretKey })], file: { content: '1' } })).status).toBe(204);
  });

  it('the acl field needs what PutObjectAcl needs: a readwrite key cannot publish with it', async () => {
    const { accessKey, secretKey } = generateCredentials();
    await server.services.identity.addKey({ org: 'default', user: 'rw-poster', namespace: 'default', level: 'readwrite', accessKey, secretKey, secretName: 'default-rw-poster-creds' });
    const fields = (key: string, acl: string): [string, string][] => [['key', key], ['acl', acl], ...signV4([...base(bucket), { acl }], { accessKey, secretKey })];
    expectError(await post(bucket, { fields: fields('up/rw-public.txt', 'public-read'), file: { content: 'leak' } }), 403, 'AccessDenied');
    expect(await keys(bucket)).not.toContain('up/rw-public.txt');
    // A private ACL opens nothing, so the readwrite key may name it.
    expect((await post(bucket, { fields: fields('up/rw-private.txt', 'private'), file: { content: 'kept' } })).status).toBe(204);
    const anon = await request(`http://127.0.0.1:${server.port}/${bucket}/up/rw-private.txt`);
    expect(anon.statusCode).toBe(403);
    await anon.body.dump();
  });

  it('anonymous uploads need a bucket that lets anyone write', async () => {
    const pub = await post(publicBucket, { fields: [['key', 'anon.txt'], ['Content-Type', 'text/plain']], file: { content: 'from anyone' } });
    expect(pub.status, pub.text).toBe(204);
    expect((await getObject(publicBucket, 'anon.txt')).body.toString()).toBe('from anyone');
    expectError(await post(bucket, { fields: [['key', 'anon.txt']], file: { content: 'from anyone' } }), 403, 'AccessDenied');
  });

  it('a bucket policy can let anonymous users upload under a prefix', async () => {
    const name = `post-pol-${randomBytes(4).toString('hex')}`;
    const client = server.client();
    await client.send(new CreateBucketCommand({ Bucket: name }));
    await client.send(new PutBucketAclCommand({ Bucket: name, ACL: 'private' }));
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${name}/inbox/*` }] };
    await client.send(new PutBucketPolicyCommand({ Bucket: name, Policy: JSON.stringify(policy) }));
    expect((await post(name, { fields: [['key', 'inbox/a']], file: { content: '1' } })).status).toBe(204);
    expectError(await post(name, { fields: [['key', 'other/a']], file: { content: '1' } }), 403, 'AccessDenied');
  });

  it('signature fields without a policy are refused', async () => {
    expectError(await post(bucket, { fields: [['key', 'up/x'], ['AWSAccessKeyId', testAccessKey], ['signature', 'abc']], file: { content: '1' } }), 400, 'InvalidArgument');
  });
});

describe('malformed requests', () => {
  it('no key field is InvalidArgument', async () => {
    const res = await post(bucket, { fields: signV4(base(bucket)), file: { content: '1' } });
    expectError(res, 400, 'InvalidArgument');
    expect(res.text).toContain("Bucket POST must contain a field named 'key'");
  });

  it('no file field is IncorrectNumberOfFilesInPostRequest', async () => {
    expectError(await post(bucket, { fields: [['key', 'up/nofile'], ...signV4(base(bucket))] }), 400, 'IncorrectNumberOfFilesInPostRequest');
  });

  it('a body that is not multipart/form-data is refused', async () => {
    const res = await request(`http://127.0.0.1:${server.port}/${bucket}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=a&file=b' });
    expect(res.statusCode).toBe(412);
    expect(errorCode(await res.body.text())).toBe('PreconditionFailed');
    const truncated = await request(`http://127.0.0.1:${server.port}/${publicBucket}`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nup/t\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end`,
    });
    expect(truncated.statusCode).toBe(400);
    expect(errorCode(await truncated.body.text())).toBe('MalformedPOSTRequest');
  });

  it('a field larger than 20 KB is MaxPostPreDataLengthExceededError', async () => {
    const res = await post(publicBucket, { fields: [['key', 'big-field'], ['x-amz-meta-big', 'x'.repeat(21 * 1024)]], file: { content: '1' } });
    expectError(res, 400, 'MaxPostPreDataLengthExceededError');
  });

  it('repeated fields are refused', async () => {
    expectError(await post(publicBucket, { fields: [['key', 'dup'], ['Key', 'dup2']], file: { content: '1' } }), 400, 'InvalidArgument');
  });
});

describe('nothing is stored on failure', () => {
  it('leaves no object, blob or temporary file behind', async () => {
    const name = `post-fail-${randomBytes(4).toString('hex')}`;
    await server.client().send(new CreateBucketCommand({ Bucket: name }));
    const before = storedFiles();
    const failures: Form[] = [
      { fields: [['key', 'f/large'], ...signV4([...base(name, 'f/'), ['content-length-range', 0, 1000]])], file: { content: Buffer.alloc(200_000, 1) } },
      { fields: [['key', 'f/small'], ...signV4([...base(name, 'f/'), ['content-length-range', 1000, 2000]])], file: { content: 'tiny' } },
      { fields: [['key', 'f/md5'], ['Content-MD5', createHash('md5').update('x').digest('base64')], ...signV4([...base(name, 'f/'), ['starts-with', '$Content-MD5', '']])], file: { content: 'y' } },
      { fields: [['key', 'f/sig'], ...signV4(base(name, 'f/'), { secretKey: 'wrong' })], file: { content: 'y' } },
      { fields: [['key', 'f/cond'], ...signV4(base(name, 'g/'))], file: { content: 'y' } },
      { fields: [['key', 'f/expired'], ...signV4(base(name, 'f/'), { expiration: new Date(Date.now() - 1) })], file: { content: 'y' } },
      { fields: [['key', 'f/anon']], file: { content: 'y' } },
    ];
    for (const form of failures) {
      const res = await post(name, form);
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
    }
    // A body cut inside the file.
    const cut = await request(`http://127.0.0.1:${server.port}/${name}`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat([fieldPart('key', 'f/cut'), ...signV4(base(name, 'f/')).map(([n, v]) => fieldPart(n, v)), Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\n`), Buffer.alloc(100_000, 2)]),
    });
    expect(cut.statusCode).toBe(400);
    await cut.body.dump();
    // A client that goes away in the middle of the file.
    await new Promise<void>((resolve, reject) => {
      const head = Buffer.concat([fieldPart('key', 'f/aborted'), ...signV4(base(name, 'f/')).map(([n, v]) => fieldPart(n, v)), Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\n`)]);
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(`POST /${name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + 1_000_000}\r\n\r\n`);
        socket.write(head);
        socket.write(Buffer.alloc(300_000, 3), () => setTimeout(() => socket.destroy(), 200));
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(await keys(name)).toEqual([]);
    expect(storedFiles()).toBe(before);
  });
});
