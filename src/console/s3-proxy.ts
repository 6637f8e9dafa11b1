// The console's way to S3: the page never holds an access key. It sends its S3 requests to
// /console/api/s3/<region>/<bucket>/<key>?<query> on the admin listener; this module signs each
// one (SigV4, UNSIGNED-PAYLOAD) with a key of the bucket's organisation that the session's token
// may see (the token could read that key's Secret through /v1/secrets anyway), and streams it to
// the S3 listener on loopback with the region's host name. So every answer, error and limit is
// the S3 server's own: the policy editor shows the server's MalformedPolicy message, uploads
// meet the quota, an access level refuses what it refuses.
//
// Only the requests the console makes are let through (methods and query parameters below).
// Object bodies are always answered as attachments in a sandbox, so that an uploaded HTML file
// cannot run script on the console's origin.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Services } from '../ops/operation.ts';
import type { KeyRecord, AccessLevel } from '../identity/identity-store.ts';
import { userVisible, type Scope } from '../identity/admin-scope.ts';
import { IdentityError } from '../identity/users.ts';
import { UNSIGNED_PAYLOAD, canonicalRequest, credentialScope, deriveSigningKey, formatAmzDate, hmacHex, stringToSign } from '../auth/sigv4.ts';

/** Query parameters the console uses: listing, the bucket settings it shows or edits, download names. */
const allowedQuery = new Set([
  'list-type', 'prefix', 'delimiter', 'continuation-token', 'max-keys', 'start-after', 'fetch-owner',
  'policy', 'policyStatus', 'versioning', 'lifecycle', 'cors', 'logging', 'website', 'acl', 'accelerate', 'requestPayment',
  'response-content-disposition',
  // multipart uploads: the page sends large files in parts, each well within the admin listener's request timeout
  'uploads', 'uploadId', 'partNumber',
]);
const allowedMethods = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);
const forwardedRequestHeaders = ['content-type', 'content-length', 'content-md5', 'range', 'if-match', 'if-none-match'];
const forwardedResponseHeaders = ['content-type', 'content-length', 'etag', 'last-modified', 'content-range', 'accept-ranges', 'x-amz-request-id', 'x-amz-version-id', 'content-disposition'];

const levelRank: Record<AccessLevel, number> = { full: 3, readwrite: 2, write: 1, read: 0 };

/** The key the console acts with for `org`: the most capable one the scope may see. */
export async function actingKey(services: Services, scope: Scope, org: string): Promise<KeyRecord | undefined> {
  const keys = (await services.identity.listKeys()).filter((k) => k.org === org && userVisible(scope, k));
  keys.sort((a, b) => levelRank[b.level] - levelRank[a.level] || a.createdAt - b.createdAt);
  return keys[0];
}

export interface ProxyTarget {
  region: string;
  /** percent-encoded as the page sent it: "bucket" or "bucket/key/with/slashes" */
  rawPath: string;
  rawQuery: string;
}

