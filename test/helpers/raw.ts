// Hand-made requests for edge cases: signed with aws4 (or not at all) and sent with undici,
// optionally with a Host header that names a region or a virtual-hosted bucket while the
// connection still goes to 127.0.0.1.
import aws4 from 'aws4';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { expect } from 'vitest';
import { testAccessKey, testSecretKey } from './server.ts';

export interface RawRequest {
  method?: string;
  path: string;
  /** Host header to send and sign (default 127.0.0.1:port) */
  host?: string;
  headers?: Record<string, string>;
  /** a stream is sent with Transfer-Encoding: chunked and signed as UNSIGNED-PAYLOAD */
  body?: string | Buffer | Readable;
  /** sign with these credentials; `false` sends an anonymous request */
  sign?: { accessKeyId: string; secretAccessKey: string; region?: string } | false;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export async function rawRequest(port: number, req: RawRequest): Promise<RawResponse> {
  const host = req.host ?? `127.0.0.1:${port}`;
  let headers: Record<string, string> = { ...(req.headers ?? {}) };
  const sign = req.sign === undefined ? { accessKeyId: testAccessKey, secretAccessKey: testSecretKey } : req.sign;
  if (sign) {
    const streamed = req.body !== undefined && typeof req.body !== 'string' && !Buffer.isBuffer(req.body);
    const opts = {
      host,
      path: req.path,
      method: req.method ?? 'GET',
      headers: streamed ? { ...headers, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } : { ...headers },
      body: streamed ? undefined : (req.body as string | Buffer | undefined),
      service: 's3',
      region: sign.region ?? 'us-east-1',
    };
    aws4.sign(opts, { accessKeyId: sign.accessKeyId, secretAccessKey: sign.secretAccessKey });
    headers = opts.headers as Record<string, string>;
  }
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'host') delete headers[name];
  headers.host = host;
  const res = await request(`http://127.0.0.1:${port}${req.path}`, { method: (req.method ?? 'GET') as 'GET', headers, body: req.body });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, text: body.toString('utf8') };
}

/** The <Code> of an S3 error document. */
export function errorCode(text: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
}

/** Await a response and assert its status (200 by default). */
export async function expectStatus(p: Promise<RawResponse>, status = 200): Promise<RawResponse> {
  const res = await p;
  expect(res.status, `${res.status} ${res.text}`).toBe(status);
  return res;
}

/** Await a refused response: its status and, when it has a body, its S3 error code. */
export async function expectRefused(p: Promise<RawResponse>, code = 'AccessDenied', status = 403): Promise<RawResponse> {
  const res = await expectStatus(p, status);
  if (res.body.length > 0) expect(errorCode(res.text)).toBe(code);
  return res;
}
