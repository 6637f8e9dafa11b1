// Shared fixtures for the auth unit tests: a small SigV4 signer built on the exported
// primitives (used to produce requests for the error-path tests; the primitives themselves are
// pinned by the published AWS vectors in auth-sigv4.test.ts), and a capture of real AWS SDK
// requests (an independent signer) without any network.
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import {
  canonicalRequest, credentialScope, deriveSigningKey, formatAmzDate, hmacHex, stringToSign,
  type AuthInput,
} from '../../src/auth/sigv4.ts';

export const S3_DOC_AKID = 'AKIAIOSFODNN7EXAMPLE';
export const S3_DOC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SignOptions {
  method?: string;
  rawUrl: string;
  headers?: Record<string, string | string[]>;
  accessKeyId?: string;
  secretKey?: string;
  region?: string;
  service?: string;
  date: Date;
  /** x-amz-content-sha256 value; omitted from the request when null */
  payloadHash?: string | null;
  /** override the SignedHeaders list (default: every header given, sorted) */
  signedHeaders?: string[];
  /** extra headers sent but not signed */
  unsignedHeaders?: Record<string, string>;
  /** separator between the Authorization components */
  separator?: string;
}

/** Sign a request with an Authorization header. */
export function signRequest(o: SignOptions): AuthInput {
  const amzDate = formatAmzDate(o.date);
  const headers: Record<string, string | string[]> = { host: 'localhost:9000', ...o.headers, 'x-amz-date': amzDate };
  const payloadHash = o.payloadHash === undefined ? EMPTY_SHA256 : o.payloadHash;
  if (payloadHash !== null) headers['x-amz-content-sha256'] = payloadHash;
  const signedHeaders = o.signedHeaders ?? Object.keys(headers).sort();
  const region = o.region ?? 'us-east-1';
  const service = o.service ?? 's3';
  const scope = credentialScope(amzDate.slice(0, 8), region, service);
  const canonical = canonicalRequest({ method: o.method ?? 'GET', rawUrl: o.rawUrl, headers, signedHeaders, payloadHash: payloadHash ?? 'UNSIGNED-PAYLOAD' });
  const key = deriveSigningKey(o.secretKey ?? 'secret', amzDate.slice(0, 8), region, service);
  const signature = hmacHex(key, stringToSign(amzDate, scope, canonical));
  const sep = o.separator ?? ', ';
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${o.accessKeyId ?? 'AKID'}/${scope}${sep}SignedHeaders=${signedHeaders.join(';')}${sep}Signature=${signature}`;
  return { method: o.method ?? 'GET', rawUrl: o.rawUrl, headers: { ...headers, ...o.unsignedHeaders } };
}

/** RFC 3986 encoding as the AWS SDK's escapeUri does it. */
export function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Build a presigned URL (path + query). */
export function presign(o: { method?: string; path: string; query?: Record<string, string>; host?: string; accessKeyId?: string; secretKey?: string; region?: string; date: Date; expires: number }): AuthInput {
  const amzDate = formatAmzDate(o.date);
  const region = o.region ?? 'us-east-1';
  const scope = credentialScope(amzDate.slice(0, 8), region);
  const params: Record<string, string> = {
    ...o.query,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${o.accessKeyId ?? 'AKID'}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(o.expires),
    'X-Amz-SignedHeaders': 'host',
  };
  const qs = Object.entries(params).map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`).join('&');
  const headers = { host: o.host ?? 'localhost:9000' };
  const canonical = canonicalRequest({ method: o.method ?? 'GET', rawUrl: `${o.path}?${qs}`, headers, signedHeaders: ['host'], payloadHash: 'UNSIGNED-PAYLOAD', presigned: true });
  const key = deriveSigningKey(o.secretKey ?? 'secret', amzDate.slice(0, 8), region, 's3');
  const signature = hmacHex(key, stringToSign(amzDate, scope, canonical));
  return { method: o.method ?? 'GET', rawUrl: `${o.path}?${qs}&X-Amz-Signature=${signature}`, headers };
}

export interface CapturedRequest {
  input: AuthInput;
  body: Buffer;
}

/**
 * An S3Client whose requests are captured instead of sent: what the real SDK would put on the
 * wire (method, path + query, headers, body), ready for `authenticate` and the decoder.
 */
export function capturingClient(credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret' }, region = 'us-east-1'): { client: S3Client; captured: CapturedRequest[] } {
  const captured: CapturedRequest[] = [];
  const requestHandler = {
    async handle(req: { method: string; path: string; query?: Record<string, string | string[] | null>; headers: Record<string, string>; body?: unknown }) {
      const chunks: Buffer[] = [];
      const body = req.body;
      if (body && typeof (body as Readable).pipe === 'function') {
        for await (const c of body as Readable) chunks.push(Buffer.from(c as Uint8Array));
      } else if (typeof body === 'string' || body instanceof Uint8Array) {
        chunks.push(Buffer.from(body));
      }
      const parts: string[] = [];
      for (const [k, v] of Object.entries(req.query ?? {})) {
        if (v === null) parts.push(escapeUri(k));
        else for (const one of Array.isArray(v) ? v : [v]) parts.push(`${escapeUri(k)}=${escapeUri(one)}`);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
      captured.push({ input: { method: req.method, rawUrl: req.path + (parts.length ? `?${parts.join('&')}` : ''), headers }, body: Buffer.concat(chunks) });
      return { response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from('<ListBucketResult></ListBucketResult>')]) } };
    },
  };
  const client = new S3Client({
    region,
    endpoint: 'http://localhost:9000',
    forcePathStyle: true,
    credentials,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    requestHandler: requestHandler as any,
  });
  return { client, captured };
}
