// AWS Signature Version 4 for S3: canonicalisation primitives and request verification.
//
// Pure module: no HTTP framework, only node:crypto. `authenticate` looks at the method, the
// raw request target and the headers, and either says the request is anonymous, says who
// signed it and how its body must be verified (`PayloadMode`, consumed by ./payload.ts), or
// throws an S3Error.
//
// Canonicalisation choices (S3 flavour of SigV4):
// - Canonical URI: the raw path as sent, percent-decoded to bytes and re-encoded once with
//   the RFC 3986 unreserved set, '/' kept. S3 neither collapses '//' nor resolves '.'/'..'
//   segments, and it does not double-encode (unlike other AWS services). A '+' in the path is
//   a literal plus (%2B); '%2F' decodes to '/' and stays '/', as S3 treats both as the same key.
// - Canonical query: every `name[=value]` pair of the raw query, percent-decoded and re-encoded
//   with the RFC 3986 rules (space → %20), sorted by encoded name then encoded value; a pair
//   without '=' becomes `name=`. A raw '+' in the query is read as a SPACE (form encoding):
//   that is how the router (src/addressing.ts) and every URLSearchParams-style parser
//   read the query, and the canonical request must describe what the server will act on.
//   SDKs never send a raw '+' (they send %2B for a plus and %20 for a space), so this only
//   matters for hand-built URLs. X-Amz-Signature is left out for presigned requests.
// - Canonical headers: lower-case names in SignedHeaders order; values trimmed, inner runs of
//   whitespace collapsed to one space, repeated headers (string[]) joined with ','. Node
//   decodes header bytes as latin1 and joins repeated headers with ', ' in `req.headers`;
//   pass `req.headersDistinct` if exact repeated-header semantics matter.
// - The canonical request is a byte string (one char per byte, latin1): values that came from
//   Node are already byte strings; a value holding chars above U+00FF (only possible when the
//   caller built the headers itself) is first turned into its UTF-8 bytes.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.ts';

export interface AuthInput {
  method: string;
  /** path + query exactly as received on the wire, e.g. '/bucket/a%20b?list-type=2&prefix=x' */
  rawUrl: string;
  /** lower-case names, node IncomingHttpHeaders */
  headers: Record<string, string | string[] | undefined>;
}

export interface SecretLookup {
  (accessKeyId: string): { secretKey: string } | undefined;
}

export type PayloadMode =
  | { kind: 'sha256'; expectedHex: string }
  | { kind: 'unsigned' }
  | { kind: 'streaming-signed'; trailer: boolean; seedSignature: string; signingKey: Buffer; amzDate: string; scope: string }
  | { kind: 'streaming-unsigned-trailer' };

export type AuthResult =
  | { kind: 'anonymous' }
  | { kind: 'signed'; accessKeyId: string; payload: PayloadMode; presigned: boolean };

export interface AuthOptions {
  now: Date;
  /** credential-scope regions that verify, e.g. ['default', 'us-east-1'] */
  acceptedRegions: string[];
  /** the region named in AuthorizationHeaderMalformed messages, e.g. 'default' */
  serviceRegion: string;
}

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_PAYLOAD_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const STREAMING_ECDSA_PAYLOAD = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD';
const STREAMING_ECDSA_PAYLOAD_TRAILER = 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER';

/** Largest allowed difference between the request time and the server clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Largest X-Amz-Expires of a presigned URL: seven days. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604800;

// ---------------------------------------------------------------------------------------------
// Encoding

const HEX_UPPER = '0123456789ABCDEF';
/** For each byte: itself if RFC 3986 unreserved, else %XX (upper-case hex). */
const ENCODED_BYTE: string[] = Array.from({ length: 256 }, (_, b) => {
  const unreserved = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)
    || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
  return unreserved ? String.fromCharCode(b) : '%' + HEX_UPPER[b >> 4] + HEX_UPPER[b & 15];
});

/**
 * SigV4 URI encoding: every byte outside A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex).
 * Strings are encoded as UTF-8. With encodeSlash false, '/' is kept (object key paths).
 */
