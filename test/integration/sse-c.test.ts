// SSE-C end to end: the SDK and the seed's own aws CLI commands over HTTPS with a self-signed
// certificate, every error case, ranges, multipart and copies, and a scan of the data root
// proving that neither the plaintext nor the key reached the disk.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
let server: TestServer;
let s3: S3Client;
let certDir: string;
const key = randomBytes(32);
const otherKey = randomBytes(32);
const marker = Buffer.from('STRATA-PLAINTEXT-MARKER-9f8e7d6c5b4a'.padEnd(48, '#'));

async function expectS3Error(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const e = err as S3ServiceException;
    // HEAD errors have no body, so the SDK may not be able to name them: then the status is what counts.
    if (!['BadRequest', 'Unknown'].includes(e.name)) expect(e.name).toBe(code);
    expect(e.$metadata.httpStatusCode).toBe(status);
    return;
  }
  throw new Error(`expected ${code}, but the request succeeded`);
}

function* filesUnder(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* filesUnder(p);
    else yield p;
  }
}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'strata-tls-'));
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1',
  ]);
  server = await startTestServer({ tlsCert: join(certDir, 'cert.pem'), tlsKey: join(certDir, 'key.pem'), tlsPort: 0, trustedProxies: ['127.0.0.1'] });
  s3 = server.client({
    endpoint: server.tlsEndpoint,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(join(certDir, 'cert.pem')) }) }),
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'sse-bucket' }));
});
afterAll(async () => {
  await server.stop();
});

const withKey = (k: Buffer) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(k).digest('base64') });

