// The admin HTTP API: JSON over its own listener (loopback by default), authenticated by
// organisation-admin API tokens (`Authorization: Bearer sat_...`). The same operations as the
// CLI's apply / get / delete / token, with the same semantics and messages.
//
//   GET    /v1/whoami                          the calling token (id, name, namespaces)
//   GET    /v1/info                            regions, base domain, S3 port (for s3cmd configs)
//   POST   /v1/users[?namespace=NS]            apply User manifests (YAML, one or more documents, or JSON)
//   GET    /v1/users[?namespace=NS&name=N]     list users (a List of User objects)
//   GET    /v1/users/NS/NAME                   one user
//   DELETE /v1/users/NS/NAME                   delete a user with its key and Secret (data stays)
//   GET    /v1/secrets[?namespace=NS]          list Secrets (with .data, base64)
//   GET    /v1/secrets/NAME[?namespace=NS]     one Secret
//   GET    /v1/secrets/NS/NAME                 one Secret
//   POST   /v1/tokens                          {"namespaces": ["ns1"] | "*", "name": "ci"} (or {"blank": true}) → the token, shown once
//   GET    /v1/tokens                          list tokens (never their secrets)
//   DELETE /v1/tokens/ID                       revoke a token
//   POST   /v1/policy/explain                  {"bucket", "key", "action", "as" | "anonymous", ...} → the decision and why
//   POST   /v1/policy/who-can                  {"bucket", "key", "action", ...} → the decision for anonymous and every visible key
//   GET    /v1/topics[?organisation=ORG]       notification topics (organisation-admin tokens only)
//   POST   /v1/topics                          {"name", "organisation", "push-endpoint", "region"?, "secret"?, "OpaqueData"?}
//   DELETE /v1/topics/REGION/ORG/NAME          delete a topic (its queued messages are dropped)
//   GET    /v1/events                          outbox queues and delivery counters per region
//   /console/...                               the web console (src/console/server.ts)
//   *      /k8s/...                            the Kubernetes API for kubectl (src/kube/server.ts)
//
// Errors are {"error": {"code", "message"}} with 400 (bad body or manifest), 401 (missing,
// forged or revoked token), 403 (a namespace or organisation out of the token's scope), 404 (also
// for another organisation's user or Secret in a namespace the token shares: see
// src/identity/admin-scope.ts), 405, 409 (secret name taken, ambiguous name), 413 (body over
// 64 KiB), 415. A failed request changes nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Services } from '../ops/operation.ts';
import { isOrgAdmin, TokenError, type AdminToken } from '../identity/admin-tokens.ts';
import { tokenView } from './backend.ts';
import { MAX_DOCUMENT_DEPTH, jsonNestsDeeperThan } from '../nesting.ts';
import { isUnrestricted, scopeDecision, userVisible, type Scope } from '../identity/admin-scope.ts';
import { ManifestError, listObject, parseUserManifests, userObject, userResource } from '../identity/manifest.ts';
import { IdentityError, UserDirectory, forbidden } from '../identity/users.ts';
import { answerOperatorRequest, mayBeOperatorPath } from '../metrics/endpoints.ts';
import { observabilityOf } from '../metrics/observability.ts';
import { ExplainError } from './explain-error.ts';
import { explainForScope, explainInputOf, requireBucketInScope, whoCan } from './policy-explain.ts';
import { createTopic, deleteTopic, eventStatus, listTopics } from '../notify/admin.ts';
import { TopicError } from '../notify/topics.ts';
import { handleConsole } from '../console/server.ts';
import { kubePathPrefix, serveKube } from '../kube/server.ts';
import type { AdminTls } from '../kube/certificate.ts';
import { acceptTlsToo } from '../kube/tls-sniff.ts';

export const adminBodyLimit = 64 * 1024;

export interface AdminServerOptions {
  services: Services;
  /** the S3 listener's port, reported by /v1/info */
  s3Port: () => number;
  /** the admin port also speaks TLS with this pair (startAdminServer) */
  tls?: AdminTls;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'Unauthorized', message, { 'www-authenticate': 'Bearer realm="strata-admin"' });
}

async function authenticate(services: Services, req: IncomingMessage): Promise<AdminToken> {
  const header = req.headers.authorization;
  if (!header) throw unauthorized('missing "Authorization: Bearer <token>" header; create a token with `strata token create`');
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!m) throw unauthorized('the Authorization header must be "Bearer <token>"');
  const result = await services.identity.tokens.verify(m[1]);
  if (result.ok) return result.token;
  if (result.reason === 'revoked') throw unauthorized('the token has been revoked');
  throw unauthorized('the token is not valid');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > adminBodyLimit) throw new HttpError(413, 'PayloadTooLarge', `request body is over ${adminBodyLimit} bytes`);
  // Event listeners rather than for-await: leaving a for-await early would destroy the socket
  // before the 413 could be sent.
  const buf = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > adminBodyLimit) {
        cleanup();
        reject(new HttpError(413, 'PayloadTooLarge', `request body is over ${adminBodyLimit} bytes`));
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  return text;
}

