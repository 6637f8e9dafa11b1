// The static website endpoints: anonymous GET and HEAD on <bucket>.s3-website.<region>.<base>
// (the pattern is configurable, see host.ts), answered as AWS's website endpoints answer:
//   - RedirectAllRequestsTo: 301 to the same path on the named host;
//   - routing rules: those decided by the key before the lookup, those with an error-code
//     condition once the request has failed with that status (routing.ts);
//   - the index document for '/' and 'dir/', and 302 from 'dir' to 'dir/' when 'dir/<index>'
//     exists and 'dir' does not;
//   - an object's x-amz-website-redirect-location as a 301;
//   - for a 4xx, the bucket's error document with the error's status, else (or when the error
//     document cannot be served) an HTML error page, never XML.
// Who may read is decided as for an anonymous GetObject on the REST endpoint: bucket policy,
// ACLs and the public access block (a private bucket's website answers 403). A missing key is
// 404 only to whoever may list the bucket, 403 to everyone else, as AWS answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorizeRequest } from '../access/check.ts';
import { requestPayment } from '../access/request-payment.ts';
import { sourceIpOf } from '../access/request-conditions.ts';
import { S3Error, isS3Error } from '../errors.ts';
import { sendResult } from '../http/reply.ts';
import { objectHeaders } from '../ops/common.ts';
import { loadObject, serveObject } from '../ops/object-get.ts';
import type { RequestContext, Services } from '../ops/operation.ts';
import { openObjectRange, plainOpener } from '../ops/read-object.ts';
import { checkReadKey, openerFor } from '../ops/sse.ts';
import type { RegionStore } from '../store/region-store.ts';
import type { BucketRecord, ObjectRecord, WebsiteConfiguration } from '../store/types.ts';
import { matchWebsiteHost, type WebsiteHost } from './host.ts';
import { renderErrorPage } from './html.ts';
import { keyPath, redirectAll, ruleForError, ruleForKey, ruleRedirection, siteLocation, type Redirection, type RequestOrigin } from './routing.ts';

export { mayBeWebsiteHost } from './host.ts';

interface Logger {
  error(obj: object, msg: string): void;
}

/** One website request, as the steps below share it. */
interface Visit {
  services: Services;
  raw: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  head: boolean;
  origin: RequestOrigin;
  site: WebsiteHost;
}

/** A bucket with a website, in the region the host names. */
interface Site {
  store: RegionStore;
  bucket: BucketRecord;
  website: WebsiteConfiguration;
}

type Lookup = { record: ObjectRecord; ctx: RequestContext } | { error: S3Error };

/**
 * Serve the request if its Host is a website host: true when it was answered here (the caller
 * then does nothing more), false when the request is for the S3 API. The caller asks
 * mayBeWebsiteHost first (synchronous, cheap), so that S3 requests do not wait on this.
 */
export async function serveWebsiteRequest(services: Services, raw: IncomingMessage, res: ServerResponse, requestId: string, log: Logger): Promise<boolean> {
  const { config } = services;
  const site = matchWebsiteHost(raw.headers.host, config);
  if (!site) return false;
  // The body of a request nobody reads (a PUT to a website) would stall the connection.
  if (!raw.readableEnded) raw.resume();
  const secure = (raw.socket as { encrypted?: boolean }).encrypted === true;
  const visit: Visit = { services, raw, res, requestId, head: raw.method === 'HEAD', site, origin: { protocol: secure ? 'https' : 'http', host: String(raw.headers.host) } };
  try {
    await serve(visit);
  } catch (err) {
    if (isS3Error(err)) {
      await sendErrorPage(visit, err);
    } else {
      log.error({ err }, 'internal error on a website request');
      await sendErrorPage(visit, new S3Error('InternalError'));
    }
  }
  return true;
}

async function serve(visit: Visit): Promise<void> {
  const { raw, site: host } = visit;
  if (raw.method !== 'GET' && raw.method !== 'HEAD') {
    throw new S3Error('MethodNotAllowed', undefined, { Method: raw.method ?? '', ResourceType: 'OBJECT' }, { Allow: 'GET, HEAD' });
  }
  const store = visit.services.regions.get(host.region);
  if (!store) throw new S3Error('InvalidRequest', `The region "${host.region}" named by the host is not served here.`);
  const rawPath = raw.url ?? '/';
  const key = requestKey(rawPath);
  const bucket = await store.getBucket(host.bucket);
  if (!bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: host.bucket });
  const website = bucket.config?.website;
  if (!website) throw new S3Error('NoSuchWebsiteConfiguration', undefined, { BucketName: host.bucket });
  // A requester-pays bucket is never served anonymously (AWS: not through its website either).
  requestPayment(bucket, undefined, undefined);
  const site: Site = { store, bucket, website };

  if (website.redirectAllRequestsTo) return sendRedirect(visit, redirectAll(website.redirectAllRequestsTo, rawPath, visit.origin));
  const rule = ruleForKey(website.routingRules, key);
  if (rule) return sendRedirect(visit, ruleRedirection(rule, key, visit.origin));
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError');

  const suffix = website.indexSuffix!;
  const objectKey = key === '' || key.endsWith('/') ? key + suffix : key;
  const found = await lookup(visit, site, objectKey);
  if ('record' in found) {
    const location = found.record.meta.websiteRedirectLocation;
    if (location !== undefined) return sendRedirect(visit, { status: 301, location });
    let result;
    try {
      result = await serveObject(found.ctx, found.record, visit.head, openerFor(store, found.record, undefined));
    } catch (err) {
      // A failed precondition or range: the error answer of a website (304 stays a bare 304).
      if (!isS3Error(err)) throw err;
      return sendFailure(visit, site, key, err);
    }
    return sendResult(visit.res, result, visit.requestId, visit.head);
  }
  // 'dir' that is not an object but holds an index document: the browser is sent to 'dir/', so
  // that the page's relative links resolve inside the folder. Only a readable index says so.
  if (objectKey === key && key !== '') {
    const index = await lookup(visit, site, `${key}/${suffix}`);
    if ('record' in index) return sendRedirect(visit, { status: 302, location: keyPath(key) + '/' });
  }
  return sendFailure(visit, site, key, found.error);
}