describe('SSE-C', () => {
  const body = Buffer.concat([randomBytes(70_000), marker, randomBytes(200_000), marker, randomBytes(1234)]);

  it('encrypts on PUT, decrypts on GET and HEAD with the same key, echoing the key MD5', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'sse-bucket', Key: 'secret.bin', Body: body, ...withKey(key) }));
    expect(put.SSECustomerAlgorithm).toBe('AES256');
    expect(put.SSECustomerKeyMD5).toBe(withKey(key).SSECustomerKeyMD5);
    expect(put.ETag).not.toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'secret.bin', ...withKey(key) }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sse-bucket', Key: 'secret.bin', ...withKey(key) }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.SSECustomerKeyMD5).toBe(withKey(key).SSECustomerKeyMD5);
  });

  it('serves ranges across chunk boundaries, reporting the plaintext size', async () => {
    for (const [a, b] of [[0, 0], [65535, 65537], [65536, 200_000], [body.length - 10, body.length - 1], [1, body.length - 2]]) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'secret.bin', Range: `bytes=${a}-${b}`, ...withKey(key) }));
      expect(got.ContentRange).toBe(`bytes ${a}-${b}/${body.length}`);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body.subarray(a, b + 1))).toBe(true);
    }
  });

  it('answers every key error as AWS does', async () => {
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'secret.bin' })), 'InvalidRequest', 400);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'secret.bin', ...withKey(otherKey) })), 'AccessDenied', 403);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: 'sse-bucket', Key: 'secret.bin', ...withKey(otherKey) })), 'Forbidden', 403);
    await s3.send(new PutObjectCommand({ Bucket: 'sse-bucket', Key: 'plain.txt', Body: 'plain' }));
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'plain.txt', ...withKey(key) })), 'InvalidRequest', 400);
    // The SDK computes the key MD5 itself, so malformed headers are sent by hand.
    const sseHeaders = (k: Buffer, md5 = createHash('md5').update(k).digest('base64'), algorithm = 'AES256') => ({
      'x-amz-server-side-encryption-customer-algorithm': algorithm,
      'x-amz-server-side-encryption-customer-key': k.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': md5,
    });
    const cases: [string, Record<string, string>, string][] = [
      ['bad-md5', sseHeaders(key, createHash('md5').update('nope').digest('base64')), 'InvalidArgument'],
      ['bad-alg', sseHeaders(key, undefined, 'AES128'), 'InvalidEncryptionAlgorithmError'],
      ['short-key', sseHeaders(randomBytes(16)), 'InvalidArgument'],
      ['no-algorithm', { 'x-amz-server-side-encryption-customer-key': key.toString('base64') }, 'InvalidArgument'],
    ];
    for (const [name, headers, code] of cases) {
      const res = await rawRequest(server.port, { method: 'PUT', path: `/sse-bucket/${name}`, headers, body: 'x' });
      expect(res.status, name).toBe(400);
      expect(errorCode(res.text), name).toBe(code);
    }
    for (const k of ['bad-md5', 'bad-alg', 'short-key']) await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: 'sse-bucket', Key: k })), 'NotFound', 404);
  });

  it('refuses SSE-C over plain HTTP from a non-loopback client', async () => {
    const headers = {
      'x-forwarded-for': '203.0.113.9',
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
    };
    const res = await rawRequest(server.port, { method: 'PUT', path: '/sse-bucket/over-http', headers, body: 'x' });
    expect(res.status).toBe(400);
    expect(errorCode(res.text)).toBe('InvalidRequest');
    expect(res.text).toContain('secure connection');
    const loopback = await rawRequest(server.port, { method: 'PUT', path: '/sse-bucket/over-loopback', headers: { ...headers, 'x-forwarded-for': '127.0.0.1' }, body: 'x' });
    expect(loopback.status).toBe(200);
  });

  it('encrypts multipart parts independently and reads across part boundaries', async () => {
    const parts = [randomBytes(5 * MiB), Buffer.concat([marker, randomBytes(3000)])];
    const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sse-bucket', Key: 'mp-secret', ...withKey(key) }));
    const etags = [];
    for (let i = 0; i < 2; i++) {
      const r = await s3.send(new UploadPartCommand({ Bucket: 'sse-bucket', Key: 'mp-secret', UploadId: create.UploadId, PartNumber: i + 1, Body: parts[i], ...withKey(key) }));
      etags.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await expectS3Error(s3.send(new UploadPartCommand({ Bucket: 'sse-bucket', Key: 'mp-secret', UploadId: create.UploadId, PartNumber: 3, Body: 'x', ...withKey(otherKey) })), 'InvalidRequest', 400);
    await expectS3Error(s3.send(new UploadPartCommand({ Bucket: 'sse-bucket', Key: 'mp-secret', UploadId: create.UploadId, PartNumber: 3, Body: 'x' })), 'InvalidRequest', 400);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'sse-bucket', Key: 'mp-secret', UploadId: create.UploadId, MultipartUpload: { Parts: etags } }));
    const whole = Buffer.concat(parts);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'mp-secret', ...withKey(key) }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(whole)).toBe(true);
    const a = 5 * MiB - 100;
    const range = await s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'mp-secret', Range: `bytes=${a}-${a + 199}`, ...withKey(key) }));
    expect(Buffer.from(await range.Body!.transformToByteArray()).equals(whole.subarray(a, a + 200))).toBe(true);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'mp-secret' })), 'InvalidRequest', 400);
  });

  it('copies between keys, decrypting the source and re-encrypting the destination as asked', async () => {
    // A body without the marker: one copy below is stored decrypted, on purpose.
    const copyBody = randomBytes(150_000);
    await s3.send(new PutObjectCommand({ Bucket: 'sse-bucket', Key: 'copy-source.bin', Body: copyBody, ...withKey(key) }));
    const copySource = { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: key.toString('base64'), CopySourceSSECustomerKeyMD5: withKey(key).SSECustomerKeyMD5 };
    await s3.send(new CopyObjectCommand({ Bucket: 'sse-bucket', Key: 're-encrypted', CopySource: 'sse-bucket/copy-source.bin', ...copySource, ...withKey(otherKey) }));
    const re = await s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 're-encrypted', ...withKey(otherKey) }));
    expect(Buffer.from(await re.Body!.transformToByteArray()).equals(copyBody)).toBe(true);
    await s3.send(new CopyObjectCommand({ Bucket: 'sse-bucket', Key: 'decrypted', CopySource: 'sse-bucket/copy-source.bin', ...copySource }));
    const plain = await s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'decrypted' }));
    expect(Buffer.from(await plain.Body!.transformToByteArray()).equals(copyBody)).toBe(true);
    await expectS3Error(s3.send(new CopyObjectCommand({ Bucket: 'sse-bucket', Key: 'no-source-key', CopySource: 'sse-bucket/copy-source.bin' })), 'InvalidRequest', 400);
    await s3.send(new CopyObjectCommand({ Bucket: 'sse-bucket', Key: 'encrypted-copy', CopySource: 'sse-bucket/plain.txt', ...withKey(key) }));
    const enc = await s3.send(new GetObjectCommand({ Bucket: 'sse-bucket', Key: 'encrypted-copy', ...withKey(key) }));
    expect(await enc.Body!.transformToString()).toBe('plain');
  });

  it("runs the seed's aws CLI commands verbatim over HTTPS with --ca-bundle", async () => {
    const work = mkdtempSync(join(tmpdir(), 'strata-seed-sse-'));
    onTestFinished(() => rmSync(work, { recursive: true, force: true }));
    const env = {
      PATH: process.env.PATH,
      HOME: work,
      AWS_ACCESS_KEY_ID: server.accessKey,
      AWS_SECRET_ACCESS_KEY: server.secretKey,
      AWS_DEFAULT_REGION: 'default',
      AWS_CONFIG_FILE: join(work, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'none2'),
    };
    await run('openssl', ['rand', '-out', join(work, 'sse.key'), '32'], { cwd: work });
    writeFileSync(join(work, 'your-file.txt'), Buffer.concat([marker, Buffer.from(' seed walkthrough\n')]));
    const endpoint = `https://127.0.0.1:${server.tlsPort}`;
    const ca = join(certDir, 'cert.pem');
    const aws = (...args: string[]) => run('aws', ['s3', `--endpoint-url=${endpoint}`, '--ca-bundle', ca, ...args], { env, cwd: work, timeout: 60_000 });
    await aws('mb', 's3://your-bucket');
    await aws('cp', 'your-file.txt', 's3://your-bucket/your-file.txt', '--sse-c-key=fileb://sse.key', '--sse-c', 'AES256');
    writeFileSync(join(work, 'your-file.txt'), 'overwritten locally');
    await aws('cp', 's3://your-bucket/your-file.txt', 'your-file.txt', '--sse-c-key=fileb://sse.key', '--sse-c', 'AES256');
    expect(readFileSync(join(work, 'your-file.txt')).subarray(0, marker.length).equals(marker)).toBe(true);
    await expect(aws('cp', 's3://your-bucket/your-file.txt', 'no-key.txt')).rejects.toThrow();
  });

  it('reflects the real transport in aws:SecureTransport', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'tls-only' }));
    await s3.send(new PutObjectCommand({ Bucket: 'tls-only', Key: 'k', Body: 'v' }));
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::tls-only/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'tls-only', Policy: JSON.stringify(policy) }));
    const overHttp = await rawRequest(server.port, { path: '/tls-only/k' });
    expect(overHttp.status).toBe(403);
    const overHttps = await s3.send(new GetObjectCommand({ Bucket: 'tls-only', Key: 'k' }));
    expect(await overHttps.Body!.transformToString()).toBe('v');
  });

  it('never writes the plaintext or the key to the data root', () => {
    const needles = [marker, key, Buffer.from(key.toString('base64')), otherKey, Buffer.from(otherKey.toString('base64'))];
    let scanned = 0;
    for (const file of filesUnder(server.dataDir)) {
      const bytes = readFileSync(file);
      scanned += bytes.length;
      for (const needle of needles) expect(bytes.includes(needle), `${file} contains a secret`).toBe(false);
    }
    expect(scanned).toBeGreaterThan(5 * MiB);
  });
});
