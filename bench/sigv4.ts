// A small SigV4 header signer for the load generator. The payload hash is passed in (bodies are
// hashed once before timing, or UNSIGNED-PAYLOAD is sent), so signing a request costs one
// SHA-256 of the canonical request and one HMAC; the signing key is cached per day.
import { createHash, createHmac } from 'node:crypto';

export const unsignedPayload = 'UNSIGNED-PAYLOAD';
export const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** credential-scope region; Strata accepts 'default' and 'us-east-1' */
  region: string;
}

export interface SignedRequest {
  /** path with the canonical query string appended, exactly as signed */
  path: string;
  headers: Record<string, string>;
}

/** RFC 3986 percent-encoding, as SigV4 requires (everything but A-Z a-z 0-9 - _ . ~). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Encode an S3 object path, keeping '/' separators (S3 paths are not double-encoded). */
export function encodePath(path: string): string {
  return path.split('/').map(uriEncode).join('/');
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export class Signer {
  private keyDate = '';
  private key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly creds: Credentials,
    /** the Host header value the client sends (e.g. 127.0.0.1:9000) */
    private readonly host: string,
  ) {}

  private signingKey(date: string): Buffer {
    if (date !== this.keyDate) {
      const kDate = hmac('AWS4' + this.creds.secretAccessKey, date);
      const kRegion = hmac(kDate, this.creds.region);
      const kService = hmac(kRegion, 's3');
      this.key = hmac(kService, 'aws4_request');
      this.keyDate = date;
    }
    return this.key;
  }

  /**
   * Sign a request. `path` is the raw (unencoded) path, `query` the raw parameters; both are
   * encoded here so that what is sent is what was signed.
   */
  sign(method: string, path: string, query: [string, string][], payloadHash: string, extraHeaders: Record<string, string> = {}): SignedRequest {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const date = amzDate.slice(0, 8);
    const canonicalPath = encodePath(path);
    const canonicalQuery = query
      .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const headers: Record<string, string> = { 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
    for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value;
    const toSign: [string, string][] = [['host', this.host], ...Object.entries(headers)];
    toSign.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const signedHeaders = toSign.map(([n]) => n).join(';');
    const canonicalHeaders = toSign.map(([n, v]) => `${n}:${v.trim()}\n`).join('');
    const canonicalRequest = `${method}\n${canonicalPath}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const scope = `${date}/${this.creds.region}/s3/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.signingKey(date)).update(stringToSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return { path: canonicalQuery ? `${canonicalPath}?${canonicalQuery}` : canonicalPath, headers };
  }
}
