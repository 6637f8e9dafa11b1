// The Fastify application: one catch-all route that runs every request the same way,
// parse → route → authenticate → authorize → operation → reply. Built without listening, so
// tests and benchmarks can use it.
import Fastify, { type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorizeRequest } from './access/check.ts';
import { requestPayment } from './access/request-payment.ts';
import { sourceIpOf } from './access/request-conditions.ts';
import { authenticateRequest } from './auth/request-credentials.ts';
import type { AuthResult } from './auth/sigv4.ts';
import { regionEndpointMap } from './config.ts';
import { S3Error, isS3Error } from './errors.ts';
import type { Principal } from './identity/identity-store.ts';
import type { Operation, RequestContext, Services } from './ops/operation.ts';
import { resolveHost, resolveRequest, type ResolvedRequest } from './addressing.ts';
import { countCharge } from './http/request-charge.ts';
import { sendError, sendResult } from './http/reply.ts';
import { routeRequest } from './ops/routes.ts';
import type { RequestTrace } from './access-log/trace.ts';
import { setCorsHeaders, setCorsHeadersOnError } from './cors/response.ts';
import { mayBeWebsiteHost, serveWebsiteRequest } from './website/endpoint.ts';
import { answerOperatorRequest, mayBeOperatorPath } from './metrics/endpoints.ts';
import { observeApp } from './metrics/observability.ts';
import type { RequestRecord } from './metrics/request-observer.ts';
import { performance } from 'node:perf_hooks';

export interface AppOptions {
  services: Services;
  logger?: boolean;
  /** PEM certificate and key: the app serves HTTPS (aws:SecureTransport is then true). */
  https?: { cert: Buffer; key: Buffer };
}

/** Request ids: a random per-process prefix and a counter, unique without a CSPRNG call per request. */
const requestIdPrefix = randomBytes(4).toString('hex').toUpperCase();
let requestCounter = 0;
function newRequestId(): string {
  requestCounter = (requestCounter + 1) % 0x100000000;
  return requestIdPrefix + requestCounter.toString(16).toUpperCase().padStart(8, '0');
}

/** Content-Type headers set aside while Fastify routes a request (see the route's onRequest). */
const contentTypes = new WeakMap<IncomingMessage, string>();

/** Requests Node classified as Expect: 100-continue (its 'checkContinue' event). */
const expectsContinue = new WeakSet<IncomingMessage>();

function resourceOf(target: ResolvedRequest | undefined, rawUrl: string): string {
  if (!target?.bucket) return rawUrl.split('?')[0];
  return `/${target.bucket}${target.key !== undefined ? '/' + target.key : ''}`;
}

/** A socket that sends nothing for this long while its request arrives is closed. */
export const requestIdleTimeoutMs = 60_000;
/** The whole request head must arrive within this time (Node's default is 60 s; a trickle resets no idle timer). */
export const headersTimeoutMs = 20_000;
/** How often Node checks headersTimeout (its default, 30 s, would let a trickled head live up to 50 s). */
const connectionsCheckingIntervalMs = 5_000;

/**
 * headersTimeout bounds slowloris heads (a few bytes a second keep the idle timer from firing).
 * The idle timeout guards only the receiving of a request: once its body has arrived, an
 * operation may work longer than that without a byte on the wire (a 5 GiB CopyObject, a
 * multipart completion), so it is lifted then; Node restores it for the connection's next request.
 */
function receivedTimeouts(server: FastifyInstance['server']): void {
  server.headersTimeout = headersTimeoutMs;
  server.on('request', (req: IncomingMessage) => {
    const received = () => req.socket?.setTimeout(0);
    req.once('end', received);
    // A request without a body is complete once the parser has run over its head; 'end' comes
    // only if someone reads it.
    setImmediate(() => {
      if (req.complete) received();
    });
  });
}

