// Hand-made requests for the edge cases real SDKs never send: bad signatures, skewed clocks,
// payload hashes that lie, forged chunk signatures, malformed XML, oversize declarations. Each
// must get the right S3 error and change nothing.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSigningKey, formatAmzDate } from '../../src/auth/sigv4.ts';
import { signRequest } from '../unit/auth-helpers.ts';
import { errorCode, rawRequest } from '../helpers/raw.ts';
import { startTestServer, testAccessKey, testSecretKey, type TestServer } from '../helpers/server.ts';

let server: TestServer;
const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  server = await startTestServer();
  expect((await rawRequest(server.port, { method: 'PUT', path: '/edge-bucket' })).status).toBe(200);
});
afterAll(async () => {
  await server.stop();
});

async function exists(key: string): Promise<boolean> {
  return (await rawRequest(server.port, { method: 'HEAD', path: `/edge-bucket/${key}` })).status === 200;
}

/** Send an AuthInput produced by signRequest to the server. */
async function send(input: { method: string; rawUrl: string; headers: Record<string, string | string[] | undefined> }, body?: Buffer | string) {
  const headers = Object.fromEntries(Object.entries(input.headers).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
  const res = await request(`http://127.0.0.1:${server.port}${input.rawUrl}`, { method: input.method as 'PUT', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, text, headers: res.headers };
}

describe('authentication failures', () => {
  it('SignatureDoesNotMatch for a wrong secret, InvalidAccessKeyId for an unknown key', async () => {
    const wrong = await rawRequest(server.port, { path: '/edge-bucket', sign: { accessKeyId: testAccessKey, secretAccessKey: 'not-the-secret' } });
    expect([wrong.status, errorCode(wrong.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    const unknown = await rawRequest(server.port, { path: '/edge-bucket', sign: { accessKeyId: 'NOSUCHKEY00000000000', secretAccessKey: 'x' } });
    expect([unknown.status, errorCode(unknown.text)]).toEqual([403, 'InvalidAccessKeyId']);
  });

  it('RequestTimeTooSkewed beyond 15 minutes', async () => {
    const input = signRequest({
      rawUrl: '/edge-bucket',
      headers: { host: `127.0.0.1:${server.port}` },
      accessKeyId: testAccessKey,
      secretKey: testSecretKey,
      date: new Date(Date.now() - 16 * 60_000),
    });
    const res = await send(input);
    expect([res.status, errorCode(res.text)]).toEqual([403, 'RequestTimeTooSkewed']);
    const fine = await send(signRequest({ rawUrl: '/edge-bucket', headers: { host: `127.0.0.1:${server.port}` }, accessKeyId: testAccessKey, secretKey: testSecretKey, date: new Date(Date.now() - 14 * 60_000) }));
    expect(fine.status).toBe(200);
  });

  // 6 bytes are stored inline in the database, 300 KiB go to a file through a writer thread that
  // computes the SHA-256: both must refuse the body and leave the previous object alone.
  it.each([6, 300 * 1024])('XAmzContentSHA256Mismatch when a %i-byte body is not what was signed, and nothing changes', async (size) => {
    const key = `lying-${size}`;
    const previous = randomBytes(size);
    expect((await rawRequest(server.port, { method: 'PUT', path: `/edge-bucket/${key}`, body: previous })).status).toBe(200);
    const honest = randomBytes(size);
    const forged = Buffer.from(honest);
    forged[size - 1] ^= 1;
    const input = signRequest({
      method: 'PUT',
      rawUrl: `/edge-bucket/${key}`,
      headers: { host: `127.0.0.1:${server.port}`, 'content-length': String(size) },
      accessKeyId: testAccessKey,
      secretKey: testSecretKey,
      date: new Date(),
      payloadHash: sha256(honest),
    });
    const res = await send(input, forged);
    expect([res.status, errorCode(res.text)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    const after = await rawRequest(server.port, { path: `/edge-bucket/${key}` });
    expect(after.status).toBe(200);
    expect(sha256(after.body)).toBe(sha256(previous));
    expect(readdirSync(join(server.dataDir, 'regions', 'lga1', 'tmp'))).toEqual([]);
  });

  it('SignatureDoesNotMatch for a forged chunk signature in a streaming upload, and nothing is stored', async () => {
    const date = new Date();
    const amzDate = formatAmzDate(date);
    const chunks = [randomBytes(70_000), randomBytes(1000)];
    const decodedLength = chunks.reduce((n, c) => n + c.length, 0);
    const build = (forgeIndex: number | undefined) => {
      const input = signRequest({
        method: 'PUT',
        rawUrl: '/edge-bucket/chunked',
        headers: {
          host: `127.0.0.1:${server.port}`,
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(decodedLength),
        },
        accessKeyId: testAccessKey,
        secretKey: testSecretKey,
        date,
        payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      });
      let previous = /Signature=([0-9a-f]{64})/.exec(String(input.headers.authorization))![1];
      const key = deriveSigningKey(testSecretKey, amzDate.slice(0, 8), 'us-east-1');
      const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
      const frames: Buffer[] = [];
      [...chunks, Buffer.alloc(0)].forEach((chunk, i) => {
        const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, sha256(''), sha256(chunk)].join('\n');
        let signature = createHmac('sha256', key).update(toSign).digest('hex');
        if (i === forgeIndex) signature = signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
        previous = signature;
        frames.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`), chunk, Buffer.from('\r\n'));
      });
      const body = Buffer.concat(frames);
      input.headers['content-length'] = String(body.length);
      return { input, body };
    };
    const forged = build(1);
    const bad = await send(forged.input, forged.body);
    expect([bad.status, errorCode(bad.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await exists('chunked')).toBe(false);
    const honest = build(undefined);
    const good = await send(honest.input, honest.body);
    expect(good.status).toBe(200);
    const back = await rawRequest(server.port, { path: '/edge-bucket/chunked' });
    expect(back.body.equals(Buffer.concat(chunks))).toBe(true);
  });
});

describe('malformed and oversize input', () => {
  it('MalformedXML for broken DeleteObjects and CompleteMultipartUpload documents', async () => {
    const body = '<Delete><Object><Key>x</Key></Object>';
    const del = await rawRequest(server.port, { method: 'POST', path: '/edge-bucket?delete', body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
    expect([del.status, errorCode(del.text)]).toEqual([400, 'MalformedXML']);
    const create = await rawRequest(server.port, { method: 'POST', path: '/edge-bucket/mp?uploads' });
    const uploadId = /<UploadId>([^<]+)</.exec(create.text)![1];
    const complete = await rawRequest(server.port, { method: 'POST', path: `/edge-bucket/mp?uploadId=${uploadId}`, body: '<CompleteMultipartUpload><Part>' });
    expect([complete.status, errorCode(complete.text)]).toEqual([400, 'MalformedXML']);
    const noIntegrity = await rawRequest(server.port, { method: 'POST', path: '/edge-bucket?delete', body: '<Delete><Object><Key>x</Key></Object></Delete>' });
    expect([noIntegrity.status, errorCode(noIntegrity.text)]).toEqual([400, 'InvalidRequest']);
  });

  it('MaxMessageLengthExceeded for a control document over the cap', async () => {
    const body = '<Delete>' + '<Object><Key>k</Key></Object>'.repeat(80_000) + '</Delete>';
    const res = await rawRequest(server.port, { method: 'POST', path: '/edge-bucket?delete', body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
    expect([res.status, errorCode(res.text)]).toEqual([400, 'MaxMessageLengthExceeded']);
  });

  it('EntityTooLarge for a declared PUT over 5 GiB, before any body byte is read', async () => {
    const res = await rawHttp([
      'PUT /edge-bucket/huge HTTP/1.1',
      `Host: 127.0.0.1:${server.port}`,
      'Content-Length: 6442450944',
      ...signedHeaderLines('PUT', '/edge-bucket/huge', { 'content-length': '6442450944' }),
    ]);
    expect(res).toMatch(/^HTTP\/1\.1 400/);
    expect(res).toContain('<Code>EntityTooLarge</Code>');
    expect(await exists('huge')).toBe(false);
  });

  it('MissingContentLength for a PUT that declares no length', async () => {
    const res = await rawHttp(['PUT /edge-bucket/nolength HTTP/1.1', `Host: 127.0.0.1:${server.port}`, ...signedHeaderLines('PUT', '/edge-bucket/nolength', {})]);
    expect(res).toMatch(/^HTTP\/1\.1 411/);
    expect(res).toContain('<Code>MissingContentLength</Code>');
  });
});

describe('protocol details', () => {
  it('answers CORS preflights unsigned: 400 without Origin, 403 AccessForbidden for a bucket without CORS rules', async () => {
    const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
    const options = async (path: string, headers: Record<string, string> = {}) => {
      const res = await request(url(path), { method: 'OPTIONS', headers });
      const text = await res.body.text();
      return [res.statusCode, errorCode(text)];
    };
    // Signature parameters on a preflight are not checked: browsers never sign one.
    const presignedLooking = '/edge-bucket/foo?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=100000&X-Amz-Signature=00';
    expect(await options(presignedLooking)).toEqual([400, 'BadRequest']);
    expect(await options('/edge-bucket', { origin: 'https://example.com' })).toEqual([400, 'BadRequest']);
    const preflight = { origin: 'https://example.com', 'access-control-request-method': 'GET' };
    expect(await options('/edge-bucket/foo', preflight)).toEqual([403, 'AccessForbidden']);
    expect(await options('/edge-bucket', preflight)).toEqual([403, 'AccessForbidden']);
    expect(await options('/no-such-bucket-here/foo', preflight)).toEqual([404, 'NoSuchBucket']);
  });

  it('x-amz-request-id on every response; HEAD errors without a body; NotImplemented as 501', async () => {
    const head = await rawRequest(server.port, { method: 'HEAD', path: '/edge-bucket/absent' });
    expect(head.status).toBe(404);
    expect(head.body.length).toBe(0);
    expect(head.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    const analytics = await rawRequest(server.port, { method: 'PUT', path: '/edge-bucket?analytics', body: '<AnalyticsConfiguration/>' });
    expect([analytics.status, errorCode(analytics.text)]).toEqual([501, 'NotImplemented']);
    expect(analytics.text).toContain(`<RequestId>${analytics.headers['x-amz-request-id']}</RequestId>`);
    const ok = await rawRequest(server.port, { path: '/' });
    expect(ok.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
  });
});

/** Signed headers for a request sent over a raw socket (UNSIGNED-PAYLOAD, no body follows). */
function signedHeaderLines(method: string, path: string, extra: Record<string, string>): string[] {
  const input = signRequest({ method, rawUrl: path, headers: { host: `127.0.0.1:${server.port}`, ...extra }, accessKeyId: testAccessKey, secretKey: testSecretKey, date: new Date(), payloadHash: 'UNSIGNED-PAYLOAD' });
  return Object.entries(input.headers)
    .filter(([k]) => k !== 'host' && k !== 'content-length')
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(',') : v}`);
}

/** Send request headers over a plain socket and read what the server answers, without sending a body. */
function rawHttp(lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(lines.join('\r\n') + '\r\n\r\n'));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 3000);
    socket.on('data', (d) => {
      data += d.toString();
      if (/\r\n\r\n[\s\S]*<\/Error>/.test(data)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('error', reject);
  });
}
