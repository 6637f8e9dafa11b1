// The web console on the admin listener: /console/ serves the page (src/console/ui, bundled by
// assets.ts) and /console/api/ its JSON API. Signed in with an admin API token (session.ts); the
// session then stands in for the token on:
//
//   POST   /console/api/session            {"token": "sat_..."} → cookie + {csrf, whoami, features}
//   GET    /console/api/session            the current session (page reload), 401 if none
//   DELETE /console/api/session            sign out
//   *      /console/api/v1/...             the admin API (src/admin/server.ts), same routes and scope
//   POST   /console/api/keys               create a User (a "token" on the Object Storage page); 409 if the name exists
//   GET    /console/api/s3cmd?namespace=&name=&region=[&endpoint=&pathStyle=1&https=1]  the s3cmd file (attachment)
//   POST   /console/api/kubeconfig         {"token", "namespace"} → a kubeconfig for that token (attachment; kubeconfig.ts)
//   GET    /console/api/buckets            per-region overview (buckets.ts)
//   *      /console/api/s3/<region>/<bucket>[/<key>]  S3 through the server (s3-proxy.ts)
//
// Every request but GET/HEAD must carry X-CSRF-Token (the session's), and an Origin, when sent,
// must be this host. Errors are the admin API's {"error": {"code", "message"}}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Services } from '../ops/operation.ts';
import type { AdminToken } from '../identity/admin-tokens.ts';
import { isOrgAdmin } from '../identity/admin-tokens.ts';
import { IdentityError } from '../identity/users.ts';
import { UserDirectory } from '../identity/users.ts';
import { validateUserManifest, userApiVersion, userKind, ManifestError } from '../identity/manifest.ts';
import { S3cmdConfigError, s3cmdConfig } from '../admin/s3cmd.ts';
import { consoleBundle, indexHtml, pageSecurityHeaders, type Asset } from './assets.ts';
import { SessionStore, clearedCookieHeader, csrfMatches, readCookie, sessionCookie, sessionCookieHeader, type Session } from './session.ts';
import { bucketOverview } from './buckets.ts';
import { proxyTarget, proxyToS3 } from './s3-proxy.ts';
import { kubeconfigFor } from './kubeconfig.ts';

const consoleBodyLimit = 16 * 1024;

export interface ConsoleContext {
  services: Services;
  s3Port: () => number;
  /** run an admin API route (under /v1) as `token`, as if it had been presented as a bearer token */
  runAdminRoute(req: IncomingMessage, token: AdminToken, path: string[], url: URL): Promise<{ status: number; body: unknown }>;
  /** the certificate (PEM) the admin listener presents over TLS; without it, kubectl cannot send a token (src/kube/certificate.ts) */
  adminCertificate?: string;
}

/** What the page may offer: a kubeconfig when the admin port speaks TLS (the Kubernetes API under /k8s needs it). */
function featuresOf(ctx: ConsoleContext) {
  return { kubeconfig: ctx.adminCertificate !== undefined };
}

const stores = new WeakMap<Services, SessionStore>();
function sessionsOf(services: Services): SessionStore {
  let s = stores.get(services);
  if (!s) stores.set(services, (s = new SessionStore()));
  return s;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(text);
}