export function uriEncode(input: string | Uint8Array, encodeSlash = true): string {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += b === 0x2f && !encodeSlash ? '/' : ENCODED_BYTE[b];
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decode to bytes. Characters outside ASCII are taken as their UTF-8 bytes (Node never
 * hands over such a request target, but callers building inputs by hand may). A '%' not
 * followed by two hex digits stays a literal '%' (the router rejects those as InvalidURI).
 */
function percentDecode(s: string, plusIsSpace: boolean): Buffer {
  if (!/[%+\u0080-\uffff]/.test(s)) return Buffer.from(s, 'latin1');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out.push(hi * 16 + lo);
        i += 2;
        continue;
      }
      out.push(c);
    } else if (c === 0x2b && plusIsSpace) {
      out.push(0x20);
    } else if (c < 0x80) {
      out.push(c);
    } else {
      // a whole code point (surrogate pairs included) as UTF-8
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      for (const b of Buffer.from(ch, 'utf8')) out.push(b);
      i += ch.length - 1;
    }
  }
  return Buffer.from(out);
}

/** Canonical URI of a raw (as sent) path: decoded, then each byte encoded once, '/' kept. */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  return uriEncode(percentDecode(rawPath, false), false);
}

/** Decoded name/value pairs of a raw query string ('+' read as space, see the header). */
export function parseRawQuery(rawQuery: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (!rawQuery) return pairs;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq), true).toString('utf8');
    const value = eq < 0 ? '' : percentDecode(part.slice(eq + 1), true).toString('utf8');
    pairs.push([name, value]);
  }
  return pairs;
}

/**
 * Canonical query string of a raw query: each pair decoded and re-encoded (RFC 3986), sorted by
 * name then value. `excludeName` (exact, decoded) drops a parameter: X-Amz-Signature for
 * presigned requests.
 */
export function canonicalQuery(rawQuery: string, excludeName?: string): string {
  if (!rawQuery) return '';
  const encoded: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const nameBytes = percentDecode(eq < 0 ? part : part.slice(0, eq), true);
    if (excludeName !== undefined && nameBytes.toString('utf8') === excludeName) continue;
    const valueBytes = eq < 0 ? Buffer.alloc(0) : percentDecode(part.slice(eq + 1), true);
    encoded.push([uriEncode(nameBytes), uriEncode(valueBytes)]);
  }
  // Encoded strings are plain ASCII, so code-unit order is byte order.
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([k, v]) => `${k}=${v}`).join('&');
}

/** A header value as a byte string: UTF-8 bytes if it holds chars above U+00FF. */
function toByteString(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v;
}

/** Trim, and collapse inner runs of whitespace (space, tab, CR, LF) to one space. */
export function canonicalHeaderValue(v: string): string {
  return toByteString(v).replace(/[ \t\r\n]+/g, ' ').replace(/^ | $/g, '');
}