/** The key a request path names: the path without its leading '/', percent-decoded (the query is ignored). */
function requestKey(rawUrl: string): string {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!path.startsWith('/')) throw new S3Error('InvalidURI');
  try {
    return decodeURIComponent(path.slice(1));
  } catch {
    throw new S3Error('InvalidURI');
  }
}

/** The request as an anonymous GetObject of `key` sees it, for the access checks and the object readers. */
function anonymousContext(visit: Visit, site: Site, key: string): RequestContext {
  const query = new Map<string, string>();
  const ctx: RequestContext = {
    requestId: visit.requestId,
    raw: visit.raw,
    headers: visit.raw.headers,
    method: visit.raw.method ?? 'GET',
    target: { region: visit.site.region, endpoint: 'api', style: 'virtual', bucket: site.bucket.name, key, query },
    query,
    bucketName: site.bucket.name,
    key,
    store: site.store,
    services: visit.services,
    principal: undefined,
    payload: { kind: 'unsigned' },
    bucket: site.bucket,
    secureTransport: visit.origin.protocol === 'https',
    sourceIp: '',
  };
  ctx.sourceIp = sourceIpOf(ctx);
  return ctx;
}

/** Authorize and load `key` as an anonymous reader: the object, or the error a GetObject would meet. */
async function lookup(visit: Visit, site: Site, key: string): Promise<Lookup> {
  const ctx = anonymousContext(visit, site, key);
  try {
    await authorizeRequest(ctx, 's3:GetObject', 'read', site.bucket, key);
    const record = await loadObject(ctx);
    // An SSE-C object needs its customer's key, which a website visitor never sends.
    checkReadKey(record, undefined);
    return { record, ctx };
  } catch (err) {
    if (isS3Error(err)) return { error: err };
    throw err;
  }
}

/** A failed request: an error-code routing rule, else the error document, else the error page. */
async function sendFailure(visit: Visit, site: Site, key: string, err: S3Error): Promise<void> {
  if (err.status === 304) return sendErrorPage(visit, err);
  const rule = ruleForError(site.website.routingRules, key, err.status);
  if (rule) return sendRedirect(visit, ruleRedirection(rule, key, visit.origin));
  const errorKey = site.website.errorKey;
  // AWS serves the error document for the 4xx class only.
  if (errorKey === undefined || err.status < 400 || err.status >= 500) return sendErrorPage(visit, err);
  const doc = await lookup(visit, site, errorKey);
  if (!('record' in doc)) return sendErrorPage(visit, err, doc.error);
  const record = doc.record;
  const headers = { ...objectHeaders(record), 'Accept-Ranges': undefined, 'Content-Length': record.size, ...errorHeaders(err) };
  const body = visit.head ? undefined : openObjectRange(record, 0, record.size - 1, plainOpener(site.store));
  return sendResult(visit.res, { status: err.status, headers, body }, visit.requestId, visit.head);
}

/** The x-amz-error-* headers AWS's website endpoints add to error answers (also on HEAD, which has no page). */
function errorHeaders(err: S3Error): Record<string, string> {
  return { 'x-amz-error-code': err.code, 'x-amz-error-message': err.message.replace(/[^\x20-\x7e]/g, '?') };
}

async function sendErrorPage(visit: Visit, err: S3Error, errorDocumentFailure?: S3Error): Promise<void> {
  if (err.status === 304) return sendResult(visit.res, { status: 304, headers: err.headers }, visit.requestId, true);
  const page = Buffer.from(renderErrorPage(err, visit.requestId, errorDocumentFailure));
  const headers = { ...err.headers, ...errorHeaders(err), 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length };
  return sendResult(visit.res, { status: err.status, headers, body: page }, visit.requestId, visit.head);
}

function sendRedirect(visit: Visit, redirect: Redirection): Promise<void> {
  const location = siteLocation(redirect.location, visit.origin);
  return sendResult(visit.res, { status: redirect.status, headers: { Location: location, 'Content-Length': 0 } }, visit.requestId, visit.head);
}