export function buildApp(options: AppOptions): FastifyInstance {
  const { services } = options;
  const { config } = services;
  const app = Fastify({
    // (https.createServer takes the http options too: the TLS listener gets the same checks.)
    ...(options.https ? { https: { ...options.https, connectionsCheckingInterval: connectionsCheckingIntervalMs } } : {}),
    logger: options.logger ? { level: config.logLevel } : false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: false, maxParamLength: 4096 },
    // Object bodies are never parsed by Fastify: operations stream request.raw themselves.
    bodyLimit: 1024,
    // Fastify's defaults leave a request that stops half-way open for ever (no request timeout,
    // no idle timeout): under a stream of half-sent requests each such connection kept its
    // socket and the body bytes read so far (about 0.4 MiB each, measured) until the client
    // left. A socket idle this long while its request arrives is destroyed (see receivedTimeouts).
    connectionTimeout: requestIdleTimeoutMs,
    // Deliberately no requestTimeout (a deadline for the whole request): a 5 GiB PUT on a slow
    // link legitimately takes longer than any deadline that would also bound an attack.
    http: { connectionsCheckingInterval: connectionsCheckingIntervalMs },
  });
  receivedTimeouts(app.server);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const observability = observeApp(app, services);

  // Once shutdown starts, responses still in flight close their connection, so that a kept-alive
  // client does not hold the server open after its last request.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Expect: 100-continue is answered by the pipeline after authorization, not by Node up front.
  // Which requests expect it is Node's decision, taken once here (HTTP/1.1 and an Expect value
  // with the token 100-continue anywhere in it, e.g. 'x, 100-continue' or two Expect headers):
  // the pipeline must invite exactly those, or a client waiting for the 100 never sends its body
  // and the connection is torn down under the response.
  app.server.on('checkContinue', (req, res) => {
    expectsContinue.add(req);
    app.server.emit('request', req, res);
  });
  // Any other expectation is ignored, as S3 servers do, instead of Node's automatic 417.
  app.server.on('checkExpectation', (req, res) => app.server.emit('request', req, res));
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'],
    url: '*',
    // S3 takes any Content-Type as an opaque string ('', 'foo', 'text'); Fastify answers 415 to
    // one that is not a valid media type before any handler runs. The header is set aside here,
    // before Fastify looks at it, and put back for Strata's own pipeline.
    onRequest: (request, _reply, done) => {
      const type = request.raw.headers['content-type'];
      if (type !== undefined) {
        contentTypes.set(request.raw, type);
        delete request.raw.headers['content-type'];
      }
      done();
    },
    handler: async (request, reply) => {
      const type = contentTypes.get(request.raw);
      if (type !== undefined) request.raw.headers['content-type'] = type;
      reply.hijack();
      const res = reply.raw;
      if (mayBeOperatorPath(request.raw.url) && (await answerOperatorRequest(observability, request.raw, res, 's3'))) return;
      const observed = observability.requests.begin(request.raw, res, newRequestId(), config.defaultRegion);
      // Server access logging (PutBucketLogging) traces the request when the outbox is on: src/access-log.
      const trace = services.events?.trace(request.raw, res, observed.requestId);
      const writeHead = res.writeHead;
      res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
        if (closing && !this.headersSent) this.setHeader('Connection', 'close');
        if (observed.headersAt === 0) observed.headersAt = performance.now();
        if (trace) trace.firstByteAt = performance.now();
        return writeHead.apply(this, args);
      } as ServerResponse['writeHead'];
      await handle(services, request.raw, res, app.log, observed, trace);
    },
  });
  return app;
}

