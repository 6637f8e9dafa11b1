// Access logs as JSON lines: one per S3 request, with the request id the client saw in
// x-amz-request-id, the operation, region, bucket, key, status, error code, bytes, duration,
// principal and source address; never a secret key, a signature or an Authorization header.
// Written to a file by an in-process server, and to stdout by `bin/strata serve`.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../../src/logging/access-log.ts';
import { killChildren, startChild } from '../helpers/child-server.ts';
import { addTestKey, sendAs, type Creds } from '../helpers/principals.ts';
import { sdkError, startTestServer, testAccessKey, testSecretKey, type TestServer } from '../helpers/server.ts';

type Line = AccessLogEntry & { level: string; time: string; msg: string };

const parseLines = (text: string): Line[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

describe('access log to a file', () => {
  let server: TestServer;
  let logDir: string;
  let logFile: string;
  let reader: Creds;
  let text = '';
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'strata-access-log-'));
    logFile = join(logDir, 'logs', 'access.jsonl');
    server = await startTestServer({ accessLog: logFile });
    reader = await addTestKey(server, 'default', 'log-reader', 'read');
    const s3 = server.client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    await s3.send(new CreateBucketCommand({ Bucket: 'logged' }));
    ids.put = (await s3.send(new PutObjectCommand({ Bucket: 'logged', Key: 'dir/a b.txt', Body: 'twelve bytes' }))).$metadata.requestId!;
    ids.get = (await server.client({ credentials: reader }).send(new GetObjectCommand({ Bucket: 'logged', Key: 'dir/a b.txt' }))).$metadata.requestId!;
    ids.missing = (await sdkError(s3.send(new GetObjectCommand({ Bucket: 'logged', Key: 'nope' })))).$metadata.requestId!;
    const anonymous = await sendAs(server, 'anonymous', 'GET', '/logged/dir/a%20b.txt');
    expect(anonymous.status).toBe(403);
    ids.anonymous = String(anonymous.headers['x-amz-request-id']);
    const presigned = await getSignedUrl(s3 as unknown as S3Client, new GetObjectCommand({ Bucket: 'logged', Key: 'dir/a b.txt' }), { expiresIn: 60 });
    const viaUrl = await request(presigned);
    expect(await viaUrl.body.text()).toBe('twelve bytes');
    ids.presigned = String(viaUrl.headers['x-amz-request-id']);
    // Closing the server flushes the log.
    await server.stop();
    text = readFileSync(logFile, 'utf8');
  });
  afterAll(async () => {
    rmSync(logDir, { recursive: true, force: true });
  });

  const line = (id: string) => {
    const found = parseLines(text).filter((l) => l.requestId === id);
    expect(found, `one line for ${id}`).toHaveLength(1);
    return found[0];
  };

  it('writes one JSON line per request, each named by the x-amz-request-id its client got', () => {
    const lines = parseLines(text);
    // CreateBucket, PutObject, GetObject, the missing key, the anonymous read, the presigned read
    expect(lines.map((l) => l.operation)).toEqual(['CreateBucket', 'PutObject', 'GetObject', 'GetObject', 'GetObject', 'GetObject']);
  });

  it('records operation, region, bucket, key, status, bytes and principal', () => {
    const put = line(ids.put);
    expect(put).toMatchObject({ msg: 'access', level: 'info', operation: 'PutObject', method: 'PUT', region: 'lga1', bucket: 'logged', key: 'dir/a b.txt', status: 200, bytesReceived: 12, bytesSent: 0, org: 'default', user: 'admin', accessKey: testAccessKey, sourceIp: '127.0.0.1' });
    expect(put.errorCode).toBeUndefined();
    expect(put.durationMs).toBeGreaterThan(0);
    expect(new Date(put.time).toISOString()).toBe(put.time);
    expect(line(ids.get)).toMatchObject({ operation: 'GetObject', status: 200, bytesSent: 12, user: 'log-reader', accessKey: reader.accessKeyId });
    expect(line(ids.missing)).toMatchObject({ operation: 'GetObject', key: 'nope', status: 404, errorCode: 'NoSuchKey' });
    const anonymous = line(ids.anonymous);
    expect(anonymous).toMatchObject({ operation: 'GetObject', status: 403, errorCode: 'AccessDenied' });
    expect(anonymous.org).toBeUndefined();
    expect(line(ids.presigned)).toMatchObject({ operation: 'GetObject', status: 200, user: 'admin' });
  });

  it('never holds a secret key, a signature or an Authorization header', () => {
    expect(text).not.toContain(testSecretKey);
    expect(text).not.toContain(reader.secretAccessKey);
    expect(text).not.toMatch(/Signature|AWS4-HMAC-SHA256|authorization/i);
  });

  it('is a file only its owner can read', () => {
    expect(statSync(logFile).mode & 0o077).toBe(0);
  });
});

describe('access log to stdout (bin/strata serve)', () => {
  afterAll(killChildren);

  it('prints a JSON line per request beside the start-up text', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strata-access-stdout-'));
    try {
      const child = await startChild(dataDir, { STRATA_ACCESS_LOG: 'stdout' });
      let out = '';
      child.proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const s3 = new S3Client({ endpoint: child.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } });
      const id = (await s3.send(new CreateBucketCommand({ Bucket: 'from-stdout' }))).$metadata.requestId!;
      s3.destroy();
      for (let i = 0; i < 100 && !out.includes(id); i++) await new Promise((r) => setTimeout(r, 20));
      const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
      expect(lines.find((l) => l.requestId === id)).toMatchObject({ operation: 'CreateBucket', bucket: 'from-stdout', status: 200, org: 'default' });
      expect(out).not.toContain(testSecretKey);
    } finally {
      await killChildren();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