function sendAsset(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  if (req.headers['if-none-match'] === a.etag) {
    res.writeHead(304, { etag: a.etag });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length, etag: a.etag, 'cache-control': 'no-cache', ...pageSecurityHeaders });
  res.end(req.method === 'HEAD' ? undefined : a.body);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new IdentityError(415, 'UnsupportedMediaType', 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > consoleBodyLimit) throw new IdentityError(413, 'PayloadTooLarge', `request body is over ${consoleBodyLimit} bytes`);
    chunks.push(chunk);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new IdentityError(400, 'BadRequest', 'body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new IdentityError(400, 'BadRequest', 'body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function str(body: Record<string, unknown>, field: string, required = true): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') {
    if (required) throw new IdentityError(400, 'BadRequest', `"${field}" is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new IdentityError(400, 'BadRequest', `"${field}" must be a string`);
  return v;
}

function whoami(token: AdminToken) {
  return { id: token.id, name: token.name, namespaces: token.namespaces, orgAdmin: isOrgAdmin(token.namespaces) };
}

/** The session's token, looked up again: a revoked token ends the session there and then. */
async function signedIn(ctx: ConsoleContext, req: IncomingMessage): Promise<{ session: Session; token: AdminToken; cookie: string }> {
  const sessions = sessionsOf(ctx.services);
  const cookie = readCookie(req.headers.cookie, sessionCookie);
  const found = sessions.get(cookie);
  if (!found.ok) {
    throw found.reason === 'missing'
      ? new IdentityError(401, 'NotSignedIn', 'not signed in: sign in with an API token')
      : new IdentityError(401, 'SessionExpired', 'your session has expired; sign in again');
  }
  const token = await ctx.services.identity.tokens.get(found.session.tokenId);
  if (!token || token.revokedAt !== undefined) {
    // The session is left in place (it can do nothing: every request looks the token up again), so
    // that the page's concurrent requests all say why it ended, not "expired" once one removed it.
    throw new IdentityError(401, 'SessionEnded', 'the API token of this session has been revoked; sign in with another token');
  }
  return { session: found.session, token, cookie: cookie! };
}

/** A browser's Origin, when it sends one, must be this console's own host. */
function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== req.headers.host) throw new IdentityError(403, 'CsrfFailed', 'cross-origin request refused');
  }
}

function checkCsrf(req: IncomingMessage, session: Session): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  checkOrigin(req);
  const presented = req.headers['x-csrf-token'];
  if (!csrfMatches(session, typeof presented === 'string' ? presented : undefined)) throw new IdentityError(403, 'CsrfFailed', 'missing or wrong X-CSRF-Token: reload the console');
}

async function signIn(ctx: ConsoleContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // No session yet, so no CSRF token: the JSON content type (which a cross-site form cannot send
  // without a preflight) and the Origin keep other sites from signing a browser in.
  checkOrigin(req);
  const body = await readJson(req);
  const presented = str(body, 'token')!.trim();
  const result = await ctx.services.identity.tokens.verify(presented);
  if (!result.ok) {
    const message =
      result.reason === 'malformed' ? 'that is not a Strata API token (they look like sat_…; create one with `strata token create`)' : result.reason === 'revoked' ? 'that token has been revoked' : 'that token is not valid';
    throw new IdentityError(401, 'InvalidToken', message);
  }
  const { id, session } = sessionsOf(ctx.services).create(result.token.id);
  const secure = (req.socket as TLSSocket).encrypted === true;
  sendJson(res, 200, { csrf: session.csrf, whoami: whoami(result.token), features: featuresOf(ctx) }, { 'set-cookie': sessionCookieHeader(id, secure) });
}

async function createKey(ctx: ConsoleContext, req: IncomingMessage, scope: readonly string[] | undefined): Promise<unknown> {
  const body = await readJson(req);
  const namespace = str(body, 'namespace')!;
  const manifest = {
    apiVersion: userApiVersion,
    kind: userKind,
    metadata: { name: str(body, 'name'), namespace },
    spec: { owner: str(body, 'owner', false) ?? namespace, access: str(body, 'access') },
  };
  let m;
  try {
    m = validateUserManifest(manifest);
  } catch (err) {
    if (err instanceof ManifestError) throw new IdentityError(400, 'InvalidManifest', err.message);
    throw err;
  }
  const region = str(body, 'region', false);
  const { regions } = ctx.services.config;
  if (region !== undefined && !regions.includes(region)) throw new IdentityError(400, 'BadRequest', `unknown region "${region}"; this server serves ${regions.join(', ')}`);
  const users = new UserDirectory(ctx.services.identity);
  const [outcome] = await users.apply([m], scope, { createOnly: true, defaultRegion: region });
  const secret = await users.secret(m.secretName, m.namespace, scope);
  return { user: outcome.user, accessKey: Buffer.from(secret.data.accessKey, 'base64').toString(), secretKey: Buffer.from(secret.data.secretKey, 'base64').toString() };
}

async function s3cmdFile(ctx: ConsoleContext, url: URL, scope: readonly string[] | undefined): Promise<{ name: string; text: string }> {
  const q = (n: string) => url.searchParams.get(n) ?? undefined;
  const { config } = ctx.services;
  const name = q('name');
  if (!name) throw new IdentityError(400, 'BadRequest', '"name" is required');
  const users = new UserDirectory(ctx.services.identity);
  const key = await users.find(name, q('namespace'), scope);
  // The key's own default region (chosen when it was created) unless the page picks another.
  const region = q('region') ?? key.defaultRegion ?? config.defaultRegion;
  if (!config.regions.includes(region)) throw new IdentityError(400, 'BadRequest', `unknown region "${region}"; this server serves ${config.regions.join(', ')}`);
  const secret = await users.secret(key.secretName, key.namespace, scope);
  try {
    const text = s3cmdConfig({
      accessKey: key.accessKey,
      secretKey: Buffer.from(secret.data.secretKey, 'base64').toString(),
      user: key.user,
      namespace: key.namespace,
      owner: key.org,
      access: key.level,
      region,
      baseDomain: config.baseDomain,
      s3Port: ctx.s3Port(),
      https: q('https') === '1',
      endpoint: q('endpoint'),
      pathStyle: q('pathStyle') === '1',
    });
    return { name: `${key.namespace}-${key.user}-${region}.s3cfg`, text };
  } catch (err) {
    if (err instanceof S3cmdConfigError) throw new IdentityError(400, 'BadRequest', err.message.replace('--endpoint', 'the endpoint'));
    throw err;
  }
}

/** Serve a request whose path starts with /console. `path` is the decoded segments. */
export async function handleConsole(ctx: ConsoleContext, req: IncomingMessage, res: ServerResponse, url: URL, path: string[]): Promise<void> {
  const method = req.method ?? 'GET';
  if (path.length === 1 || (path.length === 2 && path[1] === 'index.html')) {
    if (!url.pathname.endsWith('/') && path.length === 1) {
      res.writeHead(308, { location: '/console/' });
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new IdentityError(405, 'MethodNotAllowed', 'use GET');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': indexHtml.length, 'cache-control': 'no-cache', ...pageSecurityHeaders });
    res.end(method === 'HEAD' ? undefined : indexHtml);
    return;
  }
  if (path.length === 2 && (path[1] === 'app.js' || path[1] === 'app.css')) {
    const bundle = await consoleBundle();
    sendAsset(req, res, path[1] === 'app.js' ? bundle.js : bundle.css);
    return;
  }
  if (path[1] !== 'api') throw new IdentityError(404, 'NotFound', `no such console page ${url.pathname}`);
  const sessions = sessionsOf(ctx.services);
  if (path[2] === 'session' && path.length === 3) {
    if (method === 'POST') return signIn(ctx, req, res);
    if (method === 'DELETE') {
      sessions.delete(readCookie(req.headers.cookie, sessionCookie));
      return sendJson(res, 200, { message: 'signed out' }, { 'set-cookie': clearedCookieHeader() });
    }
    if (method !== 'GET') throw new IdentityError(405, 'MethodNotAllowed', 'use GET, POST or DELETE');
    const { session, token } = await signedIn(ctx, req);
    return sendJson(res, 200, { csrf: session.csrf, whoami: whoami(token), features: featuresOf(ctx) });
  }

  const { session, token } = await signedIn(ctx, req);
  checkCsrf(req, session);
  const scope = isOrgAdmin(token.namespaces) ? undefined : token.namespaces;
  const route = `${method} ${path.slice(2, 3).join('/')}`;
  if (path[2] === 'v1') {
    const reply = await ctx.runAdminRoute(req, token, path.slice(2), url);
    return sendJson(res, reply.status, reply.body);
  }
  if (path[2] === 's3') {
    const createFor = req.headers['x-strata-create-for'];
    return proxyToS3({ services: ctx.services, scope, s3Port: ctx.s3Port(), createFor: typeof createFor === 'string' ? createFor : undefined }, req, res, proxyTarget(req.url ?? ''));
  }
  if (route === 'POST keys' && path.length === 3) return sendJson(res, 201, await createKey(ctx, req, scope));
  if (route === 'GET buckets' && path.length === 3) return sendJson(res, 200, { regions: await bucketOverview(ctx.services, scope, ctx.s3Port()) });
  if (route === 'POST kubeconfig' && path.length === 3) {
    if (ctx.adminCertificate === undefined) throw new IdentityError(404, 'NotFound', 'this admin listener has no TLS, so there is no Kubernetes endpoint to write a kubeconfig for');
    const body = await readJson(req);
    return sendAttachment(res, await kubeconfigFor(ctx.services, req, ctx.adminCertificate, { token: str(body, 'token')!, namespace: str(body, 'namespace')! }));
  }
  if (route === 'GET s3cmd' && path.length === 3) return sendAttachment(res, await s3cmdFile(ctx, url, scope));
  throw new IdentityError(404, 'NotFound', `no such console endpoint ${method} ${url.pathname}`);
}

function sendAttachment(res: ServerResponse, file: { name: string; text: string }): void {
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(file.text),
    'content-disposition': `attachment; filename="${file.name.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(file.text);
}