async function handle(services: Services, raw: IncomingMessage, res: ServerResponse, log: FastifyInstance['log'], observed: RequestRecord, trace: RequestTrace | undefined): Promise<void> {
  const { requestId } = observed;
  const { config } = services;
  const isHead = raw.method === 'HEAD';
  let target: ResolvedRequest | undefined;
  try {
    if (services.events && raw.url?.startsWith('/_strata/replication/')) {
      observed.operation = 'Internal';
      if (await services.events.handleInternal(raw, res, requestId)) return;
      observed.operation = 'Unrouted';
    }
    if (services.accel && raw.url?.startsWith('/_strata/')) {
      observed.operation = 'Internal';
      if (await services.accel.handleInternal(raw, res, requestId)) return;
      observed.operation = 'Unrouted';
    }
    // Static website hosts (<bucket>.s3-website.<region>.<base>) answer in HTML, see src/website.
    observed.operation = 'Website';
    if (mayBeWebsiteHost(config, raw.headers.host) && (await serveWebsiteRequest(services, raw, res, requestId, log))) return;
    observed.operation = 'Unrouted';
    const host = resolveHost(raw.headers.host, knownRegions(config), config.defaultRegion, config.baseDomain);
    target = resolveRequest(raw.url ?? '/', host);
    observed.region = target.region;
    observed.bucket = target.bucket;
    observed.key = target.key;
    if (trace) trace.target = target;
    if (target.endpoint === 'accel') {
      observed.operation = isHead ? 'AccelHeadObject' : 'AccelGetObject';
      if (!services.accel) throw new S3Error('NotImplemented', 'Accelerated endpoints are not enabled on this node.');
      await services.accel.handle(raw, res, target, requestId);
      return;
    }
    const store = services.regions.get(target.region);
    if (!store) throw new S3Error('InvalidRequest', `Region ${target.region} is not served here.`);
    const operation: Operation = routeRequest(raw.method ?? 'GET', target, raw.headers);
    observed.operation = operation.name;

    const { auth, principal }: { auth: AuthResult; principal?: Principal } = operation.unauthenticated
      ? { auth: { kind: 'anonymous' } }
      : await authenticateRequest(
          { method: raw.method ?? 'GET', rawUrl: raw.url ?? '/', headers: raw.headers },
          services.identity,
          { now: new Date(), acceptedRegions: signingRegions(config), serviceRegion: 'default' },
        );

    observed.principal = principal;
    if (target.key !== undefined && Buffer.byteLength(target.key) > 1024) throw new S3Error('KeyTooLongError');
    const bucket = target.bucket !== undefined ? await store.getBucket(target.bucket) : undefined;
    observed.bucketFound = bucket !== undefined;
    if (trace) trace.bucket = bucket ?? null;
    if (operation.needsBucket && !bucket) throw new S3Error('NoSuchBucket', undefined, { BucketName: target.bucket ?? '' });

    const socket = raw.socket as { encrypted?: boolean };
    const ctx: RequestContext = {
      requestId,
      raw,
      headers: raw.headers,
      method: raw.method ?? 'GET',
      target,
      query: target.query,
      bucketName: target.bucket,
      key: target.key,
      store,
      services,
      principal,
      payload: auth.kind === 'signed' ? auth.payload : { kind: 'unsigned' },
      bucket,
      secureTransport: socket.encrypted === true,
      sourceIp: '',
    };
    ctx.sourceIp = sourceIpOf(ctx);
    observed.sourceIp = ctx.sourceIp;
    if (trace) {
      trace.principal = principal;
      trace.sourceIp = ctx.sourceIp;
    }
    const action = operation.versionAction !== undefined && target.query.has('versionId') ? operation.versionAction : operation.action;
    if (!operation.authorizesItself) await authorizeRequest(ctx, action, operation.level, operation.needsBucket ? bucket : undefined, target.key, {}, target.query.get('versionId') ?? undefined);
    const expectedOwner = raw.headers['x-amz-expected-bucket-owner'];
    if (expectedOwner !== undefined && bucket && expectedOwner !== bucket.ownerOrg) throw new S3Error('AccessDenied');
    // Browsers never sign CORS preflights: requester pays applies to the request that follows.
    const charged = operation.unauthenticated ? {} : requestPayment(bucket, principal, raw.headers['x-amz-request-payer']);
    // Counted whatever the answer (an error too), as the requester accepted the charge.
    if (charged['x-amz-request-charged']) countCharge(res, store, principal!.org, bucket!.name, raw, isHead, (err) => log.error({ err }, 'could not count a requester-pays charge'));
    // Only now, authorized, is the client invited to send its body (Expect: 100-continue).
    if (expectsContinue.has(raw)) res.writeContinue();
    const result = await operation.handle(ctx);
    if (charged['x-amz-request-charged']) result.headers = { ...result.headers, ...charged };
    setCorsHeaders(res, ctx.method, raw.headers, bucket);
    await sendResult(res, result, requestId, isHead);
  } catch (err) {
    const s3err = isS3Error(err) ? err : internalError(err, log, requestId);
    if (trace) trace.errorCode = s3err.code;
    // A request body nobody read would stall the connection: drain what the client still sends.
    if (!raw.readableEnded) raw.resume();
    const region = target?.endpoint !== 'accel' ? services.regions.get(target?.region ?? '') : undefined;
    await setCorsHeadersOnError(res, raw.method ?? 'GET', raw.headers, async () => (target?.bucket !== undefined ? region?.getBucket(target.bucket) : undefined));
    sendError(res, s3err, resourceOf(target, raw.url ?? '/'), requestId, isHead);
  }
}

/**
 * Credential scopes that verify: the configured ones (default, us-east-1) and the names of the
 * regions themselves, which clients learn from x-amz-bucket-region and then sign with.
 */
const signingRegionsCache = new WeakMap<object, string[]>();
function signingRegions(config: Services['config']): string[] {
  let regions = signingRegionsCache.get(config);
  if (!regions) {
    regions = [...new Set([...config.signingRegions, ...knownRegions(config)])];
    signingRegionsCache.set(config, regions);
  }
  return regions;
}

/** Regions whose host names this node recognises: its own, and those it reaches as an accelerator. */
const knownRegionsCache = new WeakMap<object, string[]>();
function knownRegions(config: Services['config']): string[] {
  let regions = knownRegionsCache.get(config);
  if (!regions) {
    regions = [...new Set([...config.regions, ...regionEndpointMap(config).keys()])];
    knownRegionsCache.set(config, regions);
  }
  return regions;
}

function internalError(err: unknown, log: FastifyInstance['log'], requestId: string): S3Error {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.code === 'ECONNRESET') return new S3Error('IncompleteBody');
  log.error({ err, requestId }, 'internal error');
  return new S3Error('InternalError');
}
