// A Kubernetes-compatible API on the admin listener, under /k8s, for the real kubectl: the
// seed's Users, their Secrets, namespaces, and RBAC Roles and RoleBindings. Authenticated with
// Strata's admin API tokens as bearer tokens (a kubeconfig's `token:`; `strata kubeconfig`
// writes one). Discovery (discovery.ts) is public; every resource request is authorized
// (access.ts) and answered with Kubernetes objects, Lists, Tables or Status errors.
//
//   /k8s/version, /k8s/api, /k8s/apis, /k8s/api/v1, /k8s/apis/GROUP/VERSION, /k8s/openapi/v2
//   /k8s/api/v1/namespaces[/NS]
//   /k8s/api/v1/[namespaces/NS/]secrets[/NAME]                                    get, list
//   /k8s/apis/objectstorage.coreweave.com/v1alpha1/[namespaces/NS/]users[/NAME]   + create, update, patch, delete
//   /k8s/apis/rbac.authorization.k8s.io/v1/[namespaces/NS/](roles|rolebindings)[/NAME]  likewise
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../ops/operation.ts';
import type { AdminToken } from '../identity/admin-tokens.ts';
import { UserDirectory } from '../identity/users.ts';
import { jsonNestsDeeperThan, MAX_DOCUMENT_DEPTH } from '../nesting.ts';
import { parseYamlDocuments, YamlError } from '../identity/yaml.ts';
import { authorize, type KubeRequest } from './access.ts';
import { namespaceHandlers, namespacesResource, secretHandlers, secretsResource } from './core.ts';
import { rbacGroup, rbacVersion, serveDiscovery, userGroup, userVersion } from './discovery.ts';
import { isObject, wantsTable, type JsonObject } from './objects.ts';
import { rbacHandlers } from './rbac-resources.ts';
import type { KubeContext, ResourceHandlers } from './request.ts';
import { badRequest, KubeError, methodNotSupported, sendJson, statusObject, type ResourceName } from './status.ts';
import { userHandlers, usersResource } from './users.ts';

/** The first path segment the API lives under: kubeconfigs point at `http://HOST:ADMINPORT/k8s`. */
export const kubePathPrefix = 'k8s';

export interface KubeServerOptions {
  services: Services;
  /** the admin listener's body reader (size-capped, UTF-8 checked) */
  readBody(req: IncomingMessage): Promise<string>;
}

interface Served {
  resource: ResourceName;
  handlers: ResourceHandlers;
  namespaced: boolean;
}

const served: Record<string, Served> = {
  'v1/secrets': { resource: secretsResource, handlers: secretHandlers, namespaced: true },
  'v1/namespaces': { resource: namespacesResource, handlers: namespaceHandlers, namespaced: false },
  [`${userGroup}/${userVersion}/users`]: { resource: usersResource, handlers: userHandlers, namespaced: true },
  [`${rbacGroup}/${rbacVersion}/roles`]: { resource: { group: rbacGroup, resource: 'roles' }, handlers: rbacHandlers('Role'), namespaced: true },
  [`${rbacGroup}/${rbacVersion}/rolebindings`]: { resource: { group: rbacGroup, resource: 'rolebindings' }, handlers: rbacHandlers('RoleBinding'), namespaced: true },
};

interface Target {
  served: Served;
  namespace?: string;
  name?: string;
}

/** `api/v1/...` or `apis/GROUP/VERSION/...`, then `[namespaces/NS/]RESOURCE[/NAME]`. */
function parseTarget(path: string[]): Target | undefined {
  let groupVersion: string;
  let rest: string[];
  if (path[0] === 'api' && path[1] === 'v1') [groupVersion, rest] = ['v1', path.slice(2)];
  else if (path[0] === 'apis' && path.length >= 3) [groupVersion, rest] = [`${path[1]}/${path[2]}`, path.slice(3)];
  else return undefined;
  const lookup = (resource: string) => served[`${groupVersion}/${resource}`];
  // /api/v1/namespaces[/NS] is itself a resource, unless followed by a namespaced resource.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const s = lookup(rest[2]);
    if (!s || !s.namespaced || rest.length > 4) return undefined;
    return { served: s, namespace: rest[1], name: rest[3] };
  }
  const s = lookup(rest[0]);
  if (!s || rest.length > 2 || (s.namespaced && rest.length > 1)) return undefined;
  return { served: s, name: rest[1] };
}