/** Split /console/api/s3/<region>/<rest> (raw, still encoded). */
export function proxyTarget(rawUrl: string): ProxyTarget {
  const q = rawUrl.indexOf('?');
  const rawPathAll = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  const rest = rawPathAll.slice('/console/api/s3/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || rest.length === slash + 1) throw new IdentityError(404, 'NotFound', 'use /console/api/s3/<region>/<bucket>[/<key>]');
  let region: string;
  try {
    region = decodeURIComponent(rest.slice(0, slash));
  } catch {
    throw new IdentityError(400, 'BadRequest', 'malformed percent-encoding in the path');
  }
  return { region, rawPath: rest.slice(slash + 1), rawQuery };
}

function bucketOf(rawPath: string): { bucket: string; hasKey: boolean } {
  const slash = rawPath.indexOf('/');
  let bucket: string;
  try {
    bucket = decodeURIComponent(slash < 0 ? rawPath : rawPath.slice(0, slash));
  } catch {
    throw new IdentityError(400, 'BadRequest', 'malformed percent-encoding in the bucket name');
  }
  return { bucket, hasKey: slash >= 0 && slash < rawPath.length - 1 };
}

function checkQuery(rawQuery: string): URLSearchParams {
  const params = new URLSearchParams(rawQuery);
  for (const name of params.keys()) {
    if (!allowedQuery.has(name)) throw new IdentityError(400, 'BadRequest', `the console does not pass the query parameter "${name}" to S3`);
  }
  return params;
}

export interface ProxyOptions {
  services: Services;
  scope: Scope;
  s3Port: number;
  /** for creating a bucket: the organisation that will own it */
  createFor?: string;
}

/** Forward one console request to the S3 listener and stream the answer back. */
export async function proxyToS3(opts: ProxyOptions, req: IncomingMessage, res: ServerResponse, target: ProxyTarget): Promise<void> {
  const { services, scope } = opts;
  const method = req.method ?? 'GET';
  if (!allowedMethods.has(method)) throw new IdentityError(405, 'MethodNotAllowed', 'the console sends GET, HEAD, PUT, POST or DELETE to S3');
  const store = services.regions.get(target.region);
  if (!store) throw new IdentityError(404, 'NotFound', `region "${target.region}" is not served here (${[...services.regions.keys()].join(', ')})`);
  const params = checkQuery(target.rawQuery);
  const { bucket, hasKey } = bucketOf(target.rawPath);
  const record = await store.getBucket(bucket);
  let org: string;
  if (record && userVisible(scope, { namespace: record.ownerOrg, org: record.ownerOrg })) org = record.ownerOrg;
  else if (!record && method === 'PUT' && !hasKey && opts.createFor !== undefined) org = opts.createFor;
  // A bucket of an organisation out of scope is answered like a missing one.
  else throw new IdentityError(404, 'NoSuchBucket', `bucket "${bucket}" not found in region ${target.region}`);
  if (!userVisible(scope, { namespace: org, org })) throw new IdentityError(403, 'Forbidden', `the token may not act for organisation "${org}"`);
  const key = await actingKey(services, scope, org);
  if (!key) throw new IdentityError(409, 'NoKey', `no access key of organisation "${org}" is visible to this token: create one on the Object Storage page first`);
  const secret = await services.identity.secretOf(key.accessKey);
  if (secret === undefined) throw new IdentityError(409, 'NoKey', 'the acting key was deleted; try again');
  const sendsBody = method === 'PUT' || method === 'POST';
  if (method === 'POST' && !(params.has('uploads') || params.has('uploadId'))) throw new IdentityError(400, 'BadRequest', 'the console POSTs only to start or complete multipart uploads');
  if (sendsBody && req.headers['content-length'] === undefined && !params.has('uploads')) throw new IdentityError(411, 'LengthRequired', 'uploads need a Content-Length');

  const { config } = services;
  const host = `object.${target.region}.${config.baseDomain}:${opts.s3Port}`;
  const rawUrl = `/${target.rawPath}${target.rawQuery ? `?${target.rawQuery}` : ''}`;
  const now = new Date();
  const amzDate = formatAmzDate(now);
  const signingRegion = config.signingRegions[0] ?? 'default';
  const headers: Record<string, string> = { host, 'x-amz-date': amzDate, 'x-amz-content-sha256': UNSIGNED_PAYLOAD };
  for (const name of forwardedRequestHeaders) {
    const v = req.headers[name];
    if (typeof v === 'string') headers[name] = v;
  }
  if ((!hasKey && method === 'PUT' && params.size === 0) || (method === 'POST' && params.has('uploads'))) headers['content-length'] = '0';
  const signed = Object.keys(headers).sort();
  const canonical = canonicalRequest({ method, rawUrl, headers, signedHeaders: signed, payloadHash: UNSIGNED_PAYLOAD });
  const scopeText = credentialScope(amzDate.slice(0, 8), signingRegion);
  const signature = hmacHex(deriveSigningKey(secret, amzDate.slice(0, 8), signingRegion), stringToSign(amzDate, scopeText, canonical));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${key.accessKey}/${scopeText}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;

  const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
    const r = httpRequest({ host: loopbackFor(config.host), port: opts.s3Port, method, path: rawUrl, headers }, resolve);
    r.on('error', reject);
    if (sendsBody && headers['content-length'] !== '0') {
      pipeline(req, r).catch((err) => r.destroy(err));
    } else {
      r.end();
      req.resume();
    }
  });
  const out: Record<string, string> = {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Nothing the S3 listener returns may run as part of the console.
    'content-security-policy': "sandbox; default-src 'none'",
    'x-strata-console-acting-key': `${key.namespace}/${key.user}`,
  };
  for (const name of forwardedResponseHeaders) {
    const v = upstream.headers[name];
    if (typeof v === 'string') out[name] = v;
  }
  const objectBody = hasKey && method === 'GET' && [...params.keys()].every((k) => k === 'response-content-disposition') && (upstream.statusCode ?? 500) < 300;
  if (objectBody && !/^attachment/i.test(out['content-disposition'] ?? '')) {
    const name = decodeURIComponent(target.rawPath.slice(target.rawPath.lastIndexOf('/') + 1));
    out['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
  }
  res.writeHead(upstream.statusCode ?? 502, out);
  await pipeline(upstream, res);
}

/** The S3 listener is reached on loopback when it listens on every address. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