function headerValues(headers: AuthInput['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.map(canonicalHeaderValue).join(',') : canonicalHeaderValue(v);
}

function single(headers: AuthInput['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface CanonicalRequestInput {
  method: string;
  /** path + query as sent */
  rawUrl: string;
  headers: AuthInput['headers'];
  /** lower-case header names in the order the client listed them */
  signedHeaders: string[];
  /** the payload hash line: hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* literal */
  payloadHash: string;
  /** leave X-Amz-Signature out of the query (presigned requests) */
  presigned?: boolean;
}

/** Split a request target into raw path and raw query (absolute-form targets allowed). */
export function splitRawUrl(rawUrl: string): { rawPath: string; rawQuery: string } {
  let target = rawUrl;
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (abs) target = target.slice(abs[0].length);
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  return { rawPath: rawPath === '' ? '/' : rawPath, rawQuery: q < 0 ? '' : target.slice(q + 1) };
}

/** The SigV4 canonical request (a byte string, see the header comment). */
export function canonicalRequest(input: CanonicalRequestInput): string {
  const { rawPath, rawQuery } = splitRawUrl(input.rawUrl);
  const lines = [input.method.toUpperCase(), canonicalUri(rawPath), canonicalQuery(rawQuery, input.presigned ? 'X-Amz-Signature' : undefined)];
  for (const name of input.signedHeaders) lines.push(`${name}:${headerValues(input.headers, name) ?? ''}`);
  lines.push('', input.signedHeaders.join(';'), input.payloadHash);
  return lines.join('\n');
}

export function sha256Hex(data: string | Uint8Array, encoding: BufferEncoding = 'utf8'): string {
  const h = createHash('sha256');
  if (typeof data === 'string') h.update(data, encoding);
  else h.update(data);
  return h.digest('hex');
}

export function hmacHex(key: Uint8Array, data: string): string {
  return createHmac('sha256', key).update(data, 'latin1').digest('hex');
}

/** The credential scope: `yyyymmdd/region/service/aws4_request`. */
export function credentialScope(date: string, region: string, service = 's3'): string {
  return `${date}/${region}/${service}/aws4_request`;
}

/** `AWS4-HMAC-SHA256\n<amzDate>\n<scope>\n<hex sha256(canonical request)>` */
export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical, 'latin1')}`;
}

/** kSigning = HMAC(HMAC(HMAC(HMAC('AWS4' + secret, date), region), service), 'aws4_request') */
export function deriveSigningKey(secretKey: string, date: string, region: string, service = 's3'): Buffer {
  const kDate = createHmac('sha256', 'AWS4' + secretKey).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

// Derived keys are cached per (access key, date, region, service); the secret is stored with
// each entry so that a rotated secret never reuses a stale key. Bounded: the oldest entry is
// dropped when full, and a hit moves its entry to the back (LRU).
const SIGNING_KEY_CACHE_MAX = 512;
const signingKeyCache = new Map<string, { secretKey: string; key: Buffer }>();

export function cachedSigningKey(accessKeyId: string, secretKey: string, date: string, region: string, service = 's3'): Buffer {
  const id = `${accessKeyId}\n${date}\n${region}\n${service}`;
  const hit = signingKeyCache.get(id);
  if (hit && hit.secretKey === secretKey) {
    signingKeyCache.delete(id);
    signingKeyCache.set(id, hit);
    return hit.key;
  }
  const key = deriveSigningKey(secretKey, date, region, service);
  signingKeyCache.delete(id);
  if (signingKeyCache.size >= SIGNING_KEY_CACHE_MAX) {
    const oldest = signingKeyCache.keys().next().value;
    if (oldest !== undefined) signingKeyCache.delete(oldest);
  }
  signingKeyCache.set(id, { secretKey, key });
  return key;
}

/** Test hook: number of cached signing keys. */
export function signingKeyCacheSize(): number {
  return signingKeyCache.size;
}

/** Constant-time comparison of two signatures (hex strings); unequal lengths never match. */
export function signaturesEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(provided.toLowerCase(), 'latin1');
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // same work either way
    return false;
  }
  return timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------------------------
// Dates

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Parse `yyyymmddThhmmssZ`; undefined unless it is a real instant. */
export function parseAmzDate(s: string): Date | undefined {
  const m = AMZ_DATE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, se));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== se) return undefined;
  return t;
}

export function formatAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Verification

interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminal: string;
}

function parseCredential(value: string): Credential | undefined {
  const parts = value.split('/');
  if (parts.length < 5) return undefined;
  const [date, region, service, terminal] = parts.slice(-4);
  const accessKeyId = parts.slice(0, -4).join('/');
  if (!accessKeyId || !date || !region || !service || !terminal) return undefined;
  return { accessKeyId, date, region, service, terminal };
}

type ErrorFactory = (message: string, details?: Record<string, string>) => S3Error;

const headerMalformed: ErrorFactory = (message, details) =>
  new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`, details);
const queryMalformed: ErrorFactory = (message, details) =>
  new S3Error('AuthorizationQueryParametersError', message, details);

/** Scope checks shared by both forms: date shape, region, service, terminator. */
function checkCredential(cred: Credential, opts: AuthOptions, fail: ErrorFactory, prefix: string): void {
  if (!/^\d{8}$/.test(cred.date)) throw fail(`${prefix}incorrect date format "${cred.date}". This date in the credential must be in the format "yyyyMMdd".`);
  if (!opts.acceptedRegions.includes(cred.region)) {
    throw fail(`${prefix}the region '${cred.region}' is wrong; expecting '${opts.serviceRegion}'`, { Region: opts.serviceRegion });
  }
  if (cred.service !== 's3') throw fail(`${prefix}incorrect service "${cred.service}". This endpoint belongs to "s3".`);
  if (cred.terminal !== 'aws4_request') throw fail(`${prefix}incorrect terminal "${cred.terminal}". This endpoint uses "aws4_request".`);
}