function verbOf(method: string, hasName: boolean): KubeRequest['verb'] | undefined {
  if (method === 'GET') return hasName ? 'get' : 'list';
  if (method === 'POST' && !hasName) return 'create';
  if (method === 'PUT' && hasName) return 'update';
  if (method === 'PATCH' && hasName) return 'patch';
  if (method === 'DELETE' && hasName) return 'delete';
  return undefined;
}

const unauthorized = () => new KubeError(401, 'Unauthorized', 'Unauthorized');

async function authenticate(services: Services, req: IncomingMessage): Promise<AdminToken> {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) throw unauthorized();
  const result = await services.identity.tokens.verify(m[1]);
  if (!result.ok) throw unauthorized();
  return result.token;
}

async function readObject(opts: KubeServerOptions, req: IncomingMessage): Promise<JsonObject> {
  const text = await opts.readBody(req);
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  let value: unknown;
  if (type === 'application/yaml') {
    try {
      const docs = parseYamlDocuments(text);
      if (docs.length !== 1) throw badRequest('send exactly one object');
      value = docs[0];
    } catch (err) {
      if (err instanceof YamlError) throw badRequest(`the request body is not valid YAML: ${err.message}`);
      throw err;
    }
  } else {
    if (jsonNestsDeeperThan(text)) throw badRequest(`the request body nests deeper than ${MAX_DOCUMENT_DEPTH} levels`);
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(value)) throw badRequest('the request body must be a JSON object');
  return value;
}

async function route(opts: KubeServerOptions, req: IncomingMessage, res: ServerResponse, path: string[], url: URL): Promise<void> {
  const method = req.method ?? 'GET';
  if (method === 'GET' && serveDiscovery(path, req.headers.host ?? '', res)) return;
  const target = parseTarget(path);
  if (!target) throw new KubeError(404, 'NotFound', 'the server could not find the requested resource');
  const token = await authenticate(opts.services, req);
  if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') throw methodNotSupported('watch is not served');
  const verb = verbOf(method, target.name !== undefined);
  const handler = verb && target.served.handlers[verb];
  if (!verb || !handler) throw methodNotSupported(`${method} ${target.served.resource.resource}`);
  const { identity } = opts.services;
  const request: KubeRequest = { ...target.served.resource, verb, namespace: target.namespace, name: target.name };
  // Namespaces are listed by visibility (core.ts); everything else asks authorize.
  const scope = target.served.namespaced ? await authorize(identity, token, request) : token.namespaces;
  const context: KubeContext = {
    identity,
    users: new UserDirectory(identity),
    token,
    scope,
    req,
    query: url.searchParams,
    namespace: target.namespace,
    name: target.name,
    body: () => readObject(opts, req),
    table: wantsTable(req),
    warnings: [],
  };
  const reply = await handler(context);
  const warnings = context.warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  sendJson(res, reply.status, reply.body, warnings.length > 0 ? { warning: warnings.join(', ') } : {});
}

/** Answer a request under /k8s (`path`: the decoded segments after the prefix). Never throws. */
export async function serveKube(opts: KubeServerOptions, req: IncomingMessage, res: ServerResponse, path: string[]): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://kube.invalid');
  try {
    await route(opts, req, res, path, url);
  } catch (err) {
    let error: KubeError;
    if (err instanceof KubeError) error = err;
    else if (typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500) {
      // The body reader's refusals (too large, not UTF-8).
      const status = (err as { status: number }).status;
      error = new KubeError(status, status === 413 ? 'RequestEntityTooLarge' : 'BadRequest', (err as Error).message);
    } else if (err instanceof TypeError && /encoded data was not valid/i.test(err.message)) error = badRequest('the request body is not valid UTF-8');
    else {
      process.stderr.write(`strata kubernetes API: ${(err as Error).stack ?? err}\n`);
      error = new KubeError(500, 'InternalError', 'an internal error occurred');
    }
    const headers: Record<string, string> = error.code === 401 ? { 'www-authenticate': 'Bearer realm="strata"' } : {};
    if (!req.readableEnded) headers.connection = 'close';
    if (!res.headersSent) sendJson(res, error.code, statusObject(error), headers);
    else res.destroy();
    if (!req.readableEnded) req.resume();
  }
}