function contentType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** A JSON request body (415 for another media type, 400 for a body too deep or not JSON). */
async function readJsonBody(req: IncomingMessage, wrongTypeMessage: string): Promise<unknown> {
  const type = contentType(req);
  if (type !== '' && type !== 'application/json') throw new HttpError(415, 'UnsupportedMediaType', wrongTypeMessage);
  const body = await readBody(req);
  if (jsonNestsDeeperThan(body)) throw new HttpError(400, 'BadRequest', `body nests deeper than ${MAX_DOCUMENT_DEPTH} levels`);
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `body is not JSON: ${(err as Error).message}`);
  }
}

/** A JSON object body; `shape` says what is expected, in errors. */
async function readJsonObject(req: IncomingMessage, shape: string): Promise<Record<string, unknown>> {
  const parsed = await readJsonBody(req, `send ${shape} as application/json`);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'BadRequest', `body must be a JSON object ${shape}`);
  return parsed as Record<string, unknown>;
}

const manifestTypes = new Set(['', 'application/json', 'application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain']);

function segments(pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, 'BadRequest', 'malformed percent-encoding in the path');
  }
}

function methodNotAllowed(allowed: string[]): HttpError {
  return new HttpError(405, 'MethodNotAllowed', `use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
}

interface RouteRequest {
  opts: AdminServerOptions;
  req: IncomingMessage;
  token: AdminToken;
  /** what the token may see and change; every route that touches users, Secrets or tokens passes it on */
  scope: Scope;
  users: UserDirectory;
  params: Record<string, string>;
  query(name: string): string | undefined;
}

interface Reply {
  status: number;
  body: unknown;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** under /v1; `:name` segments are parameters */
  path: string;
  handle(r: RouteRequest): Reply | Promise<Reply>;
}

const ok = (body: unknown, status = 200): Reply => ({ status, body });

/** Refuse unless the token is an organisation admin (the one scope decision for tokens). */
function requireTokenManagement(scope: Scope): void {
  if (scopeDecision(scope, { kind: 'tokens' }) !== 'allowed') throw forbidden('only organisation-admin tokens (all namespaces) may manage tokens');
}

/**
 * Every admin endpoint. Users and Secrets go through UserDirectory, which asks scopeDecision
 * (src/identity/admin-scope.ts) about each one; token endpoints ask it directly.
 * test/integration/admin-scope.test.ts walks this table: a new route needs a probe there.
 */
export const adminRoutes: readonly AdminRoute[] = [
  { method: 'GET', path: '/v1/whoami', handle: ({ token }) => ok({ id: token.id, name: token.name, namespaces: token.namespaces }) },
  {
    method: 'GET',
    path: '/v1/info',
    handle: ({ opts }) => ok({ regions: opts.services.config.regions, defaultRegion: opts.services.config.defaultRegion, baseDomain: opts.services.config.baseDomain, s3Port: opts.s3Port() }),
  },
  { method: 'GET', path: '/v1/users', handle: async ({ users, scope, query }) => ok(listObject((await users.list({ namespace: query('namespace'), name: query('name') }, scope)).map(userObject))) },
  {
    method: 'POST',
    path: '/v1/users',
    async handle({ req, users, scope, query }) {
      if (!manifestTypes.has(contentType(req))) throw new HttpError(415, 'UnsupportedMediaType', 'send the manifest as application/yaml or application/json');
      const manifests = parseUserManifests(await readBody(req), { namespace: query('namespace'), origin: 'request body' });
      const results = await users.apply(manifests, scope);
      return ok({ results }, results.some((r) => r.result === 'created') ? 201 : 200);
    },
  },
  { method: 'GET', path: '/v1/users/:namespace/:name', handle: async ({ users, scope, params }) => ok(userObject(await users.find(params.name, params.namespace, scope))) },
  {
    method: 'DELETE',
    path: '/v1/users/:namespace/:name',
    async handle({ users, scope, params }) {
      const key = await users.delete(params.name, params.namespace, scope);
      return ok({ message: `${userResource} "${key.user}" deleted`, user: userObject(key) });
    },
  },
  { method: 'GET', path: '/v1/secrets', handle: async ({ users, scope, query }) => ok(listObject(await users.secrets({ namespace: query('namespace') }, scope))) },
  { method: 'GET', path: '/v1/secrets/:name', handle: async ({ users, scope, params, query }) => ok(await users.secret(params.name, query('namespace'), scope)) },
  { method: 'GET', path: '/v1/secrets/:namespace/:name', handle: async ({ users, scope, params }) => ok(await users.secret(params.name, params.namespace, scope)) },
  {
    method: 'GET',
    path: '/v1/tokens',
    async handle({ opts, scope }) {
      requireTokenManagement(scope);
      return ok({ items: (await opts.services.identity.tokens.list()).map(tokenView) });
    },
  },
  {
    method: 'POST',
    path: '/v1/tokens',
    async handle({ opts, req, token, scope }) {
      requireTokenManagement(scope);
      const { namespaces, name, blank, ...unknown } = await readJsonObject(req, '{"namespaces": [...], "name": "..."}');
      if (Object.keys(unknown).length > 0) throw new HttpError(400, 'BadRequest', `unknown field "${Object.keys(unknown)[0]}"`);
      if (name !== undefined && typeof name !== 'string') throw new HttpError(400, 'BadRequest', '"name" must be a string');
      if (blank !== undefined && blank !== true) throw new HttpError(400, 'BadRequest', '"blank" must be true (a token with no namespaces, for RBAC) or absent');
      if (blank === true && namespaces !== undefined) throw new HttpError(400, 'BadRequest', 'a blank token has no namespaces: send "blank" or "namespaces", not both');
      if (blank !== true && typeof namespaces !== 'string' && !(Array.isArray(namespaces) && namespaces.every((n) => typeof n === 'string'))) {
        throw new HttpError(400, 'BadRequest', '"namespaces" must be a list of namespaces, or "*" for all namespaces');
      }
      const created = await opts.services.identity.tokens.create({
        name: name as string | undefined,
        namespaces: (namespaces ?? []) as string | string[],
        blank: blank === true,
        createdBy: `token:${token.id}`,
      });
      return ok({ ...tokenView(created.record), token: created.token }, 201);
    },
  },
  {
    method: 'POST',
    path: '/v1/policy/explain',
    async handle({ opts, req, scope }) {
      const parsed = await readJsonBody(req, 'send the request to explain as application/json');
      const may = (org: string) => scopeDecision(scope, { kind: 'organisation', org }) === 'allowed';
      return ok(await explainForScope(opts.services, explainInputOf(parsed), may, (key) => userVisible(scope, key), isUnrestricted(scope)));
    },
  },
  {
    method: 'GET',
    path: '/v1/topics',
    async handle({ opts, scope, query }) {
      requireTokenManagement(scope);
      return ok({ items: await listTopics(opts.services.regions, query('organisation')) });
    },
  },
  {
    method: 'POST',
    path: '/v1/policy/who-can',
    async handle({ opts, req, scope }) {
      const input = explainInputOf(await readJsonBody(req, 'send the request to explain as application/json'), { caller: false });
      if (!isUnrestricted(scope)) await requireBucketInScope(opts.services, input, (org) => scopeDecision(scope, { kind: 'organisation', org }) === 'allowed');
      return ok(await whoCan(opts.services, input, (key) => userVisible(scope, key)));
    },
  },
  {
    method: 'POST',
    path: '/v1/topics',
    async handle({ opts, req, scope }) {
      requireTokenManagement(scope);
      const created = await createTopic(opts.services.regions, opts.services.config.defaultRegion, await readJsonObject(req, '{"name": "...", "organisation": "...", "push-endpoint": "..."}'));
      return ok(created, created.result === 'created' ? 201 : 200);
    },
  },
  {
    method: 'DELETE',
    path: '/v1/topics/:region/:organisation/:name',
    async handle({ opts, scope, params }) {
      requireTokenManagement(scope);
      if (!(await deleteTopic(opts.services.regions, params.region, params.organisation, params.name))) throw new HttpError(404, 'NotFound', `topic "${params.name}" not found`);
      return ok({ message: `topic "${params.name}" deleted` });
    },
  },
  {
    method: 'GET',
    path: '/v1/events',
    async handle({ opts, scope }) {
      requireTokenManagement(scope);
      return ok({ regions: await eventStatus(opts.services.regions) });
    },
  },
  {
    method: 'DELETE',
    path: '/v1/tokens/:id',
    async handle({ opts, scope, params }) {
      requireTokenManagement(scope);
      const outcome = await opts.services.identity.tokens.revoke(params.id);
      if (outcome === 'not-found') throw new HttpError(404, 'NotFound', `token "${params.id}" not found`);
      return ok({ message: outcome === 'revoked' ? `token "${params.id}" revoked` : `token "${params.id}" already revoked` });
    },
  },
];

/** The route's parameters if `path` (decoded segments) matches its pattern. */
function matchPath(pattern: string, path: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').filter((s) => s !== '');
  if (parts.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].startsWith(':')) params[parts[i].slice(1)] = path[i];
    else if (parts[i] !== path[i]) return undefined;
  }
  return params;
}

async function route(opts: AdminServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { services } = opts;
  const url = new URL(req.url ?? '/', 'http://admin.invalid');
  const path = segments(url.pathname);
  const method = req.method ?? 'GET';
  if (mayBeOperatorPath(req.url) && (await answerOperatorRequest(observabilityOf(services), req, res, 'admin'))) return;
  if (path[0] === 'console') return handleConsole({ services, s3Port: opts.s3Port, runAdminRoute: (r, t, p, u) => runAdminRoute(opts, r, t, p, u), adminCertificate: opts.tls?.cert }, req, res, url, path);
  // The Kubernetes-compatible API (for kubectl) answers in its own format: src/kube/server.ts.
  if (path[0] === kubePathPrefix) return serveKube({ services, readBody }, req, res, path.slice(1));
  if (path[0] !== 'v1' || path.length < 2) throw new HttpError(404, 'NotFound', `no such endpoint ${url.pathname}; the API lives under /v1 (users, secrets, tokens, whoami, info)`);
  // Authenticate before anything else (and before reading a body).
  const token = await authenticate(services, req);
  const reply = await runAdminRoute(opts, req, token, path, url);
  send(res, reply.status, reply.body);
}

/** Run the route `path` (decoded segments, starting with v1) names, as `token`. Also the console's way in. */
async function runAdminRoute(opts: AdminServerOptions, req: IncomingMessage, token: AdminToken, path: string[], url: URL): Promise<Reply> {
  const method = req.method ?? 'GET';
  const { services } = opts;
  const matching = adminRoutes.map((r) => ({ r, params: matchPath(r.path, path) })).filter((m) => m.params !== undefined);
  if (matching.length === 0) throw new HttpError(404, 'NotFound', `no such endpoint ${method} ${url.pathname}`);
  const chosen = matching.find((m) => m.r.method === method);
  if (!chosen) throw methodNotAllowed(matching.map((m) => m.r.method));
  return chosen.r.handle({
    opts,
    req,
    token,
    scope: isOrgAdmin(token.namespaces) ? undefined : token.namespaces,
    users: new UserDirectory(services.identity),
    params: chosen.params!,
    query: (name) => url.searchParams.get(name) ?? undefined,
  });
}

async function handle(opts: AdminServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await route(opts, req, res);
  } catch (err) {
    let status = 500;
    let code = 'InternalError';
    let message = 'internal error';
    let headers: Record<string, string> = {};
    if (err instanceof HttpError) ({ status, code, message, headers } = err);
    else if (err instanceof ExplainError) ({ status, code, message } = err);
    else if (err instanceof IdentityError) ({ status, code, message } = err);
    else if (err instanceof ManifestError) {
      status = 400;
      code = 'InvalidManifest';
      message = err.message;
    } else if (err instanceof TopicError) {
      status = 400;
      code = 'InvalidTopic';
      message = err.message;
    } else if (err instanceof TokenError) {
      status = 400;
      code = 'BadRequest';
      message = err.message;
    } else if (err instanceof TypeError && /encoded data was not valid/i.test(err.message)) {
      status = 400;
      code = 'BadRequest';
      message = 'request body is not valid UTF-8';
    } else {
      process.stderr.write(`strata admin API: ${(err as Error).stack ?? err}\n`);
    }
    // An unread body would otherwise stall the keep-alive connection: close it after replying.
    if (!req.readableEnded) headers = { ...headers, connection: 'close' };
    if (!res.headersSent) send(res, status, { error: { code, message } }, headers);
    else res.destroy();
    if (!req.readableEnded) req.resume();
  }
}

export function createAdminServer(opts: AdminServerOptions): Server {
  const server = createServer((req, res) => void handle(opts, req, res));
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  return server;
}

export interface RunningAdminServer {
  server: Server;
  port: number;
  endpoint: string;
  close(): Promise<void>;
}

/** With `tls`, the same port also accepts HTTPS (kubectl sends its token only over TLS: src/kube/certificate.ts). */
export async function startAdminServer(opts: AdminServerOptions & { host: string; port: number; tls?: AdminTls }): Promise<RunningAdminServer> {
  const server = createAdminServer(opts);
  const listener = opts.tls ? acceptTlsToo(server, opts.tls) : server;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port, opts.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  // An HTTP server enforces headersTimeout/requestTimeout from its 'listening' event on; this
  // one does not listen itself (the listener hands it connections), so it is told now.
  if (listener !== server) server.emit('listening');
  const port = (listener.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    endpoint: `http://${host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (listener !== server) {
          // The HTTP server does not listen itself: it only serves what the listener hands it.
          listener.close(() => resolve());
          server.close();
        } else server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