/** Classify x-amz-content-sha256; throws for values S3 would refuse. */
function payloadKindOf(value: string): 'sha256' | 'unsigned' | 'streaming' | 'streaming-trailer' | 'streaming-unsigned-trailer' {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return 'sha256';
  switch (value) {
    case UNSIGNED_PAYLOAD: return 'unsigned';
    case STREAMING_PAYLOAD: return 'streaming';
    case STREAMING_PAYLOAD_TRAILER: return 'streaming-trailer';
    case STREAMING_UNSIGNED_PAYLOAD_TRAILER: return 'streaming-unsigned-trailer';
    case STREAMING_ECDSA_PAYLOAD:
    case STREAMING_ECDSA_PAYLOAD_TRAILER:
      throw new S3Error('NotImplemented', `x-amz-content-sha256 ${value} (SigV4a) is not implemented.`, { Header: 'x-amz-content-sha256' });
    default:
      throw new S3Error('InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
        { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value });
  }
}

function payloadMode(kind: ReturnType<typeof payloadKindOf>, value: string, signature: string, signingKey: Buffer, amzDate: string, scope: string): PayloadMode {
  switch (kind) {
    case 'sha256': return { kind: 'sha256', expectedHex: value.toLowerCase() };
    case 'unsigned': return { kind: 'unsigned' };
    case 'streaming':
    case 'streaming-trailer':
      return { kind: 'streaming-signed', trailer: kind === 'streaming-trailer', seedSignature: signature.toLowerCase(), signingKey, amzDate, scope };
    case 'streaming-unsigned-trailer': return { kind: 'streaming-unsigned-trailer' };
  }
}

function parseSignedHeaders(value: string, fail: ErrorFactory, what: string): string[] {
  const names = value.split(';').map((n) => n.trim().toLowerCase());
  if (names.length === 0 || names.some((n) => n === '' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(n))) {
    throw fail(`${what} is malformed: "${value}".`);
  }
  if (!names.includes('host')) throw fail(`${what} must include host.`);
  return names;
}

function verifySignature(
  input: AuthInput, accessKeyId: string, secretKey: string, cred: Credential,
  amzDate: string, signedHeaders: string[], payloadHash: string, provided: string, presigned: boolean,
): Buffer {
  const key = cachedSigningKey(accessKeyId, secretKey, cred.date, cred.region, cred.service);
  const canonical = canonicalRequest({ method: input.method, rawUrl: input.rawUrl, headers: input.headers, signedHeaders, payloadHash, presigned });
  const sts = stringToSign(amzDate, credentialScope(cred.date, cred.region, cred.service), canonical);
  const expected = hmacHex(key, sts);
  if (!signaturesEqual(expected, provided)) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: accessKeyId,
      StringToSign: sts,
      SignatureProvided: provided,
      CanonicalRequest: canonical,
    });
  }
  return key;
}

function lookupSecret(lookup: SecretLookup, accessKeyId: string): string {
  const found = lookup(accessKeyId);
  if (!found) throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKeyId });
  return found.secretKey;
}

const UNSUPPORTED_V2 = 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.';

/**
 * Authenticate a request. Anonymous when there is neither an Authorization header nor an
 * X-Amz-Algorithm query parameter; otherwise verifies the SigV4 header or presigned query and
 * returns who signed and how the body must be verified. Throws S3Error on every failure.
 */
export function authenticate(input: AuthInput, lookup: SecretLookup, opts: AuthOptions): AuthResult {
  const authorization = single(input.headers, 'authorization');
  const { rawQuery } = splitRawUrl(input.rawUrl);
  const query = new Map<string, string>();
  for (const [k, v] of parseRawQuery(rawQuery)) if (!query.has(k)) query.set(k, v);
  const hasAuthHeader = authorization !== undefined && authorization.trim() !== '';
  if (hasAuthHeader && query.has('X-Amz-Algorithm')) {
    throw new S3Error('InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization', ArgumentValue: authorization! });
  }
  if (hasAuthHeader) return headerAuth(input, authorization!, lookup, opts);
  if (query.has('X-Amz-Algorithm')) return presignedAuth(input, query, lookup, opts);
  if (query.has('AWSAccessKeyId') && query.has('Signature')) throw new S3Error('InvalidRequest', UNSUPPORTED_V2);
  return { kind: 'anonymous' };
}

