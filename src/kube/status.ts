// Kubernetes `Status` objects: how every error of the Kubernetes API is answered, so that kubectl
// prints its usual lines (`Error from server (NotFound): …`, `error: You must be logged in to
// the server (Unauthorized)`, `The User "x" is invalid: …`).
import type { ServerResponse } from 'node:http';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
}

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

/** What a resource is called in messages: `users.objectstorage.coreweave.com`, `secrets`. */
export interface ResourceName {
  group: string;
  resource: string;
}

export function qualified(r: ResourceName): string {
  return r.group === '' ? r.resource : `${r.resource}.${r.group}`;
}

export function notFound(r: ResourceName, name: string): KubeError {
  return new KubeError(404, 'NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.resource });
}

export function alreadyExists(r: ResourceName, name: string): KubeError {
  return new KubeError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, { name, group: r.group, kind: r.resource });
}

/** A stale resourceVersion: kubectl apply retries on this reason. */
export function conflict(r: ResourceName, name: string): KubeError {
  return new KubeError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
    name,
    group: r.group,
    kind: r.resource,
  });
}

/** Kubernetes' wording: `users.objectstorage.coreweave.com "x" is forbidden: User "…" cannot get resource "users" …`. */
export function forbidden(r: ResourceName, name: string | undefined, why: string): KubeError {
  return new KubeError(403, 'Forbidden', `${qualified(r)}${name ? ` "${name}"` : ''} is forbidden: ${why}`, { ...(name ? { name } : {}), group: r.group, kind: r.resource });
}

/** `Kind.group "name" is invalid: field: problem` (422), one cause per problem. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): KubeError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const message = `${qualifiedKind} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`;
  return new KubeError(422, 'Invalid', message, { name, group, kind, causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })) });
}

export function badRequest(message: string): KubeError {
  return new KubeError(400, 'BadRequest', message);
}

export function methodNotSupported(what: string): KubeError {
  return new KubeError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${what})`);
}

export function statusObject(err: KubeError): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    ...(err.details ? { details: err.details } : {}),
    code: err.code,
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache, private',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}