function headerAuth(input: AuthInput, authorization: string, lookup: SecretLookup, opts: AuthOptions): AuthResult {
  const h = input.headers;
  const trimmed = authorization.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space + 1);
  if (algorithm === 'AWS') throw new S3Error('InvalidRequest', UNSUPPORTED_V2);
  if (algorithm === 'AWS4-ECDSA-P256-SHA256') throw new S3Error('NotImplemented', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not implemented.', { Header: 'Authorization' });
  if (algorithm !== ALGORITHM) {
    throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: authorization });
  }

  // Credential=..., SignedHeaders=..., Signature=...  (spaces after the commas optional)
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw headerMalformed(`the authorization component "${p}" is malformed.`);
    const name = p.slice(0, eq).trim();
    if (fields.has(name)) throw headerMalformed(`the authorization component "${name}" is repeated.`);
    fields.set(name, p.slice(eq + 1).trim());
  }
  const credentialText = fields.get('Credential');
  const signedHeadersText = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credentialText === undefined || signedHeadersText === undefined || signature === undefined) {
    throw headerMalformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.');
  }
  const cred = parseCredential(credentialText);
  if (!cred) throw headerMalformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  checkCredential(cred, opts, headerMalformed, '');

  // Request time: x-amz-date, else Date.
  const amzDateHeader = single(h, 'x-amz-date');
  const dateHeader = single(h, 'date');
  let when: Date | undefined;
  let amzDate: string;
  if (amzDateHeader !== undefined) {
    when = parseAmzDate(amzDateHeader.trim());
    amzDate = amzDateHeader.trim();
  } else if (dateHeader !== undefined) {
    const t = Date.parse(dateHeader);
    when = Number.isNaN(t) ? undefined : new Date(Math.floor(t / 1000) * 1000);
    amzDate = when ? formatAmzDate(when) : '';
  } else {
    amzDate = '';
  }
  if (!when) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (cred.date !== amzDate.slice(0, 8)) {
    throw headerMalformed(`Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  const skew = Math.abs(opts.now.getTime() - when.getTime());
  if (skew > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      RequestTime: amzDateHeader ?? dateHeader ?? '',
      ServerTime: isoSeconds(opts.now),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }

  const signedHeaders = parseSignedHeaders(signedHeadersText, headerMalformed, 'SignedHeaders');

  const contentSha = single(h, 'x-amz-content-sha256');
  if (contentSha === undefined) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  const payloadValue = contentSha.trim();
  const kind = payloadKindOf(payloadValue);

  refuseUnsignedAmzHeaders(h, signedHeaders, () => false);

  const secretKey = lookupSecret(lookup, cred.accessKeyId);
  const key = verifySignature(input, cred.accessKeyId, secretKey, cred, amzDate, signedHeaders, payloadValue, signature, false);
  const scope = credentialScope(cred.date, cred.region, cred.service);
  return { kind: 'signed', accessKeyId: cred.accessKeyId, presigned: false, payload: payloadMode(kind, payloadValue, signature, key, amzDate, scope) };
}

/**
 * Every x-amz-* header the client sent must be covered by the signature (as on AWS), so that
 * nobody on the path, and nobody holding a presigned URL, can add e.g. x-amz-acl or
 * x-amz-copy-source to what the signer authorised. `mayGoUnsigned` names the exceptions.
 */
function refuseUnsignedAmzHeaders(headers: AuthInput['headers'], signedHeaders: string[], mayGoUnsigned: (name: string) => boolean): void {
  const unsigned = Object.keys(headers).filter((n) => n.startsWith('x-amz-') && headers[n] !== undefined && !signedHeaders.includes(n) && !mayGoUnsigned(n));
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.sort().join(', ') });
  }
}

/**
 * The one x-amz-* header a presigned request may carry unsigned: x-amz-content-sha256. Its value
 * becomes the payload-hash line of the canonical request, so the signature covers it whether or
 * not X-Amz-SignedHeaders lists it (a value the signer did not use fails as
 * SignatureDoesNotMatch). Nothing else is exempt, the flexible-checksum headers included: AWS
 * answers HeadersNotSigned for an unsigned x-amz-checksum-sha256 or x-amz-checksum-mode on a
 * presigned URL, and the SDK presigners either sign such headers or hoist them into the (signed)
 * query. A checksum header could only narrow what the URL allows, but it still sets what is
 * stored (the object's checksum, a multipart upload's required algorithm), which is the
 * signer's decision.
 */
function presignedMayGoUnsigned(name: string): boolean {
  return name === 'x-amz-content-sha256';
}

const PRESIGN_REQUIRED = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'];

function presignedAuth(input: AuthInput, query: Map<string, string>, lookup: SecretLookup, opts: AuthOptions): AuthResult {
  if (PRESIGN_REQUIRED.some((p) => !query.has(p))) {
    throw queryMalformed('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  const algorithm = query.get('X-Amz-Algorithm')!;
  if (algorithm === 'AWS4-ECDSA-P256-SHA256') throw new S3Error('NotImplemented', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not implemented.', { ArgumentName: 'X-Amz-Algorithm' });
  if (algorithm !== ALGORITHM) throw queryMalformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');

  const cred = parseCredential(query.get('X-Amz-Credential')!);
  const prefix = 'Error parsing the X-Amz-Credential parameter; ';
  if (!cred) throw queryMalformed(`${prefix}the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  checkCredential(cred, opts, queryMalformed, prefix);

  const amzDate = query.get('X-Amz-Date')!;
  const when = parseAmzDate(amzDate);
  if (!when) throw queryMalformed('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  if (cred.date !== amzDate.slice(0, 8)) throw queryMalformed(`${prefix}Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);

  const expiresText = query.get('X-Amz-Expires')!;
  if (!/^-?\d+$/.test(expiresText)) throw queryMalformed('X-Amz-Expires should be a number');
  const expires = Number(expiresText);
  // A lifetime outside 1 s … 7 days can never authorize anything: 403 AccessDenied, as Ceph RGW
  // answers and ceph/s3-tests asserts (AWS says 400 AuthorizationQueryParametersError for a
  // negative or over-a-week value; a client sees a refused URL either way).
  if (expires < 0) throw new S3Error('AccessDenied', 'X-Amz-Expires must be non-negative');
  if (expires > MAX_PRESIGN_EXPIRES_SECONDS) throw new S3Error('AccessDenied', `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGN_EXPIRES_SECONDS}`);

  // Presigned URLs are exempt from the skew rule, but not from expiry; a URL dated further in
  // the future than the allowed skew is not valid yet.
  const now = opts.now.getTime();
  if (when.getTime() - now > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
  const expiry = new Date(when.getTime() + expires * 1000);
  // X-Amz-Expires=0: expired from the moment it was signed.
  if (now > expiry.getTime() || expires === 0) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': expiresText,
      Expires: isoSeconds(expiry),
      ServerTime: isoSeconds(opts.now),
    });
  }

  const signedHeaders = parseSignedHeaders(query.get('X-Amz-SignedHeaders')!, queryMalformed, 'X-Amz-SignedHeaders');

  // The payload is UNSIGNED-PAYLOAD unless the request carries x-amz-content-sha256 (as a
  // header or, as the AWS SDK presigner hoists it, as the X-Amz-Content-Sha256 parameter).
  const contentSha = single(input.headers, 'x-amz-content-sha256') ?? query.get('X-Amz-Content-Sha256');
  const payloadValue = contentSha === undefined ? UNSIGNED_PAYLOAD : contentSha.trim();
  const kind = payloadKindOf(payloadValue);

  // x-amz-* values in the query (where the SDK presigner hoists x-amz-acl, x-amz-tagging, ...)
  // are signed with the rest of the query, and operations only read headers anyway; an x-amz-*
  // header must be listed in X-Amz-SignedHeaders.
  refuseUnsignedAmzHeaders(input.headers, signedHeaders, presignedMayGoUnsigned);

  const signature = query.get('X-Amz-Signature')!;
  const secretKey = lookupSecret(lookup, cred.accessKeyId);
  const key = verifySignature(input, cred.accessKeyId, secretKey, cred, amzDate, signedHeaders, payloadValue, signature, true);
  const scope = credentialScope(cred.date, cred.region, cred.service);
  return { kind: 'signed', accessKeyId: cred.accessKeyId, presigned: true, payload: payloadMode(kind, payloadValue, signature, key, amzDate, scope) };
}
